"""medssl: a reproducible DVC benchmark for few-label medical image classification with
semi-supervised GANs and clustering. See README.md for the pipeline and dvc.yaml for its stages."""

from pathlib import Path

__version__ = "0.1.0"


def _checkout_package(working_dir: Path, installed: Path) -> Path | None:
    """The ``src/medssl`` of the project checkout ``working_dir``, where it is not ``installed``.

    ``pip install -e .`` points every process at one working tree, while DVC runs a queued or
    ``--temp`` experiment in a copy of the commit it was queued at. Without this, the stages of
    such an experiment would import the main working tree's code as it is when each stage starts,
    and the ledger would credit that code to the experiment's commit."""
    package = working_dir / "src" / "medssl"
    if not (working_dir / "dvc.yaml").is_file() or not (package / "__init__.py").is_file():
        return None
    return None if package.resolve() == installed.resolve() else package


try:
    _checkout = _checkout_package(Path.cwd(), Path(__file__).parent)
except OSError:  # a working directory that no longer exists
    _checkout = None
if _checkout is not None:
    __path__[:] = [str(_checkout)]  # every submodule loads from the checkout's code
