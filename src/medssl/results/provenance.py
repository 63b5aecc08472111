"""Where a ledger row's numbers come from: the results package's one way of asking git, and whether
a row is from its method's current code.

A row is current when the commit it ran at contains the last commit that changed any file the
method's train stage depends on (``dvc.yaml``). Older rows stay in the tables, marked, until a rerun
supersedes them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from medssl.core.errors import MedsslError
from medssl.results.ledger import LedgerRow


def git_output(*arguments: str, repo: Path | None = None) -> str | None:
    """What ``git <arguments>`` prints in ``repo`` (the working directory by default), or None
    when git exits with an error (a file absent at a revision, a commit not an ancestor)."""
    completed = subprocess.run(["git", *arguments], cwd=repo, capture_output=True, text=True)
    return completed.stdout if completed.returncode == 0 else None


def required_git_output(*arguments: str, repo: Path) -> str:
    """As ``git_output``, for questions that must have an answer: a failure is a one-line error."""
    completed = subprocess.run(["git", *arguments], cwd=repo, capture_output=True, text=True)
    if completed.returncode != 0:
        raise MedsslError(
            f"git {' '.join(arguments[:2])} failed in {repo}: "
            f"{completed.stderr.strip()} (the results page needs the git history)"
        )
    return completed.stdout


@dataclass(frozen=True)
class Provenance:
    """For each method, the commits whose runs are from its current code."""

    current_commits: Mapping[str, frozenset[str]]

    def is_current(self, row: LedgerRow) -> bool:
        return row.commit in self.current_commits.get(row.method, frozenset())


def git_provenance(rows: Sequence[LedgerRow], *, repo: Path, dvc_yaml: Path) -> Provenance:
    """Which of the ledger's commits contain the last change to each method's train-stage code.

    None while that code has uncommitted changes: a page rendered before or after committing a
    code change is then the same."""
    deps = yaml.safe_load(dvc_yaml.read_text())["stages"]["train"]["do"]["deps"]
    code = [dep for dep in deps if dep.startswith(("src/", "stages/"))]
    current: dict[str, frozenset[str]] = {}
    for method in sorted({row.method for row in rows}):
        paths = [dep.replace("${item}", method) for dep in code]
        if required_git_output("status", "--porcelain", "--", *paths, repo=repo).strip():
            # its code has changed since the last commit: no run is from it
            current[method] = frozenset()
            continue
        last_change = required_git_output(
            "log", "-1", "--format=%H", "--", *paths, repo=repo
        ).strip()
        commits = {row.commit for row in rows if row.method == method}
        current[method] = frozenset(
            commit
            for commit in commits
            if git_output("merge-base", "--is-ancestor", last_change, commit, repo=repo) is not None
        )
    return Provenance(current)
