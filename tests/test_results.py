"""The results ledger and the page generated from it."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO_ROOT, params_section
from helpers.ledger_rows import ledger_row
from medssl.core.errors import DataError, MedsslError
from medssl.results.answer import answer_sentences
from medssl.results.budget_tables import (
    AGAINST_BASELINE,
    AGAINST_PRACTICE,
    OTHER,
    all_comparisons,
    comparisons,
    equal_footing_label,
    page_comparisons,
    protocol_effect_markdown,
)
from medssl.results.figures import CURVES_FILE, budget_curves, curves_json
from medssl.results.headline import (
    cost_markdown,
    headline_markdown,
    headline_methods,
    with_headline,
)
from medssl.results.ingest import rows_from_exp_show
from medssl.results.labels import BUDGET_VALIDATION, budget_cells, reference_params, row_label
from medssl.results.ledger import (
    LedgerRow,
    current_rows,
    loop_settings,
    merge,
    read_ledger,
    write_ledger,
)
from medssl.results.page import PageInputs, results_page
from medssl.results.patch_tables import load_patch_paper_scores
from medssl.results.provenance import Provenance, git_provenance
from medssl.results.settings import load_results_config
from medssl.results.stats import metric_cell, paired_difference, pooled_runs

SETTINGS = load_results_config(REPO_ROOT / "params.yaml")

PARAMS = {
    "data": params_section("data"),
    "split": params_section("split"),
    "train": params_section("train"),
    "methods": {"ssgan": params_section("methods.ssgan")},
}
# what reference_params gives for PARAMS: the method's section, the loop settings under train
REFERENCE = {"ssgan": {**PARAMS["methods"]["ssgan"], "train": loop_settings(PARAMS)}}


def _page(rows, reference, provenance, figures_dir: Path, papers) -> str:
    inputs = PageInputs(reference, provenance, SETTINGS, papers)
    comparisons = all_comparisons(
        current_rows(rows),
        reference=inputs.reference,
        provenance=inputs.provenance,
        settings=inputs.settings,
    )
    return results_page(rows, inputs, comparisons, figures_dir=figures_dir, link_prefix="f")


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
    reference = REFERENCE
    assert sorted(row_label(r, reference) for r in ledger) == ["ssgan", "ssgan [alpha=0.1]"]


def _commit_exp_show(ssgan_metrics: dict) -> list[dict]:
    """`dvc exp show --json` of one commit (no experiments) whose ssgan metrics are given."""
    return [
        {
            "rev": "c" * 40,
            "name": "main",
            "data": {
                "timestamp": "2026-11-23T10:00:00",
                "params": {"params.yaml": {"data": PARAMS}},
                "metrics": {"metrics/methods/ssgan.json": {"data": ssgan_metrics}},
            },
        }
    ]


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
    exp_show = _commit_exp_show(legacy)
    origin = ("d" * 40, "2026-11-20T09:00:00")
    (row,) = rows_from_exp_show(exp_show, FakeGit(origins={"c" * 40: origin}))
    assert (row.dataset, row.test_balanced_accuracy, row.val_accuracy) == ("breastmnist", 0.6, None)
    # a commit's metrics are the run of the commit that last changed them
    assert (row.commit, row.recorded) == ("d" * 10, "2026-11-20T09:00:00")
    assert json.loads(row.extras) == {"x": {"mean": 1.0, "std": 0.5}}


def test_the_page_pools_draws_and_marks_runs_older_than_the_code(tmp_path: Path):
    ledger, _ = merge([], _rows("a" * 40, "old", "2026-12-01T10:00:00", [0.6, 0.8]))
    page = _page(ledger, REFERENCE, Provenance({}), tmp_path, {})
    assert "| ssgan | 70.0 ± 14.1 (d=1, n=2)† |" in page
    current = Provenance({"ssgan": frozenset({"a" * 10})})
    page = _page(ledger, REFERENCE, current, tmp_path, {})
    assert "| ssgan | 70.0 ± 14.1 (d=1, n=2) |" in page


@pytest.mark.slow
def test_the_committed_results_page_is_what_the_ledger_gives(tmp_path: Path):
    """`medssl-results render` on the committed ledger rebuilds docs/results.md and the README's
    headline byte for byte, and the same figures from the same points (their data, not their PNG
    bytes, which a matplotlib release may change)."""
    ledger = read_ledger(REPO_ROOT / "results" / "ledger.csv")
    provenance = git_provenance(ledger, repo=REPO_ROOT)
    reference = reference_params(REPO_ROOT / "params.yaml")
    figures = tmp_path / "figures" / "results"
    methods = headline_methods(
        params_section("methods")["enabled"],
        ledger,
        SETTINGS.current_practice,
        baseline=equal_footing_label(SETTINGS, reference),
    )
    inputs = PageInputs(
        reference,
        provenance,
        SETTINGS,
        load_patch_paper_scores(REPO_ROOT / "results" / "papers.yaml"),
        tuple(methods),
    )
    comparisons = all_comparisons(
        current_rows(ledger), reference=reference, provenance=provenance, settings=SETTINGS
    )
    page = results_page(
        ledger, inputs, comparisons, figures_dir=figures, link_prefix="figures/results"
    )
    assert page == (REPO_ROOT / "docs" / "results.md").read_text(encoding="utf-8"), (
        "docs/results.md is not what results/ledger.csv gives: run `medssl-results render`"
    )
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    headline = headline_markdown(
        current_rows(ledger),
        reference=reference,
        provenance=provenance,
        methods=methods,
        headline=SETTINGS.headline,
        answer=answer_sentences(comparisons, reference=reference, settings=SETTINGS),
    )
    assert with_headline(readme, headline) == readme, (
        "README.md's headline is not what results/ledger.csv gives: run `medssl-results render`"
    )
    committed = REPO_ROOT / "docs" / "figures" / "results"
    assert sorted(p.name for p in figures.iterdir()) == sorted(p.name for p in committed.iterdir())
    curves = curves_json(budget_curves(current_rows(ledger), reference, provenance))
    assert curves == (committed / CURVES_FILE).read_text(encoding="utf-8")


@pytest.mark.parametrize("ledger", ["missing.csv"])
def test_rendering_an_empty_ledger_is_an_error(ledger: str, tmp_path: Path):
    from medssl.results.cli import main

    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    with pytest.raises(MedsslError, match="has no runs"):
        main(["--ledger", str(tmp_path / ledger), "render"])


def test_a_ledger_row_round_trips_through_csv(tmp_path: Path):
    (row,) = _rows("a" * 40, "x", "2026-12-01T10:00:00", [1 / 3])
    write_ledger(tmp_path / "l.csv", [row])
    assert read_ledger(tmp_path / "l.csv") == [row]
    assert isinstance(row, LedgerRow)


def _run(method: str, draw: int, seed: int, accuracy: float, **fields) -> LedgerRow:
    values = dict(
        experiment=f"d{draw}",
        split_seed=draw,
        training_seed=seed,
        method=method,
        test_accuracy=accuracy,
        test_balanced_accuracy=accuracy,
        test_auc=accuracy,
        loop=json.dumps(loop_settings(PARAMS), sort_keys=True),  # today's selection rule
    )
    return ledger_row(**{**values, **fields})


EVERYTHING_CURRENT = Provenance(
    {m: frozenset({"a" * 10}) for m in ("ssgan", "supervised_cnn", "plabgan")}
)


def test_a_cell_is_the_mean_and_std_over_draws_of_each_draws_mean():
    runs = [
        _run("ssgan", 0, 0, 0.70),
        _run("ssgan", 0, 1, 0.80),  # draw 0: 0.75
        _run("ssgan", 1, 0, 0.85),
        _run("ssgan", 2, 0, 0.95),
    ]
    cell = metric_cell(runs, "accuracy", EVERYTHING_CURRENT)
    assert (cell.draws, cell.n) == (3, 4)
    assert cell.mean == pytest.approx((0.75 + 0.85 + 0.95) / 3)
    assert cell.std == pytest.approx(0.1)


def test_runs_of_the_current_code_replace_older_ones_in_a_cell():
    older = _run("ssgan", 0, 1, 0.5, commit="b" * 10)
    current = _run("ssgan", 0, 0, 0.9)
    assert pooled_runs([older, current], EVERYTHING_CURRENT) == [current]
    assert pooled_runs([older], EVERYTHING_CURRENT) == [older]  # kept, marked older
    assert metric_cell([older], "accuracy", EVERYTHING_CURRENT).older


def test_paired_difference_is_over_draws_with_a_t_interval():
    differences = {0: 0.04, 1: 0.05, 2: 0.06}
    baseline = [_run("supervised_cnn", d, 0, 0.7) for d in differences]
    rows = [_run("ssgan", d, 0, 0.7 + x) for d, x in differences.items()]
    rows.append(_run("ssgan", 3, 0, 0.9))  # no baseline run on draw 3: left out
    paired = paired_difference(rows, baseline, "accuracy")
    half = 4.302653 * 0.01 / 3**0.5  # t(0.975, 2) * sd / sqrt(3)
    assert paired.draws == 3 and (paired.wins, paired.ties, paired.losses) == (3, 0, 0)
    assert paired.mean == pytest.approx(0.05)
    assert (paired.low, paired.high) == (
        pytest.approx(0.05 - half, abs=1e-6),
        pytest.approx(0.05 + half, abs=1e-6),
    )
    assert paired.p == pytest.approx(0.013072, abs=1e-6)  # t = 8.66 on 2 degrees of freedom
    assert paired.claim(paired.p) == "ahead"
    assert paired.claim(0.06) == "no claim (Holm p 0.060)"  # corrected over a larger family
    mixed = paired_difference(
        [_run("ssgan", d, 0, 0.7 + x) for d, x in {0: -0.05, 1: 0.05, 2: 0.01}.items()],
        baseline,
        "accuracy",
    )
    assert mixed.claim(mixed.p).startswith("no claim (Holm p") and mixed.losses == 1
    one = paired_difference(rows[:1], baseline, "accuracy")
    assert one.claim(one.p) == "no claim (one draw)"


def test_the_page_states_a_claim_only_where_the_interval_excludes_zero(tmp_path: Path):
    rows = [_run("supervised_cnn", d, 0, 0.7) for d in range(3)]
    rows += [_run("ssgan", d, 0, 0.7 + x) for d, x in enumerate([0.04, 0.05, 0.06])]
    rows += [_run("plabgan", d, 0, 0.7 + x) for d, x in enumerate([-0.05, 0.05, 0.01])]
    page = _page(rows, {}, EVERYTHING_CURRENT, tmp_path, {})
    assert f"## pneumoniamnist, 28 px, {BUDGET_VALIDATION}" in page
    # two comparisons on the page: ssgan's p 0.013 doubles under Holm's correction
    assert "| ssgan | supervised_cnn | 3 | +5.0 [+2.5, +7.5] | 0.013 | 0.026 | 3 / 0 / 0 |" in page
    assert (
        "Surviving Holm's correction, over 3 or more draws: ahead of supervised_cnn in "
        "balanced accuracy: ssgan (+5.0 [+2.5, +7.5], Holm p 0.026)." in page
    )
    assert "plabgan | supervised_cnn | 3 |" in page and "behind supervised_cnn: plabgan" not in page
    assert (
        "**Best with 10 labelled images per class** by mean test balanced accuracy: **ssgan** "
        "(75.0 %), ahead of the runner-up plabgan by +4.7 [" in page
    )


def test_seed_methods_are_compared_with_the_references_from_current_practice(tmp_path: Path):
    rows = [_run("supervised_cnn", d, 0, 0.7) for d in range(3)]
    rows += [_run("fixmatch", d, 0, 0.8 + x) for d, x in enumerate([0.0, 0.01, 0.02])]
    rows += [_run("ssgan", d, 0, 0.7 + x) for d, x in enumerate([0.04, 0.05, 0.06])]
    page = _page(rows, {}, EVERYTHING_CURRENT, tmp_path, {})
    assert "| ssgan | fixmatch | 3 | -6.0 [-6.0, -6.0] | < 0.001 | < 0.001 | 0 / 0 / 3 |" in page
    assert "| supervised_cnn | fixmatch |" not in page  # the reverse of fixmatch's own row
    assert (
        "Surviving Holm's correction, over 3 or more draws: behind fixmatch: ssgan (-6.0 [" in page
    )
    assert (
        "**Best with 10 labelled images per class** by mean test balanced accuracy: **fixmatch** "
        "(81.0 %)" in page
    )


def test_the_ranking_under_both_protocols_is_compared():
    realistic = [_run("supervised_cnn", 0, 0, 0.8), _run("ssgan", 0, 0, 0.7)]
    official = [
        _run("supervised_cnn", 0, 0, 0.7, val_labels_per_class=0),
        _run("ssgan", 0, 0, 0.9, val_labels_per_class=0),
    ]
    lines = protocol_effect_markdown(
        realistic + official, reference={}, provenance=EVERYTHING_CURRENT
    )
    text = "\n".join(lines)
    assert "Kendall's tau between the two rankings -1.00; the largest move 1 place." in text
    assert "| supervised_cnn | 70.0 ± 0.0 (d=1, n=1) | 2 | 80.0 ± 0.0 (d=1, n=1) | 1 | +1 |" in text


def test_the_protocols_are_compared_only_at_one_code_version():
    realistic = [_run("supervised_cnn", 0, 0, 0.8), _run("ssgan", 0, 0, 0.7)]
    official = [
        _run("supervised_cnn", 0, 0, 0.7, val_labels_per_class=0),
        _run("ssgan", 0, 0, 0.9, val_labels_per_class=0, commit="b" * 10),  # other code
    ]
    text = "\n".join(
        protocol_effect_markdown(realistic + official, reference={}, provenance=EVERYTHING_CURRENT)
    )
    assert "Kendall" not in text  # one method left: no ranking to compare
    assert "left out, their two protocols' runs are from different commits: ssgan." in text


@pytest.mark.parametrize(
    "dropped", [("val_labels_per_class",), ("loop",), ("val_labels_per_class", "loop")]
)
def test_an_older_ledger_without_a_later_column_reads_with_its_old_meaning(
    dropped: tuple[str, ...], tmp_path: Path
):
    (row,) = _rows("a" * 40, "x", "2026-12-01T10:00:00", [0.5])
    write_ledger(tmp_path / "l.csv", [row])
    with (tmp_path / "l.csv").open(newline="") as handle:
        header, values = list(csv.reader(handle))
    kept = [i for i, column in enumerate(header) if column not in dropped]
    with (tmp_path / "old.csv").open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [[header[i] for i in kept], [values[i] for i in kept]]
        )
    (older,) = read_ledger(tmp_path / "old.csv")
    expected = {"val_labels_per_class": 0, "loop": "{}"}
    assert {column: getattr(older, column) for column in dropped} == {
        column: expected[column] for column in dropped
    }


def test_a_ledger_with_columns_out_of_order_is_refused(tmp_path: Path):
    (row,) = _rows("a" * 40, "x", "2026-12-01T10:00:00", [0.5])
    write_ledger(tmp_path / "l.csv", [row])
    header, line = (tmp_path / "l.csv").read_text().splitlines()
    columns = header.split(",")
    columns[0], columns[1] = columns[1], columns[0]
    (tmp_path / "bad.csv").write_text(",".join(columns) + "\n" + line + "\n")
    with pytest.raises(DataError, match="does not have the ledger's columns"):
        read_ledger(tmp_path / "bad.csv")


def test_a_run_records_the_loop_settings_that_change_its_numbers():
    params = {**PARAMS, "train": {**PARAMS["train"], "autocast": "bf16", "num_threads": 1}}
    (row,) = _rows("a" * 40, "x", "2026-12-01T10:00:00", [0.5], params)
    assert json.loads(row.loop) == {
        "autocast": "bf16",
        "validations": PARAMS["train"]["validations"],
        "selection_metric": PARAMS["train"]["selection_metric"],
    }  # not the thread count: it changes the last digits only


def test_a_run_under_other_loop_settings_is_a_variant_not_pooled_with_the_default(
    tmp_path: Path,
):
    reference = reference_params(REPO_ROOT / "params.yaml")
    default_loop = json.loads(_rows("a" * 40, "x", "2026-12-01T10:00:00", [0.5])[0].loop)
    bf16 = json.dumps({**default_loop, "autocast": "bf16"})
    rows = [
        _run("ssgan", 0, 0, 0.8, loop=json.dumps(default_loop)),
        _run("ssgan", 1, 0, 0.6, loop=json.dumps(default_loop)),
        _run("ssgan", 0, 0, 0.2, loop=bf16, setup_hash="t"),
        # recorded before the ledger kept loop settings: the earlier selection rule, labelled as
        # the default method but never pooled with today's runs
        _run("ssgan", 2, 0, 0.4, loop="{}"),
        # a choice one can still make today: a variant
        _run("ssgan", 3, 0, 0.4, loop=json.dumps({**default_loop, "selection_metric": "auc"})),
    ]
    labels = [row_label(row, reference) for row in rows]
    assert labels == [
        "ssgan",
        "ssgan",
        "ssgan [train.autocast=bf16]",
        "ssgan",
        "ssgan [train.selection_metric=auc]",
    ]
    page = _page(rows, reference, EVERYTHING_CURRENT, tmp_path, {})
    assert "| ssgan | 70.0 ± 14.1 (d=2, n=2) |" in page
    assert "| ssgan [train.autocast=bf16] | 20.0 ± 0.0 (d=1, n=1) |" in page
    earlier_only = _page(rows[3:4], reference, EVERYTHING_CURRENT, tmp_path, {})
    assert "| ssgan | 40.0 ± 0.0 (d=1, n=1)†‡ |" in earlier_only


def test_a_seed_rerun_under_other_thread_counts_counts_once_the_newest():
    older = _run("ssgan", 0, 0, 0.5, setup_hash="threads-2", recorded="2026-12-01T00:00:00")
    newer = _run("ssgan", 0, 0, 0.7, setup_hash="threads-1", recorded="2026-12-02T00:00:00")
    other_seed = _run("ssgan", 0, 1, 0.9, setup_hash="threads-2", recorded="2026-12-01T00:00:00")
    assert pooled_runs([older, newer, other_seed], EVERYTHING_CURRENT) == [newer, other_seed]
    cell = metric_cell([older, newer, other_seed], "accuracy", EVERYTHING_CURRENT)
    assert (cell.n, cell.mean) == (2, pytest.approx(0.8))


def test_metrics_carried_by_a_later_commit_keep_the_params_of_the_run():
    """A commit whose metrics were last changed by an older commit: the row's params and setup are
    the older commit's, not those of the params.yaml beside the carried metrics."""
    detail = _detail([0.7])
    older_params = {**PARAMS, "methods": {"ssgan": {**PARAMS["methods"]["ssgan"], "alpha": 0.1}}}
    exp_show = _commit_exp_show({"ssgan": {"acc": 0.7}})
    git = FakeGit(
        files={"c" * 40: detail, "d" * 40: older_params},
        origins={"c" * 40: ("d" * 40, "2026-11-20T09:00:00")},
    )
    (row,) = rows_from_exp_show(exp_show, git)
    assert row.commit == "d" * 10 and json.loads(row.params)["alpha"] == 0.1


def test_the_patch_table_pools_the_image_and_localisation_numbers_beside_the_paper(
    tmp_path: Path,
):
    def patch_run(method: str, draw: int, image_auc: float, budget: int = 5) -> LedgerRow:
        extras = {"image_auc": image_auc, "image_accuracy": 0.8, "localisation_auc": 0.7}
        return _run(
            method,
            draw,
            0,
            0.9,
            dataset="idrid",
            image_size=32,
            labels_per_class=budget,
            val_labels_per_class=budget,
            extras=json.dumps(extras),
        )

    rows = [patch_run("patch_ssgan", d, auc) for d, auc in enumerate([0.8, 0.9, 1.0])]
    rows.append(patch_run("patch_convnet", 0, 0.6, budget=-1))
    current = Provenance({m: frozenset({"a" * 10}) for m in ("patch_ssgan", "patch_convnet")})
    papers = load_patch_paper_scores(REPO_ROOT / "results" / "papers.yaml")
    page = _page(rows, {}, current, tmp_path, papers)
    # 5 labelled images per class of 2 are the paper's 10 / 149 column; -1 its 149 / 149.
    assert (
        "| 10 | patch_ssgan | 0.900 ± 0.000 (d=3, n=3) | 0.900 ± 0.100 (d=3, n=3) | "
        "80.0 ± 0.0 (d=3, n=3) | 0.700 ± 0.000 (d=3, n=3) | 0.758 ± 0.027 | 0.845 ± 0.115 |"
    ) in page
    assert page.index("| 10 | patch_ssgan |") < page.index("| all | patch_convnet |")
    assert "| all | patch_convnet | 0.900 ± 0.000 (d=1, n=1) | 0.600 ± 0.000" in page
    assert page.count("| 0.796 ± 0.002 | 0.978 ± 0.010 |") == 1  # the paper's all-labelled row


def test_the_every_image_labelled_budget_reads_all_labelled_after_the_finite_ones(
    tmp_path: Path,
):
    rows = [
        _run(
            "patch_convnet", 0, 0, 0.8, dataset="idrid", labels_per_class=b, val_labels_per_class=0
        )
        for b in (-1, 5, 50)
    ]
    current = Provenance({"patch_convnet": frozenset({"a" * 10})})
    papers = load_patch_paper_scores(REPO_ROOT / "results" / "papers.yaml")
    page = _page(rows, {}, current, tmp_path, papers)
    assert "| method | 5 / class | 50 / class | all labelled |" in page
    assert "-1 / class" not in page
    assert [p.name for p in tmp_path.glob("*.png")] == ["idrid_28px_val_full.png"]


def test_a_malformed_papers_file_is_one_line_naming_it(tmp_path: Path):
    papers = tmp_path / "papers.yaml"
    papers.write_text("idrid_patches:\n  patch_ssgan:\n    10: {patch_auc: [0.7]}\n")
    with pytest.raises(MedsslError, match=r"papers.yaml: no idrid_patches scores"):
        load_patch_paper_scores(papers)


def test_two_draws_with_equal_differences_make_no_claim():
    rows = [_run("ssgan", d, 0, 0.75) for d in (0, 1)]
    baseline = [_run("supervised_cnn", d, 0, 0.70) for d in (0, 1)]
    difference = paired_difference(rows, baseline, "accuracy")
    assert (difference.low, difference.high) == (pytest.approx(0.05), pytest.approx(0.05))
    assert difference.claim(difference.p) == "no claim (2 draws; a claim needs 3)"
    third = paired_difference(
        [*rows, _run("ssgan", 2, 0, 0.75)],
        [*baseline, _run("supervised_cnn", 2, 0, 0.70)],
        "accuracy",
    )
    assert third.claim(third.p) == "ahead"


def test_a_headline_cell_never_pools_the_earlier_selection_rule_with_todays():
    reference = reference_params(REPO_ROOT / "params.yaml")
    rows = [
        _run("ssgan", 0, 0, 0.80),
        _run("ssgan", 1, 0, 0.60, loop="{}"),  # the earlier rule: left out beside today's
        _run("plabgan", 0, 0, 0.70, loop="{}"),
    ]
    headline = headline_markdown(
        rows,
        reference=reference,
        provenance=EVERYTHING_CURRENT,
        methods=["ssgan", "plabgan", "supervised_cnn"],
        headline=SETTINGS.headline,
        answer=[],
    )
    balanced = headline.split("Test macro AUC")[0]
    of = f"of {SETTINGS.headline.required_draws(10)}"
    assert f"| ssgan | 80.0 ± 0.0 (d=1 {of}) | – |" in balanced
    assert f"| plabgan | 70.0 ± 0.0 (d=1 {of})†‡ | – |" in balanced
    assert "| supervised_cnn | – | – |" in balanced


def test_a_cell_below_the_protocols_draws_says_so_beside_the_earlier_cell_it_replaces(
    tmp_path: Path,
):
    reference = reference_params(REPO_ROOT / "params.yaml")
    earlier = [_run("ssgan", d, 0, 0.6 + 0.1 * d, commit="b" * 10) for d in range(3)]
    rows = [*earlier, _run("ssgan", 0, 0, 0.80)]
    headline = headline_markdown(
        rows,
        reference=reference,
        provenance=EVERYTHING_CURRENT,
        methods=["ssgan"],
        headline=SETTINGS.headline,
        answer=[],
    )
    balanced = headline.split("Test macro AUC")[0]
    required = SETTINGS.headline.required_draws(10)
    assert (
        f"| ssgan | 80.0 ± 0.0 (d=1 of {required}); earlier code 70.0 ± 10.0 (d=3)† | – |"
    ) in balanced
    only_earlier = headline_markdown(
        earlier,
        reference=reference,
        provenance=EVERYTHING_CURRENT,
        methods=["ssgan"],
        headline=SETTINGS.headline,
        answer=[],
    )
    assert f"| ssgan | 70.0 ± 10.0 (d=3 of {required})† | – |" in only_earlier
    page = _page(rows, reference, EVERYTHING_CURRENT, tmp_path, {})
    replaced = page.split("Replaced above by runs of today's code")[1].split("\n\n")[1]
    assert "| ssgan | 70.0 ± 10.0 (d=3, n=3)† |" in replaced


def test_rows_are_compared_with_the_equal_footing_baseline_where_a_cell_has_it():
    reference = reference_params(REPO_ROOT / "params.yaml")
    baseline = equal_footing_label(SETTINGS, reference)
    assert baseline == "supervised_cnn [flip=True, shift_fraction=0.125]"
    augmented = json.dumps({"flip": True, "shift_fraction": 0.125})
    assert row_label(_run("supervised_cnn", 0, 0, 0.7, params=augmented), reference) == baseline
    labels = ["ssgan", "supervised_cnn", baseline, "fixmatch", "ssgan [alpha=1]"]
    pairs = comparisons(labels, SETTINGS, baseline)
    assert ("ssgan", baseline) in pairs and ("supervised_cnn", baseline) in pairs
    assert ("fixmatch", baseline) in pairs and ("ssgan", "fixmatch") in pairs
    assert ("ssgan [alpha=1]", "ssgan") in pairs
    assert not any(base == "supervised_cnn" for _, base in pairs)
    assert (baseline, "supervised_cnn") not in pairs and (baseline, "fixmatch") not in pairs
    # a cell without the augmented runs (older tables) keeps the plain reference method
    older = comparisons(["ssgan", "supervised_cnn"], SETTINGS, baseline)
    assert older == [("ssgan", "supervised_cnn")]


def test_the_answer_names_what_survives_holm_or_bounds_what_was_missed():
    reference = reference_params(REPO_ROOT / "params.yaml")
    augmented = json.dumps({"flip": True, "shift_fraction": 0.125})
    baseline = [_run("supervised_cnn", d, 0, 0.70, params=augmented) for d in range(3)]
    steady = [_run("ssgan", d, 0, 0.80 + 0.01 * d) for d in range(3)]
    answer = answer_sentences(
        all_comparisons(
            [*baseline, *steady],
            reference=reference,
            provenance=EVERYTHING_CURRENT,
            settings=SETTINGS,
        ),
        reference=reference,
        settings=SETTINGS,
    )
    pneumonia, breast = answer
    assert pneumonia.startswith("**PneumoniaMNIST, 10 labelled images per class:** ahead of ")
    assert "supervised_cnn [flip=True, shift_fraction=0.125]" in pneumonia
    assert "(d=3 of 10): ssgan (+11.0 [" in pneumonia
    assert breast.endswith(
        "not measured against supervised_cnn [flip=True, shift_fraction=0.125] yet."
    )
    noisy = [_run("ssgan", d, 0, x) for d, x in enumerate((0.60, 0.80, 0.75))]
    one_draw = [_run("plabgan", 0, 0, 0.99)]  # too few draws to bound anything: left out
    (pneumonia, _) = answer_sentences(
        all_comparisons(
            [*baseline, *noisy, *one_draw],
            reference=reference,
            provenance=EVERYTHING_CURRENT,
            settings=SETTINGS,
        ),
        reference=reference,
        settings=SETTINGS,
    )
    assert "(d=3 of 10; plabgan left out, with fewer draws)" in pneumonia
    high = paired_difference(noisy, baseline, "balanced_accuracy").high
    assert "no method beats supervised_cnn [flip=True, shift_fraction=0.125]" in pneumonia
    assert f"no method's 95 % interval reaches beyond {100 * high:+.1f} points (ssgan)" in pneumonia


def test_the_cost_table_sums_the_current_headline_runs_fit_time():
    reference = reference_params(REPO_ROOT / "params.yaml")
    runs = [
        _run("ssgan", 0, 0, 0.8, train_seconds=1800.0),
        _run("ssgan", 1, 0, 0.8, train_seconds=3600.0),
        _run("ssgan", 2, 0, 0.8, train_seconds=99.0, commit="b" * 10),  # older code: not counted
        _run("plabgan", 0, 0, 0.8),  # no fit time recorded
    ]
    lines = cost_markdown(
        runs,
        reference=reference,
        provenance=EVERYTHING_CURRENT,
        methods=["ssgan", "plabgan"],
        headline=SETTINGS.headline,
    )
    assert "| ssgan | 2 | 1.50 | 45.0 |" in lines
    assert not any(line.startswith("| plabgan") for line in lines)
    assert (
        cost_markdown(
            runs[2:],
            reference=reference,
            provenance=EVERYTHING_CURRENT,
            methods=["ssgan"],
            headline=SETTINGS.headline,
        )
        == []
    )


def test_holm_corrects_each_question_of_the_headline_in_its_own_family():
    reference = reference_params(REPO_ROOT / "params.yaml")
    rows = [_run("supervised_cnn", d, 0, 0.7) for d in range(3)]
    rows += [_run("fixmatch", d, 0, 0.8 + x) for d, x in enumerate([0.0, 0.01, 0.02])]
    rows += [_run("ssgan", d, 0, 0.7 + x) for d, x in enumerate([0.04, 0.05, 0.06])]
    rows += [  # the same rows on a dataset outside the headline: the rest of the page
        dataclasses.replace(row, dataset="mnist") for row in rows
    ]
    cells = budget_cells(rows, reference)
    baseline = equal_footing_label(SETTINGS, reference)
    found = page_comparisons(
        cells, provenance=EVERYTHING_CURRENT, settings=SETTINGS, baseline=baseline
    )
    family = {(c.table[0], c.row, c.baseline): (c.family, c.family_size) for c in found}
    assert family[("pneumoniamnist", "ssgan", "supervised_cnn")] == (AGAINST_BASELINE, 2)
    assert family[("pneumoniamnist", "fixmatch", "supervised_cnn")] == (AGAINST_BASELINE, 2)
    assert family[("pneumoniamnist", "ssgan", "fixmatch")] == (AGAINST_PRACTICE, 1)
    assert {f for (dataset, *_), f in family.items() if dataset == "mnist"} == {(OTHER, 3)}
    alone = next(c for c in found if c.table[0] == "pneumoniamnist" and c.baseline == "fixmatch")
    assert alone.holm_p == alone.balanced.p  # a family of one: Holm changes nothing
