"""The sweep table from `dvc exp show --json`: pooling, de-duplication, and method variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medssl.core.errors import MedsslError
from medssl.results.sweep import (
    _figure_rows,
    main,
    method_runs,
    parse_varied_keys,
    read_exp_shows,
    reference_settings,
    sweep_cells,
    sweep_markdown,
    variant_cells,
    write_sweep,
)

DEFAULT_PLABGAN = {"alpha": 0.5, "beta": 0.5, "iterations": 30}
SAMPLE_STD_OF_TWO = 0.1 * 2**0.5  # std (ddof=1) of two values 0.2 apart


def _revision(rev: str, budget: int, plabgan: dict, accuracies: list[float]) -> dict:
    per_seed = {
        str(seed): {"test_accuracy": value, "test_auc": value / 2}
        for seed, value in enumerate(accuracies)
    }
    metrics = {
        "dataset": "pneumoniamnist",
        "image_size": 28,
        "labels_per_class": budget,
        "split_seed": 0,
        "method": "plabgan",
        "per_seed": per_seed,
    }
    params = {
        "split": {"labels_per_class": budget},
        "methods": {"enabled": ["plabgan"], "plabgan": plabgan},
    }
    return {
        "rev": rev,
        "data": {
            "rev": rev,
            "params": {"params.yaml": {"data": params}},
            "metrics": {"metrics/methods/plabgan.json": {"data": metrics}},
        },
    }


def _exp_show() -> list[dict]:
    workspace = {**_revision("workspace", 10, DEFAULT_PLABGAN, [0.8, 0.6]), "experiments": None}
    # The baseline commit holds the same result as the workspace: it must be counted once.
    experiments = [
        {"revs": [_revision("a1", 50, DEFAULT_PLABGAN, [0.9, 0.7])]},
        {"revs": [_revision("b2", 10, {**DEFAULT_PLABGAN, "alpha": 0.1, "beta": 0.9}, [0.5, 0.3])]},
    ]
    # Queued and running experiments carry the baseline's metrics under their own params: not
    # results.
    for state in ("queued", "running", "failed"):
        experiments.append(
            {
                "executor": {"state": state},
                "revs": [_revision(state, 10, {**DEFAULT_PLABGAN, "alpha": 0.9}, [0.8, 0.6])],
            }
        )
    experiments.append(
        {
            "executor": {"state": "success"},
            "revs": [_revision("d4", 100, DEFAULT_PLABGAN, [0.6, 0.4])],
        }
    )
    baseline = {**_revision("c3", 10, DEFAULT_PLABGAN, [0.8, 0.6]), "experiments": experiments}
    return [workspace, baseline]


def test_variants_get_their_own_row_and_duplicates_count_once():
    exp_show = _exp_show()
    cells = sweep_cells(method_runs(exp_show), "accuracy", reference_settings(exp_show))[
        ("pneumoniamnist", 28)
    ]
    assert set(cells) == {"plabgan", "plabgan [alpha=0.1, beta=0.9]"}
    assert cells["plabgan"][10] == pytest.approx({"mean": 0.7, "std": SAMPLE_STD_OF_TWO, "n": 2})
    assert cells["plabgan"][50]["mean"] == pytest.approx(0.8) and cells["plabgan"][100][
        "mean"
    ] == pytest.approx(0.5)
    assert cells["plabgan [alpha=0.1, beta=0.9]"] == {
        10: pytest.approx({"mean": 0.4, "std": SAMPLE_STD_OF_TWO, "n": 2})
    }


def test_variant_cells_group_one_method_by_the_varied_params():
    cells = variant_cells(method_runs(_exp_show()), "plabgan", ["alpha", "beta"], "auc")
    # one combination at 50 and 100: nothing to compare
    assert set(cells) == {("pneumoniamnist", 28, 10)}
    at_ten = cells[("pneumoniamnist", 28, 10)]
    assert set(at_ten) == {(0.5, 0.5), (0.1, 0.9)}
    assert at_ten[(0.1, 0.9)]["mean"] == pytest.approx(0.2) and at_ten[(0.5, 0.5)]["n"] == 2


def test_write_sweep_with_varied_params_writes_tables_and_figures(tmp_path: Path):
    exp_show = _exp_show()
    markdown = write_sweep(
        method_runs(exp_show),
        ["accuracy", "auc"],
        tmp_path,
        reference_settings(exp_show),
        [["methods.plabgan.alpha", "methods.plabgan.beta"]],
    )
    assert "| plabgan [alpha=0.1, beta=0.9] | 40.0 ± 14.1 (n=2) | – | – |" in markdown
    assert (
        "| 0.1 | 0.9 | 40.0 ± 14.1 (n=2) | 0.200 ± 0.071 (n=2) |"
        in (tmp_path / "plabgan_alpha_beta.md").read_text()
    )
    assert (tmp_path / "plabgan_alpha_beta_pneumoniamnist_28px_10.png").stat().st_size > 0
    assert (tmp_path / "pneumoniamnist_28px_accuracy.png").stat().st_size > 0
    json.loads(json.dumps(exp_show))  # the fixture is what `dvc exp show --json` can hold


def test_an_ablation_table_leaves_out_runs_that_changed_another_param(tmp_path: Path):
    workspace, baseline = _exp_show()
    # Two ablations of one method: alpha and beta (run b2), and iterations alone (run e5).
    baseline["experiments"] += [
        {"revs": [_revision("e5", 10, {**DEFAULT_PLABGAN, "iterations": 60}, [0.1, 0.1])]}
    ]
    exp_show, reference = [workspace, baseline], reference_settings([workspace, baseline])
    by_weights = variant_cells(
        method_runs(exp_show), "plabgan", ["alpha", "beta"], "accuracy", reference
    )
    # The iterations=60 run has the default alpha and beta but is not the default: it stays out.
    assert by_weights[("pneumoniamnist", 28, 10)][(0.5, 0.5)]["mean"] == pytest.approx(0.7)
    assert set(by_weights[("pneumoniamnist", 28, 10)]) == {(0.5, 0.5), (0.1, 0.9)}
    by_iterations = variant_cells(
        method_runs(exp_show), "plabgan", ["iterations"], "accuracy", reference
    )
    assert by_iterations[("pneumoniamnist", 28, 10)][(60,)]["mean"] == pytest.approx(0.1)
    # the b2 run (alpha changed) is left out
    assert by_iterations[("pneumoniamnist", 28, 10)][(30,)]["n"] == 2
    saved = tmp_path / "exps.json"
    saved.write_text(json.dumps(exp_show))
    main(
        [
            "--input",
            str(saved),
            "--out-dir",
            str(tmp_path),
            "--vary",
            "methods.plabgan.alpha",
            "methods.plabgan.beta",
            "--vary",
            "methods.plabgan.iterations",
        ]
    )
    assert "| 60 | 10.0 ± 0.0 (n=2) |" in (tmp_path / "plabgan_iterations.md").read_text()
    assert (tmp_path / "plabgan_alpha_beta_pneumoniamnist_28px_10.png").stat().st_size > 0


def test_generator_distance_gets_a_table_of_its_own():
    workspace, baseline = _exp_show()
    with_generator = _revision("g7", 50, DEFAULT_PLABGAN, [0.9, 0.7])
    metrics = with_generator["data"]["metrics"]["metrics/methods/plabgan.json"]["data"]
    metrics.update(method="ucgan", generator_fd_resnet20={"mean": 1.25, "std": 0.5})
    baseline["experiments"].append({"revs": [with_generator]})
    markdown = sweep_markdown(method_runs([workspace, baseline]), ["accuracy"])
    table = markdown[markdown.index("generator Fréchet distance") :]
    assert "| ucgan | 1.25 ± 0.50 |" in table and "plabgan" not in table


@pytest.mark.parametrize(
    "keys", [["alpha"], ["methods.plabgan.alpha", "methods.ssgan.beta"], ["split.seed"]]
)
def test_varied_keys_must_name_one_methods_params(keys):
    with pytest.raises(MedsslError, match="--vary"):
        parse_varied_keys(keys)


def test_exp_show_files_from_two_commits_merge_into_one_table(tmp_path: Path):
    workspace, baseline = _exp_show()
    # An older commit's sweep, saved on another day, holds the same 50-label run again and a new
    # budget.
    older = {
        **_revision("old", 20, DEFAULT_PLABGAN, [0.3, 0.1]),
        "experiments": [{"revs": [_revision("a1-again", 50, DEFAULT_PLABGAN, [0.9, 0.7])]}],
    }
    current_file, older_file = tmp_path / "current.json", tmp_path / "older.json"
    current_file.write_text(json.dumps([workspace, baseline]))
    older_file.write_text(json.dumps([older]))
    merged = read_exp_shows([str(current_file), str(older_file)])
    cells = sweep_cells(method_runs(merged), "accuracy", reference_settings(merged))[
        ("pneumoniamnist", 28)
    ]
    assert sorted(cells["plabgan"]) == [10, 20, 50, 100]
    assert cells["plabgan"][20]["mean"] == pytest.approx(0.2)
    assert cells["plabgan"][50]["n"] == 2  # the run both files hold counts once


def test_stdin_named_twice_is_refused_before_reading():
    with pytest.raises(MedsslError, match=r"stdin \(-\) more than once"):
        read_exp_shows(["-", "-"])


def _open_set_revision(
    rev: str, known: list[int], unknown: list[int], method: str, gan_aucs: dict
) -> dict:
    extras = {key: {"mean": value, "std": 0.01} for key, value in gan_aucs.items()}
    extras["unknown_auc"] = {"mean": 0.7, "std": 0.02}
    metrics = {
        "dataset": "mnist",
        "image_size": 28,
        "labels_per_class": 5000,
        "split_seed": 0,
        "method": method,
        "per_seed": {"0": {"test_accuracy": 0.9}, "1": {"test_accuracy": 0.8}},
        "extras": extras,
    }
    params = {
        "split": {"labels_per_class": 5000, "known_classes": known, "unknown_classes": unknown},
        "methods": {method: {"iterations": 5}},
    }
    return {
        "rev": rev,
        "data": {
            "rev": rev,
            "params": {"params.yaml": {"data": params}},
            "metrics": {f"metrics/methods/{method}.json": {"data": metrics}},
        },
    }


def test_open_set_experiments_are_tables_of_their_own(tmp_path: Path):
    # Two MNIST experiments with other known classes: never pooled, and each gets its Table 1/2 row.
    first = _open_set_revision("e1", [8, 3], [9], "mcgan", {"auc_8_gan": 0.92, "auc_3_gan": 0.95})
    second = _open_set_revision("e2", [9, 4], [8], "mcgan", {"auc_9_gan": 0.81, "auc_4_gan": 0.83})
    exp_show = [{**first, "experiments": [{"revs": [second]}]}]
    runs = method_runs(exp_show)
    cells = sweep_cells(runs, "accuracy")
    assert set(cells) == {
        ("mnist (known 8, 3; unknown 9)", 28),
        ("mnist (known 9, 4; unknown 8)", 28),
    }
    assert cells[("mnist (known 8, 3; unknown 9)", 28)]["mcgan"][5000]["n"] == 2
    markdown = write_sweep(runs, ["accuracy"], tmp_path)
    table = (tmp_path / "open_set.md").read_text()
    assert (
        "| mnist (known 8, 3; unknown 9) | 5000 | mcgan | 0.920 ± 0.010 / 0.950 ± 0.010 | 0.700 ± "
        "0.020 | – | – "
        "| – | 2 |"
    ) in table
    assert (
        "| mnist (known 9, 4; unknown 8) | 5000 | mcgan | 0.810 ± 0.010 / 0.830 ± 0.010 |"
        in markdown
    )
    assert (tmp_path / "mnist_known_8_3_unknown_9_28px_accuracy.png").stat().st_size > 0


def test_a_budget_figure_draws_a_variant_only_where_its_method_has_no_default_row():
    # The open-set experiments ran only with iterations=500: without their variant rows the figure
    # was empty.
    labels = [
        "plabgan",
        "plabgan [alpha=0.1, beta=0.9]",
        "mcgan [iterations=500]",
        "anogan [iterations=500]",
    ]
    assert _figure_rows(labels) == {"plabgan", "mcgan [iterations=500]", "anogan [iterations=500]"}
