"""Classification metrics, ROC curves and mean ± std over seeds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    log_loss,
    roc_auc_score,
    roc_curve,
)

from medssl.core.config import EVERY_IMAGE_LABELLED

# The metrics every table reports, in this order, and how a table names them.
HEADLINE_METRICS = ("accuracy", "balanced_accuracy", "auc")
METRIC_LABELS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "auc": "macro AUC",
}
# What a validation point records, and the rules that choose a checkpoint from them: each rule is
# the metrics it compares, in order (later ones break ties), with the sign that makes higher better.
VALIDATION_METRICS = (*HEADLINE_METRICS, "log_loss")
SELECTION_RULES: dict[str, tuple[tuple[str, float], ...]] = {
    # The default (docs/pipeline.md, "Choosing a checkpoint"): AUC moves in steps of 1/(n_0 n_1)
    # and is blind to the class prior; the log-loss, continuous, breaks its ties (e.g. at 1.0).
    "auc_then_log_loss": (("auc", 1.0), ("log_loss", -1.0)),
    "accuracy": (("accuracy", 1.0),),
    "balanced_accuracy": (("balanced_accuracy", 1.0),),
    "auc": (("auc", 1.0),),
    "log_loss": (("log_loss", -1.0),),
}
# Mean ROC curves are averaged on this false-positive-rate grid (vertical averaging, Fawcett 2006).
FPR_GRID = np.linspace(0.0, 1.0, 101)


def format_score(score: Mapping[str, float], metric: str) -> str:
    """Accuracies as percentages, AUC as a fraction, like the papers' tables."""
    if metric == "auc":
        return f"{score['mean']:.3f} ± {score['std']:.3f}"
    return f"{100 * score['mean']:.1f} ± {100 * score['std']:.1f}"


def macro_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Binary: AUC of the positive class. Multi-class: macro average of one-vs-rest AUCs."""
    num_classes = probabilities.shape[1]
    if num_classes == 2:
        return float(roc_auc_score(labels, probabilities[:, 1]))
    return float(
        roc_auc_score(
            labels, probabilities, multi_class="ovr", average="macro", labels=np.arange(num_classes)
        )
    )


def per_class_accuracy(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """The recall of each class; NaN for a class absent from ``labels``."""
    accuracy = np.full(num_classes, np.nan)
    for label in range(num_classes):
        rows = labels == label
        if rows.any():
            accuracy[label] = float(np.mean(predictions[rows] == label))
    return accuracy


def headline_scores(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro AUC (``HEADLINE_METRICS``)."""
    predictions = probabilities.argmax(axis=1)
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predictions)),
        "auc": macro_auc(labels, probabilities),
    }


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, object]:
    predictions = probabilities.argmax(axis=1)
    num_classes = probabilities.shape[1]
    return {
        **headline_scores(labels, probabilities),
        "per_class_accuracy": per_class_accuracy(labels, predictions, num_classes).tolist(),
        "confusion": confusion_matrix(labels, predictions, labels=np.arange(num_classes)).tolist(),
    }


def validation_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Every metric a validation point records, keyed ``val_<metric>``."""
    num_classes = probabilities.shape[1]
    return {
        **{f"val_{name}": value for name, value in headline_scores(labels, probabilities).items()},
        # renormalised: float32 softmax rows sum to 1 only to ~1e-7, which sklearn warns about
        "val_log_loss": float(
            log_loss(
                labels,
                probabilities / probabilities.sum(axis=1, keepdims=True),
                labels=np.arange(num_classes),
            )
        ),
    }


def selection_key(rule: str, metrics: Mapping[str, float]) -> tuple[float, ...]:
    """What rule ``rule`` compares between two validation points (``validation_metrics``):
    lexicographically, higher is better."""
    if rule not in SELECTION_RULES:
        raise ValueError(
            f"unknown selection rule '{rule}'; use one of {', '.join(SELECTION_RULES)}"
        )
    return tuple(sign * metrics[f"val_{name}"] for name, sign in SELECTION_RULES[rule])


def evenly_spaced_steps(*, first: int, last: int, count: int) -> list[int]:
    """``count`` steps evenly spaced over (first, last], the last one included: where a step loop
    validates, so that every method chooses from the same number of checkpoints."""
    count = max(1, min(count, last - first))
    return sorted({first + round((last - first) * k / count) for k in range(1, count + 1)})


def one_vs_rest_tpr(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(K, len(FPR_GRID)) true-positive rates of each class's one-vs-rest ROC on the shared FPR
    grid."""
    curves = []
    for label in range(probabilities.shape[1]):
        fpr, tpr, _ = roc_curve(labels == label, probabilities[:, label])
        curve = np.interp(FPR_GRID, fpr, tpr)
        curve[0] = 0.0
        curves.append(curve)
    return np.stack(curves)


def one_vs_rest_auc(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(K,) AUC of each class against the rest."""
    return np.array(
        [roc_auc_score(labels == k, probabilities[:, k]) for k in range(probabilities.shape[1])]
    )


def mean_and_std(values: Sequence[float]) -> dict[str, float]:
    """Sample standard deviation (ddof=1) over seeds; 0 for a single seed."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}


def binary_auc(is_positive: np.ndarray, score: np.ndarray) -> float:
    """AUC of ``score`` (higher = positive) for a boolean target; NaN when one side is empty."""
    is_positive = np.asarray(is_positive, dtype=bool)
    if is_positive.all() or not is_positive.any():
        return float("nan")
    return float(roc_auc_score(is_positive, score))


def best_threshold(is_positive: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy): the cut ``score >= threshold`` -> positive with the highest accuracy,
    halfway between neighbouring scores (ties: the lowest such threshold)."""
    order = np.sort(np.unique(score))
    candidates = np.concatenate([[order[0] - 1.0], (order[1:] + order[:-1]) / 2, [order[-1] + 1.0]])
    accuracies = [np.mean((score >= cut) == is_positive) for cut in candidates]
    best = int(np.argmax(accuracies))
    return float(candidates[best]), float(accuracies[best])


def frechet_distance(first: np.ndarray, second: np.ndarray) -> float:
    """|mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)) between two sets of feature vectors
    (rows): the formula of the Fréchet Inception Distance (Heusel et al. 2017), in whatever feature
    space the rows come from. Name the space when reporting it: in another space it is not the FID.
    """
    from scipy import linalg

    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    mean_difference = first.mean(axis=0) - second.mean(axis=0)
    covariance_first, covariance_second = np.cov(first, rowvar=False), np.cov(second, rowvar=False)
    root = linalg.sqrtm(covariance_first @ covariance_second)
    root = np.real(root)  # tiny imaginary parts are numerical noise
    return float(
        mean_difference @ mean_difference
        + np.trace(covariance_first + covariance_second - 2 * root)
    )


def metric_slug(name: str) -> str:
    """A class name as it appears in metric keys (e.g. MCGAN's ``auc_<slug>_gan``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def budget_text(labels_per_class: int) -> str:
    """A labelled budget in titles: "10 labelled images per class", or, for EVERY_IMAGE_LABELLED,
    "every training image labelled"."""
    if labels_per_class == EVERY_IMAGE_LABELLED:
        return "every training image labelled"
    return f"{labels_per_class} labelled images per class"


def budget_heading(labels_per_class: int) -> str:
    """A labelled budget as a table column: "10 / class", or "all labelled" for every image."""
    return (
        "all labelled"
        if labels_per_class == EVERY_IMAGE_LABELLED
        else f"{labels_per_class} / class"
    )


def budget_order(labels_per_class: int) -> tuple[bool, int]:
    """Sort key that puts the every-image-labelled budget after every finite one."""
    return labels_per_class == EVERY_IMAGE_LABELLED, labels_per_class
