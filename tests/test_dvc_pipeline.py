"""Static checks of dvc.yaml: every stage depends on all the code it runs, and on nothing hidden."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT

SOURCE_ROOT = REPO_ROOT / "src"


def _module_file(module: str) -> Path | None:
    base = SOURCE_ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _medssl_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("medssl"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("medssl"))
    return names


def _imports_including_registry(path: Path) -> set[str]:
    """Static imports, plus the method modules the registry imports by name on first lookup."""
    names = _medssl_imports(path)
    if path == SOURCE_ROOT / "medssl" / "methods" / "registry.py":
        from medssl.methods.registry import BUILTIN_MODULES
        names.update(BUILTIN_MODULES)
    return names


def code_files_run_by(script: Path) -> set[Path]:
    """The stage script and every medssl module it imports, transitively (package __init__s included)."""
    seen, pending = {script}, [script]
    while pending:
        for module in _imports_including_registry(pending.pop()):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                found = _module_file(".".join(parts[:depth]))
                if found and found not in seen:
                    seen.add(found)
                    pending.append(found)
    return seen


def _is_docstring_only(path: Path) -> bool:
    """A package __init__ that runs nothing (docstring, constants): editing it changes no result."""
    return path.name == "__init__.py" and not any(
        isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
        for node in ast.parse(path.read_text()).body)


def _stages() -> dict[str, dict]:
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_deps_cover_all_the_code_it_runs(name: str):
    stage = _stages()[name]
    script = REPO_ROOT / stage["cmd"].split()[1]
    deps = [REPO_ROOT / dep for dep in stage["deps"]]
    uncovered = sorted(str(path.relative_to(REPO_ROOT)) for path in code_files_run_by(script)
                       if not _is_docstring_only(path) and not any(path == dep or dep in path.parents for dep in deps))
    assert not uncovered, f"stage {name} runs code it does not list in deps: {uncovered}"


def test_no_train_stage_depends_on_hidden_labels_raw_data_or_test():
    train_deps = _stages()["train"]["deps"]
    assert not [dep for dep in train_deps if "hidden" in dep or dep in ("data", "data/raw") or "test" in dep]
    assert "data/hidden/unlabelled_labels.npz" in _stages()["split"]["outs"]
