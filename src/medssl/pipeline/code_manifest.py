"""The exact code one method's training runs, as a file of digests its train stage depends on.

DVC gives every stage of a ``foreach`` group one dependency list, so ``train@<method>`` cannot name
the shared modules that method runs and no others: listing all of ``methods/shared`` and
``models`` made an edit to code one method runs retrain all of them. Instead ``inputs@<method>``
(cheap, and depending on every module any method may run) writes ``code.json``: the MD5 of each
file in the import closure of ``stages/train.py`` for that method, found by reading the imports
(``import medssl...`` and ``from medssl... import``, function bodies included, package
``__init__``s included), through the registry to ``medssl.methods.<method>.method``. The train stage
depends on that file instead of on folders of code: when an edit leaves a method's closure as it
was, its ``code.json`` is rewritten byte for byte and DVC does not rerun its training.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

from medssl.methods.registry import method_module

PACKAGE = "medssl"
REGISTRY_MODULE = "medssl.methods.registry"
TRAIN_SCRIPT = Path("stages/train.py")
CODE_FILE = "code.json"


def source_root() -> Path:
    """The folder that holds the ``medssl`` package (``src``)."""
    return Path(__file__).resolve().parents[2]


def module_file(module: str, root: Path) -> Path | None:
    base = root / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _imported_modules(path: Path) -> frozenset[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith(PACKAGE))
    return frozenset(names)


def import_closure(script: Path, method: str | None = None, root: Path | None = None) -> set[Path]:
    """``script`` and every medssl module it imports, transitively; through the registry, the
    module of ``method``."""
    root = root or source_root()
    registry = module_file(REGISTRY_MODULE, root)
    seen, pending = {script.resolve()}, [script.resolve()]
    while pending:
        path = pending.pop()
        modules = set(_imported_modules(path))
        if method and path == registry:
            modules.add(method_module(method))
        for module in modules:
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:depth]), root)
                if found and found not in seen:
                    seen.add(found)
                    pending.append(found)
    return seen


def code_manifest(method: str, repo_root: Path) -> dict[str, str]:
    """{file relative to the repository: MD5} of the code ``train@<method>`` runs."""
    # the repository's own files (what DVC hashes), wherever the running package was imported from
    files = import_closure(repo_root / TRAIN_SCRIPT, method, root=repo_root.resolve() / "src")
    return {
        path.relative_to(repo_root.resolve()).as_posix(): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(files)
    }
