"""The package's shape, kept by a test: short files of one concern, and keyword-only parameters
wherever a call would otherwise pass more than three things by position."""

from __future__ import annotations

import ast

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "medssl"
LONGEST_FILE = 500  # lines
MOST_POSITIONAL = 3  # parameters of a public function, self and cls not counted


def _public_functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef]]:
    found = []

    def visit(node: ast.AST, prefix: str, public: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", public and not child.name.startswith("_"))
            elif isinstance(child, ast.FunctionDef) and public and not child.name.startswith("_"):
                found.append((f"{prefix}{child.name}", child))

    visit(tree, "", True)
    return found


def test_no_public_function_takes_more_than_three_positional_parameters():
    crowded = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, function in _public_functions(ast.parse(path.read_text())):
            positional = [a.arg for a in function.args.posonlyargs + function.args.args]
            positional = [a for a in positional if a not in ("self", "cls")]
            if len(positional) > MOST_POSITIONAL:
                crowded.append(f"{path.relative_to(PACKAGE)}: {name}({', '.join(positional)})")
    assert not crowded, "make the later parameters keyword-only (*): " + "; ".join(crowded)


def test_no_module_is_longer_than_the_limit():
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > LONGEST_FILE
    }
    assert not long, f"split these by concern: {long}"


def test_the_checks_see_a_crowded_function():
    """The positional check is not vacuous: it finds a crowded signature and a method's."""
    tree = ast.parse("def f(a, b, c, d): ...\nclass C:\n    def g(self, a, b, c, *, d): ...\n")
    names = {name: fn for name, fn in _public_functions(tree)}
    assert set(names) == {"f", "C.g"}
    assert len(names["f"].args.args) == 4 and len(names["C.g"].args.args) == 4  # self + 3
