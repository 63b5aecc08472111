import json

import numpy as np
import pytest

from medssl.core.io import write_json
from medssl.core.metrics import (
    classification_metrics,
    evenly_spaced_steps,
    frechet_distance,
    mean_and_std,
    one_vs_rest_tpr,
    selection_key,
    validation_metrics,
)
from medssl.pipeline.evaluate import undefined_metrics


def test_binary_metrics_match_hand_computed_values():
    labels = np.array([0, 0, 1, 1])
    # positive-class scores 0.1, 0.6, 0.4, 0.9: predictions 0, 1, 0, 1
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]])
    metrics = classification_metrics(labels, probabilities)
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert metrics["balanced_accuracy"] == pytest.approx(0.5)
    # pairs (neg, pos): (0.1,0.4) (0.1,0.9) (0.6,0.4) (0.6,0.9) -> 3 of 4 ranked right
    assert metrics["auc"] == pytest.approx(0.75)
    assert metrics["per_class_accuracy"] == [0.5, 0.5]
    assert metrics["confusion"] == [[1, 1], [1, 1]]


def test_multiclass_balanced_accuracy_and_macro_auc():
    labels = np.array([0, 0, 0, 1, 2])
    probabilities = np.eye(3)[[0, 0, 1, 1, 2]] * 0.7 + 0.1
    metrics = classification_metrics(labels, probabilities)
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert metrics["per_class_accuracy"] == pytest.approx([2 / 3, 1.0, 1.0])
    # One-vs-rest AUCs by counting (positive, negative) pairs, ties counted half:
    # class 0: 4 wins + 2 ties of 6 = 5/6; class 1: 3 wins + 1 tie of 4 = 7/8; class 2: 1.
    assert metrics["auc"] == pytest.approx((5 / 6 + 7 / 8 + 1) / 3)


def test_selection_key_rejects_an_unknown_rule():
    with pytest.raises(ValueError, match="unknown selection rule 'f1'"):
        selection_key("f1", validation_metrics(np.array([0, 1]), np.eye(2)))


def test_the_default_rule_breaks_an_auc_tie_by_log_loss():
    labels = np.array([0, 0, 1, 1])
    confident = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    hesitant = np.array([[0.6, 0.4], [0.55, 0.45], [0.45, 0.55], [0.4, 0.6]])
    ranked_wrong = np.array([[0.9, 0.1], [0.05, 0.95], [0.2, 0.8], [0.1, 0.9]])  # AUC 0.5
    scores = {
        name: validation_metrics(labels, probabilities)
        for name, probabilities in [
            ("confident", confident),
            ("hesitant", hesitant),
            ("ranked_wrong", ranked_wrong),
        ]
    }
    assert scores["confident"]["val_auc"] == scores["hesitant"]["val_auc"] == 1.0
    keys = {name: selection_key("auc_then_log_loss", value) for name, value in scores.items()}
    assert keys["confident"] > keys["hesitant"] > keys["ranked_wrong"]
    # Accuracy alone cannot tell the first two apart.
    assert selection_key("accuracy", scores["confident"]) == selection_key(
        "accuracy", scores["hesitant"]
    )


@pytest.mark.parametrize(
    ("first", "last", "count", "expected"),
    [
        (0, 3000, 20, list(range(150, 3001, 150))),
        (2000, 4000, 4, [2500, 3000, 3500, 4000]),
        (0, 3, 20, [1, 2, 3]),  # never more points than steps
        (0, 10, 3, [3, 7, 10]),
    ],
)
def test_validation_points_are_evenly_spaced_and_end_at_the_last_step(first, last, count, expected):
    assert evenly_spaced_steps(first=first, last=last, count=count) == expected


def test_roc_curve_of_a_perfect_classifier_is_a_step():
    labels = np.array([0, 1, 0, 1])
    tpr = one_vs_rest_tpr(labels, np.eye(2)[labels])
    assert tpr.shape == (2, 101)
    assert tpr[:, 0].tolist() == [0.0, 0.0] and np.all(tpr[:, 1:] == 1.0)


def test_mean_and_sample_std():
    assert mean_and_std([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0}
    assert mean_and_std([0.5]) == {"mean": 0.5, "std": 0.0}


def test_frechet_distance_of_gaussians_by_hand():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(4000, 3))
    assert frechet_distance(points, points) == pytest.approx(0.0, abs=1e-9)
    # Same covariance, mean shifted by (1, 2, 2): the distance is |shift|^2 = 9 (up to sampling
    # noise).
    assert frechet_distance(points, points + np.array([1.0, 2.0, 2.0])) == pytest.approx(
        9.0, abs=1e-6
    )
    # Scaling by 2 on one axis: (1 - 2)^2 = 1 from the covariance term.
    assert frechet_distance(points, points * np.array([2.0, 1.0, 1.0])) == pytest.approx(
        1.0, rel=0.05
    )


def test_an_undefined_metric_is_written_as_null_and_its_reason_said(tmp_path):
    """A split without a class has no AUC: the JSON holds null (it has no NaN), and why."""
    labels = np.array([0, 0, 1, 1])
    reasons = undefined_metrics(["normal", "pneumonia", "other"], {"test": labels, "val": labels})
    assert reasons["test.auc"] == "the test split has no image of class other"
    assert set(reasons) == {
        "test.auc", "test_per_class_accuracy.other", "val.auc", "val_per_class_accuracy.other"
    }  # fmt: skip
    path = tmp_path / "metrics.json"
    write_json(path, {"auc": float("nan"), "per_class": np.array([0.5, np.nan]), "n": 3})
    text = path.read_text()
    assert "NaN" not in text
    assert json.loads(text) == {"auc": None, "per_class": [0.5, None], "n": 3}
