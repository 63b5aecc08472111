"""The results ledger and the page generated from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO_ROOT, params_section
from medssl.results.ledger import (
    LedgerRow,
    current_rows,
    merge,
    read_ledger,
    rows_from_exp_show,
    write_ledger,
)
from medssl.results.page import (
    Provenance,
    git_provenance,
    headline_markdown,
    reference_params,
    results_page,
    row_label,
    with_headline,
)

PARAMS = {
    "data": params_section("data"),
    "split": params_section("split"),
    "train": params_section("train"),
    "methods": {"ssgan": params_section("methods.ssgan")},
}


def _detail(accuracies: list[float], budget: int = 10) -> dict:
    return {
        "method": "ssgan",
        "dataset": "pneumoniamnist",
        "image_size": 28,
        "labels_per_class": budget,
        "split_seed": 0,
        "seeds": list(range(len(accuracies))),
        "per_seed": {
            f"seed_{s}": {
                "test_accuracy": a,
                "test_balanced_accuracy": a,
                "test_auc": 0.9,
                "val_accuracy": a,
                "val_balanced_accuracy": a,
                "val_auc": 0.9,
                "train_seconds": 10.0,
                "extras": {},
            }
            for s, a in enumerate(accuracies)
        },
    }


def _exp_show(commit: str, experiment: str, time: str, params: dict) -> list[dict]:
    revision = {
        "rev": f"{experiment}-rev",
        "name": experiment,
        "data": {
            "timestamp": time,
            "params": {"params.yaml": {"data": params}},
            "metrics": {"metrics/methods/ssgan.json": {"data": {"ssgan": {"acc": 0.5}}}},
        },
    }
    return [
        {"rev": "workspace", "data": {}},
        {
            "rev": commit,
            "name": "main",
            "data": {"timestamp": time},
            "experiments": [
                {"executor": {"state": "success"}, "revs": [revision]},
                {"executor": {"state": "queued"}, "revs": [dict(revision, rev="q")]},
            ],
        },
    ]


class FakeGit:
    """Files at revisions; the commit that last changed a file (by default the revision itself)."""

    def __init__(self, files: dict | None = None, origins: dict | None = None) -> None:
        self.files, self.origins = files or {}, origins or {}

    def show(self, revision: str, path: str) -> str | None:
        return json.dumps(self.files[revision]) if revision in self.files else None

    def last_change(self, revision: str, path: str) -> tuple[str, str] | None:
        return self.origins.get(revision, (revision, "2026-11-01T00:00:00"))


def _rows(commit: str, experiment: str, time: str, accuracies: list[float], params=PARAMS):
    git = FakeGit({f"{experiment}-rev": _detail(accuracies)})
    return rows_from_exp_show(_exp_show(commit, experiment, time, params), git)


def test_finished_experiments_give_one_row_per_training_run():
    rows = _rows("a" * 40, "budget-10", "2026-12-01T10:00:00", [0.7, 0.8, 0.9])
    assert [(r.commit, r.experiment, r.training_seed, r.test_accuracy) for r in rows] == [
        ("a" * 10, "budget-10", 0, 0.7),
        ("a" * 10, "budget-10", 1, 0.8),
        ("a" * 10, "budget-10", 2, 0.9),
    ]
    assert rows[0].val_accuracy == 0.7 and rows[0].train_seconds == 10.0 and rows[0].open_set == ""


def test_a_run_is_recorded_once_and_a_rerun_supersedes_it(tmp_path: Path):
    first = _rows("a" * 40, "budget-10", "2026-12-01T10:00:00", [0.7, 0.8])
    ledger, added = merge([], first)
    ledger, added_again = merge(ledger, first)
    assert (added, added_again, len(ledger)) == (2, 0, 2)
    rerun = _rows("b" * 40, "budget-10-again", "2026-12-02T10:00:00", [0.75, 0.85])
    ledger, added = merge(ledger, rerun)
    assert added == 2 and len(ledger) == 4
    assert {r.superseded_by for r in ledger if r.commit == "a" * 10} == {"b" * 10}
    assert [r.test_accuracy for r in current_rows(ledger)] == [0.75, 0.85]
    write_ledger(tmp_path / "ledger.csv", ledger)
    assert set(read_ledger(tmp_path / "ledger.csv")) == set(ledger)


def test_other_method_params_are_another_cell_not_a_rerun():
    changed = json.loads(json.dumps(PARAMS))
    changed["methods"]["ssgan"]["alpha"] = 0.1
    ledger, _ = merge([], _rows("a" * 40, "default", "2026-12-01T10:00:00", [0.7]))
    ledger, added = merge(ledger, _rows("a" * 40, "alpha", "2026-12-01T11:00:00", [0.6], changed))
    assert added == 1 and not any(r.superseded_by for r in ledger)
    reference = {"ssgan": PARAMS["methods"]["ssgan"]}
    assert sorted(row_label(r, reference) for r in ledger) == ["ssgan", "ssgan [alpha=0.1]"]


def test_an_older_export_with_per_seed_metrics_is_read():
    legacy = {
        "method": "ssgan",
        "dataset": "breastmnist",
        "image_size": 28,
        "labels_per_class": 10,
        "split_seed": 0,
        "extras": {"x": {"mean": 1.0, "std": 0.5}},
        "per_seed": {
            "seed_0": {"test_accuracy": 0.7, "test_balanced_accuracy": 0.6, "test_auc": 0.8}
        },
    }
    exp_show = [
        {
            "rev": "c" * 40,
            "name": "main",
            "data": {
                "timestamp": "2026-11-23T10:00:00",
                "params": {"params.yaml": {"data": PARAMS}},
                "metrics": {"metrics/methods/ssgan.json": {"data": legacy}},
            },
        }
    ]
    origin = ("d" * 40, "2026-11-20T09:00:00")
    (row,) = rows_from_exp_show(exp_show, FakeGit(origins={"c" * 40: origin}))
    assert (row.dataset, row.test_balanced_accuracy, row.val_accuracy) == ("breastmnist", 0.6, None)
    # a commit's metrics are the run of the commit that last changed them
    assert (row.commit, row.recorded) == ("d" * 10, "2026-11-20T09:00:00")
    assert json.loads(row.extras) == {"x": {"mean": 1.0, "std": 0.5}}


def test_the_page_pools_draws_and_marks_runs_older_than_the_code(tmp_path: Path):
    ledger, _ = merge([], _rows("a" * 40, "old", "2026-12-01T10:00:00", [0.6, 0.8]))
    page = results_page(
        ledger, {"ssgan": PARAMS["methods"]["ssgan"]}, Provenance({}), tmp_path, "f"
    )
    assert "| ssgan | 70.0 ± 14.1 (n=2)† |" in page
    current = Provenance({"ssgan": frozenset({"a" * 10})})
    page = results_page(ledger, {"ssgan": PARAMS["methods"]["ssgan"]}, current, tmp_path, "f")
    assert "| ssgan | 70.0 ± 14.1 (n=2) |" in page


@pytest.mark.slow
def test_the_committed_results_page_is_what_the_ledger_gives(tmp_path: Path):
    """`medssl-results render` on the committed ledger rebuilds docs/results.md byte for byte, and
    its figures as committed."""
    ledger = read_ledger(REPO_ROOT / "results" / "ledger.csv")
    provenance = git_provenance(ledger, REPO_ROOT, REPO_ROOT / "dvc.yaml")
    figures = tmp_path / "figures" / "results"
    page = results_page(
        ledger, reference_params(REPO_ROOT / "params.yaml"), provenance, figures, "figures/results"
    )
    assert page == (REPO_ROOT / "docs" / "results.md").read_text(encoding="utf-8"), (
        "docs/results.md is not what results/ledger.csv gives: run `medssl-results render`"
    )
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    enabled = params_section("methods")["enabled"]
    headline = headline_markdown(
        current_rows(ledger), reference_params(REPO_ROOT / "params.yaml"), provenance, enabled
    )
    assert with_headline(readme, headline) == readme, (
        "README.md's headline is not what results/ledger.csv gives: run `medssl-results render`"
    )
    committed = REPO_ROOT / "docs" / "figures" / "results"
    assert sorted(p.name for p in figures.iterdir()) == sorted(p.name for p in committed.iterdir())
    for figure in figures.iterdir():
        assert figure.read_bytes() == (committed / figure.name).read_bytes(), figure.name


@pytest.mark.parametrize("ledger", ["missing.csv"])
def test_rendering_an_empty_ledger_is_an_error(ledger: str, tmp_path: Path):
    from medssl.results.cli import main

    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    with pytest.raises(Exception, match="has no runs"):
        main(["--ledger", str(tmp_path / ledger), "render"])


def test_a_ledger_row_round_trips_through_csv(tmp_path: Path):
    (row,) = _rows("a" * 40, "x", "2026-12-01T10:00:00", [1 / 3])
    write_ledger(tmp_path / "l.csv", [row])
    assert read_ledger(tmp_path / "l.csv") == [row]
    assert isinstance(row, LedgerRow)
