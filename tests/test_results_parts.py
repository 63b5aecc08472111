"""The results package's small parts, each on its own: the markdown table, how cells and
differences are written, ranks, and the `results` settings' validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO_ROOT, data_config
from medssl.core.errors import ConfigError
from medssl.data.sources import acquire, load_raw
from medssl.results.budget_tables import power_sentence
from medssl.results.headline import majority_scores
from medssl.results.settings import load_results_config
from medssl.results.stats import (
    Cell,
    PairedDifference,
    detectable_difference,
    holm,
    kendall_tau,
    ranks,
)
from medssl.results.tables import (
    OLDER,
    cell_text,
    difference_text,
    headline_cell_text,
    markdown_table,
)


def test_a_markdown_table_has_a_separator_per_column_and_a_line_per_row():
    lines = markdown_table(["method", "10 / class"], [["ssgan", "80.0"], ["pca_svm", "–"]])
    assert lines == [
        "| method | 10 / class |",
        "|---|---|",
        "| ssgan | 80.0 |",
        "| pca_svm | – |",
    ]
    assert markdown_table(["a"], []) == ["| a |", "|---|"]


def test_cells_are_written_in_points_or_auc_units_and_marked_when_older():
    cell = Cell(mean=0.8123, std=0.0204, n=9, draws=3, older=False)
    assert cell_text(cell, "accuracy") == "81.2 ± 2.0 (d=3, n=9)"
    assert cell_text(cell, "auc") == "0.812 ± 0.020 (d=3, n=9)"
    older = Cell(mean=0.8123, std=0.0204, n=9, draws=3, older=True)
    assert cell_text(older, "accuracy").endswith(OLDER)
    assert headline_cell_text(older, "balanced_accuracy") == f"81.2 ± 2.0 (d=3){OLDER}"
    assert headline_cell_text(older, "auc") == f"0.812 ± 0.020 (d=3){OLDER}"


def test_a_difference_shows_its_interval_only_with_two_draws_or_more():
    three = PairedDifference(0.029, 0.025, 0.034, draws=3, wins=3, ties=0, losses=0)
    assert difference_text(three, "accuracy") == "+2.9 [+2.5, +3.4]"
    assert difference_text(three, "auc") == "+0.029 [+0.025, +0.034]"
    one = PairedDifference(-0.01, math.nan, math.nan, draws=1, wins=0, ties=0, losses=1)
    assert difference_text(one, "accuracy") == "-1.0"


def test_holm_scales_the_ith_smallest_p_by_m_minus_i_and_keeps_the_order():
    # m = 4: 0.01 x 4, then max(0.04, 0.02 x 3), then 0.03 x 2 -> kept at 0.06, then 0.5 x 1
    assert holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 0.8 x 2 capped at 1, then monotone
    adjusted = holm([math.nan, 0.01])  # one draw: no p, not counted in the family
    assert math.isnan(adjusted[0]) and adjusted[1] == pytest.approx(0.01)


def test_the_majority_guess_scores_chance_in_balanced_accuracy_and_auc():
    breast = next(d for d in load_results_config(REPO_ROOT / "params.yaml").headline.datasets
                  if d.name == "breastmnist")  # fmt: skip
    scores = majority_scores(breast)
    assert scores["accuracy"] == pytest.approx(114 / 156)  # 73.1 %: 'benign' every time
    assert (scores["balanced_accuracy"], scores["auc"]) == (0.5, 0.5)


def test_ranks_break_ties_by_label_and_tau_measures_agreement():
    cells = {
        label: Cell(mean, 0.0, 1, 1, False) for label, mean in (("b", 0.7), ("a", 0.7), ("c", 0.9))
    }
    assert ranks(cells) == {"c": 1, "a": 2, "b": 3}
    assert kendall_tau([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


SETTINGS_PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["results"]


def test_the_committed_results_settings_load():
    settings = load_results_config(REPO_ROOT / "params.yaml")
    assert settings.reference_method == "supervised_cnn"
    assert [d.name for d in settings.headline.datasets] == ["pneumoniamnist", "breastmnist"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reference_method": "supervised"}, "results.reference_method: 'supervised' is not a"),
        ({"current_practice": ["fixmatch", "noisy_student"]}, "'noisy_student' is not a method"),
        ({"patch_dataset": "idrd"}, "results.patch_dataset: 'idrd' is not known"),
        (
            {"ablations": [{"method": "plabgan", "params": ["alpha", "gamma"]}]},
            "results.ablations: plabgan has no param",
        ),
        ({"headline": {"datasets": [], "budgets": [10], "image_size": 28}}, "datasets: empty"),
        ({"headline_budgets": [10]}, "results: unknown key"),
        ({"reference_params": {"flip": True, "mixup": 0.2}}, "supervised_cnn has no param"),
        ({"reference_params": ["flip"]}, "results.reference_params: expected a mapping"),
        (
            {"headline": {**SETTINGS_PARAMS["headline"], "draws": [10]}},
            "results.headline.draws has 1 values; it needs one per budget",
        ),
    ],
)
def test_a_wrong_results_setting_is_one_line_naming_it(tmp_path: Path, change, message):
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["results"].update(change)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError, match=message) as error:
        load_results_config(tmp_path / "params.yaml")
    assert "\n" not in str(error.value)


@pytest.mark.integration
def test_the_headline_class_counts_are_the_official_splits(tmp_path: Path, data_mirror: str):
    """params.yaml's train and test class counts, which the majority row and the stated test sets
    rest on, are those of the real files (through the download code path)."""
    for dataset in load_results_config(REPO_ROOT / "params.yaml").headline.datasets:
        config = data_config(name=dataset.name, image_size=28, mirror=data_mirror)
        acquire(config, tmp_path / dataset.name)
        raw = load_raw(config, tmp_path / dataset.name)
        assert tuple(np.bincount(raw.train.labels)) == dataset.train_class_counts
        assert tuple(np.bincount(raw.test.labels)) == dataset.test_class_counts


def test_the_detectable_difference_is_the_paired_t_tests_power_by_the_noncentral_t():
    # G*Power's paired t-test: 10 pairs, two-sided 5 %, power 0.8 -> effect size dz = 0.9959
    assert detectable_difference(2.0, 10, alpha=0.05) == pytest.approx(2 * 0.9959, abs=2e-3)
    # fewer draws and a stricter level need a larger difference
    assert detectable_difference(1.0, 5, alpha=0.05) > detectable_difference(1.0, 10, alpha=0.05)
    assert detectable_difference(1.0, 10, alpha=0.05 / 72) > detectable_difference(
        1.0, 10, alpha=0.05
    )
    assert math.isnan(detectable_difference(1.0, 1, alpha=0.05))
    assert math.isnan(detectable_difference(0.0, 10, alpha=0.05))


def test_the_power_line_reads_no_claim_as_no_difference_larger_than_x():
    spread = [
        PairedDifference(0.01, -0.02, 0.04, 10, 6, 0, 4, 0.4, sd=0.03),
        PairedDifference(-0.01, -0.05, 0.03, 10, 4, 0, 6, 0.5, sd=0.05),
    ]
    line = power_sentence(spread, baseline="cnn", budget=10, family_size=4)
    strict = detectable_difference(0.04, 10, alpha=0.05 / 4)
    assert (
        "over 10 draws, with the median std of the per-draw differences to cnn (4.0 points)" in line
    )
    assert f"no difference of {100 * strict:.1f} points or more" in line
    # a side row with fewer draws does not set the draws: most comparisons have 10
    three = PairedDifference(0.01, -0.1, 0.12, 3, 2, 0, 1, 0.6, sd=0.05)
    mixed = power_sentence([*spread, spread[0], three], baseline="cnn", budget=10, family_size=4)
    assert "over 10 draws (3 of its 4 comparisons have that many; fewer draws have less" in mixed
    assert "to cnn (3.0 points)" in mixed  # the median std of the three 10-draw comparisons
    hopeless = power_sentence([three], baseline="cnn", budget=10, family_size=72)
    assert "No difference balanced accuracy can take is that large" in hopeless
    assert (
        power_sentence(
            [PairedDifference(0.01, math.nan, math.nan, 1, 1, 0, 0)],
            baseline="cnn",
            budget=10,
            family_size=4,
        )
        == ""
    )
