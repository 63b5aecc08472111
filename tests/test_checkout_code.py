"""A stage imports the code of the checkout it runs in: a queued experiment's copy, not the
working tree that an editable install points at."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

PROBE = "import medssl.core.cli as cli, medssl.core.io as io; print(cli.__file__); print(io.PROBE)"


def _imported_from(working_dir: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=working_dir, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def _checkout_copy(root: Path, *, probe: str) -> Path:
    shutil.copytree(REPO_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    io_module = root / "src" / "medssl" / "core" / "io.py"
    io_module.write_text(io_module.read_text() + f"\nPROBE = {probe!r}\n")
    return root


def test_a_stage_in_a_copy_of_the_checkout_imports_the_copys_code(tmp_path: Path):
    checkout = _checkout_copy(tmp_path / "exp", probe="queued-copy")
    (checkout / "dvc.yaml").write_text("stages: {}\n")
    cli_file, probe = _imported_from(checkout)
    assert Path(cli_file).resolve().is_relative_to(checkout.resolve())
    assert probe == "queued-copy"


def test_outside_a_checkout_the_installed_code_runs(tmp_path: Path):
    not_a_checkout = _checkout_copy(tmp_path / "folder", probe="never-imported")  # no dvc.yaml
    result = subprocess.run(
        [sys.executable, "-c", "import medssl.core.cli as cli; print(cli.__file__)"],
        cwd=not_a_checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(result.stdout.strip()).resolve().is_relative_to((REPO_ROOT / "src").resolve())
