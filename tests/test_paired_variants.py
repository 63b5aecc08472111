"""benchmarks/paired_variants.py: pairs two variants' runs by dataset and draw, and states each
mean gain with the same t-interval as the results page's paired differences."""

from __future__ import annotations

import pytest

from conftest import load_script

paired_variants = load_script("benchmarks/paired_variants.py")


def _run(dataset: str, draw: int, balanced_accuracy: float) -> dict[str, object]:
    return {
        "dataset": dataset,
        "draw": draw,
        "kept_balanced_accuracy": balanced_accuracy,
        "kept_auc": balanced_accuracy + 0.1,
    }


def test_gains_are_paired_by_dataset_and_draw_with_a_t_interval():
    before = [_run("breastmnist", d, 0.70) for d in range(3)] + [_run("pneumoniamnist", 0, 0.8)]
    after = [_run("breastmnist", d, 0.70 + x) for d, x in enumerate((0.04, 0.05, 0.06))]
    after.append(_run("retinamnist", 0, 0.9))  # no --before run of this dataset: left out
    summary = paired_variants.summarise(before, after, ("short", "long"))
    assert [(p["dataset"], p["draw"]) for p in summary["pairs"]] == [
        ("breastmnist", 0),
        ("breastmnist", 1),
        ("breastmnist", 2),
    ]
    gain = summary["gains"]["breastmnist"]["balanced_accuracy"]
    half = 4.302653 * 0.01 / 3**0.5  # t(0.975, 2) * sd / sqrt(3), as the page's interval
    assert gain["n"] == 3 and gain["mean"] == pytest.approx(0.05)
    assert (gain["low"], gain["high"]) == (
        pytest.approx(0.05 - half, abs=1e-6),
        pytest.approx(0.05 + half, abs=1e-6),
    )
    assert summary["gains"]["all"]["auc"]["mean"] == pytest.approx(0.05)


def test_a_single_pair_has_a_gain_and_no_interval():
    summary = paired_variants.summarise(
        [_run("breastmnist", 0, 0.7)], [_run("breastmnist", 0, 0.75)], ("a", "b")
    )
    gain = summary["gains"]["all"]["balanced_accuracy"]
    assert gain["n"] == 1 and gain["mean"] == pytest.approx(0.05)
    assert gain["low"] is None and gain["high"] is None
