"""Behaviour fingerprints: the committed file is what the code computes, and staleness follows
numbers, not text."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from helpers.ledger_rows import ledger_row
from medssl.core.config import load_params
from medssl.core.io import read_json
from medssl.pipeline.fingerprint import (
    TOLERANCE,
    changed_links,
    compute_fingerprints,
    links_of,
    same_numbers,
)
from medssl.results.ledger import LedgerRow
from medssl.results.provenance import FINGERPRINTS, git_provenance
from medssl.results.stats import pooled_runs


def test_the_committed_fingerprints_are_what_the_code_computes():
    recorded = read_json(REPO_ROOT / FINGERPRINTS)
    computed = compute_fingerprints(load_params(REPO_ROOT / "params.yaml"), recorded)
    changed = changed_links(recorded, computed)
    assert not changed, (
        f"the code now computes other numbers for {', '.join(changed)}: if that is intended, run "
        "`medssl-results fingerprint` and commit results/fingerprints.json (the earlier runs of "
        "those links become stale); if not, the edit changed results it should not have"
    )


def test_numbers_within_the_tolerance_are_the_same_and_settings_must_match():
    link = {"settings": {"iterations": 6}, "values": [0.25, 0.75]}
    assert same_numbers(link, {**link, "values": [0.25 + TOLERANCE / 2, 0.75]})
    assert not same_numbers(link, {**link, "values": [0.25 + 2 * TOLERANCE, 0.75]})
    assert not same_numbers(link, {**link, "settings": {"iterations": 7}})
    # a knob added since the recording: its effect, if any, is in the values
    added = {**link, "settings": {"iterations": 6, "new_knob": False}}
    assert same_numbers(link, added)
    assert not same_numbers(link, {**added, "values": [0.5, 0.5]})
    assert not same_numbers(link, None)
    assert same_numbers({"digest": "a"}, {"digest": "a"})
    assert not same_numbers({"digest": "a"}, {"digest": "b"})


def test_a_method_depends_on_the_links_it_reads():
    assert links_of("ssgan") == ("split", "evaluate", "ssgan")
    assert links_of("ucgan") == ("split", "evaluate", "features", "ucgan")
    assert links_of("plabgan") == ("split", "evaluate", "features", "cluster", "plabgan")


def _git(repo: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def _fingerprints(ssgan: float, supervised: float) -> dict:
    return {
        "format": 1,
        "links": {
            "split": {"digest": "d"},
            "evaluate": {"values": [0.5]},
            "ssgan": {"settings": {}, "values": [ssgan]},
            "supervised_cnn": {"settings": {}, "values": [supervised]},
        },
    }


def _row(method: str, commit: str, draw: int, recorded: str) -> LedgerRow:
    return ledger_row(method=method, commit=commit, split_seed=draw, recorded=recorded)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three commits: a refactor that moves no number (A -> B), then a change of ssgan's (C)."""
    repo = tmp_path / "repo"
    (repo / "results").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@t")
    _git(repo, "config", "user.name", "t")
    commits = []
    for ssgan in (0.10, 0.10 + TOLERANCE / 10, 0.20):
        (repo / FINGERPRINTS).write_text(json.dumps(_fingerprints(ssgan, 0.3)))
        (repo / "code.py").write_text(f"# edit {len(commits)}\n")  # every commit edits code
        _git(repo, "add", ".")
        _git(repo, "commit", "-q", "-m", f"c{len(commits)}")
        commits.append(_git(repo, "rev-parse", "HEAD"))
    return repo, commits


def test_a_run_is_stale_only_where_its_numbers_changed(history):
    repo, (a, b, c) = history
    rows = [
        _row(m, commit, 0, "2026-12-01")
        for m in ("ssgan", "supervised_cnn")
        for commit in (a, b, c)
    ]
    provenance = git_provenance(rows, repo=repo)
    assert provenance.current_commits["ssgan"] == {c}  # C changed ssgan's numbers
    assert provenance.current_commits["supervised_cnn"] == {a, b, c}  # text edits, same numbers
    assert provenance.versions["ssgan"][a] == provenance.versions["ssgan"][b]
    assert provenance.versions["ssgan"][b] != provenance.versions["ssgan"][c]


def test_a_cell_with_no_current_run_pools_one_code_version_only(history):
    repo, (a, b, c) = history
    (repo / FINGERPRINTS).write_text(json.dumps(_fingerprints(0.9, 0.3)))  # ssgan changed again
    rows = [
        _row("ssgan", a, 0, "2026-12-01"),
        _row("ssgan", b, 1, "2026-12-02"),  # A and B: one version, two draws
        _row("ssgan", c, 2, "2026-12-03"),  # the newest run, of another version, one draw
    ]
    provenance = git_provenance(rows, repo=repo)
    assert provenance.current_commits["ssgan"] == frozenset()
    pooled = pooled_runs(rows, provenance)
    assert sorted(row.commit for row in pooled) == sorted([a, b])  # never with C's
    rows.append(_row("ssgan", c, 3, "2026-12-04"))  # now C's version has as many draws: newest
    assert {row.commit for row in pooled_runs(rows, provenance)} == {c}
