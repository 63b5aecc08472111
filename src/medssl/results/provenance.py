"""Where a ledger row's numbers come from: the results package's one way of asking git, whether a
row is from its method's current code, and which runs are of one code version.

A row is current when rerunning it today could not change its numbers: every link its method's
numbers depend on (split, evaluation, features and cluster where it reads them, its own training)
computes today what it computed at the row's commit, by ``results/fingerprints.json``
(``pipeline/fingerprint.py``) at that commit and in the working tree. A commit from before that
file existed is judged by the earlier rule: current when it contains the last commit that changed
any file its train stage listed then (``LEGACY_TRAIN_CODE``). Older rows stay in the tables,
marked, until a rerun supersedes them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from medssl.core.errors import MedsslError
from medssl.results.ledger import LedgerRow

FINGERPRINTS = "results/fingerprints.json"
# The code train@<method> listed before its deps became data/inputs/<method>/code.json: how rows
# from commits without a fingerprint file are judged.
LEGACY_TRAIN_CODE = (
    "stages/train.py",
    "src/medssl/core",
    "src/medssl/data/images.py",
    "src/medssl/data/prepared.py",
    "src/medssl/models",
    "src/medssl/methods/base.py",
    "src/medssl/methods/loop.py",
    "src/medssl/methods/registry.py",
    "src/medssl/methods/shared",
    "src/medssl/methods/{method}",
    "src/medssl/pipeline/runs.py",
    "src/medssl/pipeline/train.py",
)


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
    """For each method, the commits whose runs are from its current code, and (where known) the
    code version of each commit: commits of one version computed the same numbers."""

    current_commits: Mapping[str, frozenset[str]]
    versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def is_current(self, row: LedgerRow) -> bool:
        return row.commit in self.current_commits.get(row.method, frozenset())

    def version(self, row: LedgerRow) -> str | None:
        return self.versions.get(row.method, {}).get(row.commit)


def git_provenance(rows: Sequence[LedgerRow], *, repo: Path) -> Provenance:
    """Which of the ledger's commits are current for each method, and each commit's code version
    (see the module's docstring)."""
    from medssl.pipeline.fingerprint import links_of, same_numbers

    today = _read_json(repo / FINGERPRINTS)
    recorded = cache(lambda commit: _json_at(commit, repo))
    current: dict[str, frozenset[str]] = {}
    versions: dict[str, dict[str, str]] = {}
    for method in sorted({row.method for row in rows}):
        commits = sorted({row.commit for row in rows if row.method == method})
        try:
            links = links_of(method)
        except MedsslError:  # no longer registered: nothing is current
            links = None
        legacy = _LegacyCode(method, repo)
        fingerprinted = {c for c in commits if links and today and recorded(c) is not None}
        current[method] = frozenset(
            commit
            for commit in commits
            if (
                all(
                    same_numbers(recorded(commit)["links"].get(link), today["links"].get(link))
                    for link in links
                )
                if commit in fingerprinted
                else legacy.is_current(commit)
            )
        )
        versions[method] = {
            commit: (
                _fingerprint_version(recorded(commit), links, fingerprinted, recorded)
                if commit in fingerprinted
                else legacy.version(commit)
            )
            for commit in commits
        }
    return Provenance(current, versions)


def _fingerprint_version(
    fingerprints: Mapping, links: Sequence[str], fingerprinted: set[str], recorded
) -> str:
    """The earliest fingerprinted commit that computed the same numbers on every link."""
    from medssl.pipeline.fingerprint import same_numbers

    for commit in sorted(fingerprinted):
        if all(
            same_numbers(recorded(commit)["links"].get(link), fingerprints["links"].get(link))
            for link in links
        ):
            return f"numbers of {commit}"
    return "unknown"


class _LegacyCode:
    """The earlier rule, by git: a commit is current when it contains the last change to the code
    its train stage listed then; its version is the last such change at that commit."""

    def __init__(self, method: str, repo: Path) -> None:
        self.repo = repo
        self.paths = [path.format(method=method) for path in LEGACY_TRAIN_CODE]
        self._last_change: str | None = None

    def last_change(self) -> str:
        if self._last_change is None:
            dirty = required_git_output("status", "--porcelain", "--", *self.paths, repo=self.repo)
            # uncommitted changes to its code: no run is from it
            self._last_change = (
                ""
                if dirty.strip()
                else required_git_output(
                    "log", "-1", "--format=%H", "--", *self.paths, repo=self.repo
                ).strip()
            )
        return self._last_change

    def is_current(self, commit: str) -> bool:
        last = self.last_change()
        return bool(last) and (
            git_output("merge-base", "--is-ancestor", last, commit, repo=self.repo) is not None
        )

    def version(self, commit: str) -> str:
        found = git_output("log", "-1", "--format=%H", commit, "--", *self.paths, repo=self.repo)
        return f"code of {found.strip()}" if found else "unknown"


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _json_at(commit: str, repo: Path) -> dict | None:
    text = git_output("show", f"{commit}:{FINGERPRINTS}", repo=repo)
    return json.loads(text) if text else None
