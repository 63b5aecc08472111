"""Helpers shared by the stage scripts: parsing params sections and reporting errors as one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from medssl.core.config import build_config, load_params, section
from medssl.core.errors import MedsslError

T = TypeVar("T")


def load_section(params_path: Path, name: str, config_class: type[T]) -> T:
    return build_config(config_class, section(load_params(params_path), name), name)


def load_raw_section(params_path: Path, name: str) -> dict[str, Any]:
    return dict(section(load_params(params_path), name))


INTERRUPTED_MESSAGE = (
    "interrupted: run `dvc repro` again to resume (a training restarts from its last checkpoint)"
)


def run_stage(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a stage's main; a user-facing error is printed as one line and exits with status 2, and
    Ctrl-C as one line saying how to resume (status 130, as a shell reports SIGINT)."""
    try:
        main(argv)
    except MedsslError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as error:
        # the file system refused (no permission, no space, a missing folder): the user's to fix
        print(f"error: {_describe_os_error(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(INTERRUPTED_MESSAGE, file=sys.stderr)
        raise SystemExit(130) from None


def _describe_os_error(error: OSError) -> str:
    if error.filename is None:
        return str(error)
    return f"{error.filename}: {error.strerror or error}"
