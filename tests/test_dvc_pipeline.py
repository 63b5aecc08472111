"""Static checks of dvc.yaml: every stage's code deps are exactly the code it runs, in both
directions.

A stage runs its script and, transitively, every medssl module the script imports; the method
registry imports ``medssl.methods.<name>.method`` for the method a stage is run for, which is how a
foreach stage's closure differs from one method to the next. For each stage (and each registered
method, for a foreach stage):

* coverage: every file of the closure lies under one of the stage's deps;
* no excess: each file a dep names (a file, or a folder's files) is in the closure. A foreach stage
  has one dependency list for all its methods, so there a dep shared by every method (``models``,
  ``methods/shared``) need only be run by one of them; a dep named after the method
  (``methods/${item}``) must be run by that method.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from medssl.methods.registry import available_methods
from medssl.pipeline.code_manifest import TRAIN_SCRIPT, code_manifest, import_closure

SOURCE_ROOT = REPO_ROOT / "src"
CODE_ROOTS = ("src/", "stages/")
# train@<method> names its code through data/inputs/<method>/code.json (pipeline/code_manifest.py),
# which inputs@<method> writes from the files it hashes: its closure includes the training's.
MANIFEST_DEP = "data/inputs/${item}"


def code_files_run_by(script: Path, method: str | None = None) -> set[Path]:
    """The stage script and every medssl module it imports, transitively (package __init__s
    included); through the registry, the module of ``method``."""
    return import_closure(script, method)


def _runs_nothing(path: Path) -> bool:
    """A package __init__ that runs nothing (docstring, constants): editing it changes no result."""
    return path.name == "__init__.py" and not any(
        isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
        for node in ast.parse(path.read_text()).body
    )


def _stages() -> dict[str, dict]:
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    return {
        name: stage.get("do", stage) | {"foreach": "foreach" in stage}
        for name, stage in stages.items()
    }


def _code_deps(stage: dict, method: str | None) -> dict[Path, bool]:
    """Code dep -> whether it is named after the method (``${item}``)."""
    return {
        REPO_ROOT / (dep.replace("${item}", method) if method else dep): "${item}" in dep
        for dep in stage["deps"]
        if dep.startswith(CODE_ROOTS)
    }


def _files_under(dep: Path) -> set[Path]:
    return set(dep.rglob("*.py")) if dep.is_dir() else {dep}


def _closures(name: str) -> dict[str | None, set[Path]]:
    """The code each run of stage ``name`` runs: one closure per registered method for a foreach
    stage."""
    stage = _stages()[name]
    script = REPO_ROOT / stage["cmd"].split()[1]
    methods = available_methods() if stage["foreach"] else (None,)
    closures = {method: code_files_run_by(script, method) for method in methods}
    if name == "inputs":  # it hashes the training's code into code.json
        for method in methods:
            closures[method] |= code_files_run_by(REPO_ROOT / TRAIN_SCRIPT, method)
    return closures


def _covered_by_manifest(stage: dict, method: str | None) -> set[Path]:
    if MANIFEST_DEP not in stage["deps"] or method is None:
        return set()
    return {REPO_ROOT / path for path in code_manifest(method, REPO_ROOT)}


def _relative(paths: set[Path]) -> list[str]:
    return sorted(str(path.relative_to(REPO_ROOT)) for path in paths)


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_deps_cover_all_the_code_it_runs(name: str):
    stage = _stages()[name]
    for method, closure in _closures(name).items():
        deps = _code_deps(stage, method)
        manifest = _covered_by_manifest(stage, method)
        uncovered = {
            path
            for path in closure
            if not _runs_nothing(path)
            and path not in manifest
            and not any(path == dep or dep in path.parents for dep in deps)
        }
        assert not uncovered, (
            f"{name} ({method}) runs code it does not list in deps: {_relative(uncovered)}"
        )


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_deps_list_no_code_the_stage_does_not_run(name: str):
    stage = _stages()[name]
    closures = _closures(name)
    every_run = set.union(*closures.values())
    for method in closures:
        for dep, per_method in _code_deps(stage, method).items():
            assert dep.exists(), (
                f"{name} ({method}) lists {dep.relative_to(REPO_ROOT)}, which does not exist"
            )
            unused = _files_under(dep) - (closures[method] if per_method else every_run)
            unused = {path for path in unused if not _runs_nothing(path) or dep.is_file()}
            assert not unused, (
                f"{name} ({method}) lists {dep.relative_to(REPO_ROOT)}, but never runs "
                f"{_relative(unused)}"
            )


def test_a_method_runs_no_other_methods_code():
    folders = {
        method: SOURCE_ROOT / "medssl" / "methods" / method for method in available_methods()
    }
    for method, closure in _closures("train").items():
        foreign = {
            path
            for path in closure
            for other, folder in folders.items()
            if other != method and folder in path.parents
        }
        assert not foreign, f"train@{method} imports other methods' code: {_relative(foreign)}"


def test_only_the_data_stages_run_the_download_and_split_code():
    data_code = {
        SOURCE_ROOT / "medssl" / "data" / f"{module}.py"
        for module in ("download", "sources", "split")
    }
    for name in set(_stages()) - {"download", "split"}:
        for method, closure in _closures(name).items():
            assert not closure & data_code, (
                f"{name} ({method}) runs {_relative(closure & data_code)}"
            )


def test_no_train_stage_depends_on_hidden_labels_raw_data_or_test():
    for name in ("inputs", "train"):
        deps = _stages()[name]["deps"]
        assert not [
            dep for dep in deps if "hidden" in dep or dep in ("data", "data/raw") or "test" in dep
        ]
    assert "data/hidden/unlabelled_labels.npz" in _stages()["split"]["outs"]


def test_no_training_depends_on_parameters_that_cannot_change_its_weights():
    for name in ("features", "train"):
        params = _stages()[name]["params"]
        assert not {
            "train",
            "train.checkpoint_every",
            "train.checkpoint_dir",
            "train.log_every",
        } & set(params), name
