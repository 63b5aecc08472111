"""Stage entry points: one line on a user-facing error or on Ctrl-C, never a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO_ROOT
from medssl.core.cli import INTERRUPTED_MESSAGE, run_stage
from medssl.core.errors import ConfigError


def _raises(error: BaseException):
    def main(argv: list[str] | None) -> None:
        raise error

    return main


def test_a_user_error_is_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_stage(_raises(ConfigError("methods.ssgan: unknown key(s) alpah")))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "error: methods.ssgan: unknown key(s) alpah\n"


def test_ctrl_c_in_a_real_stage_process_is_one_line_saying_how_to_resume(tmp_path):
    """SIGINT, as Ctrl-C delivers it, to a stage that is busy (here: waiting on its stdin)."""
    script = tmp_path / "stage.py"
    script.write_text(
        "import sys\nfrom medssl.core.cli import run_stage\n"
        "run_stage(lambda argv: (print('ready', flush=True), sys.stdin.read()))\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts background jobs with SIGINT ignored, and Python then never raises
        # KeyboardInterrupt; a terminal's foreground stage has the default disposition.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout.readline() == "ready\n"
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr == INTERRUPTED_MESSAGE + "\n"
