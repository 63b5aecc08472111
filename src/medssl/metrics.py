"""Classification metrics, ROC curves and mean ± std over seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score, roc_curve

SELECTION_METRICS = ("accuracy", "balanced_accuracy", "auc")
# The metrics every table reports, in this order.
HEADLINE_METRICS = ("accuracy", "balanced_accuracy", "auc")
# Mean ROC curves are averaged on this false-positive-rate grid (vertical averaging, Fawcett 2006).
FPR_GRID = np.linspace(0.0, 1.0, 101)


def macro_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Binary: AUC of the positive class. Multi-class: macro average of one-vs-rest AUCs."""
    num_classes = probabilities.shape[1]
    if num_classes == 2:
        return float(roc_auc_score(labels, probabilities[:, 1]))
    return float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro",
                               labels=np.arange(num_classes)))


def per_class_accuracy(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """The recall of each class; NaN for a class absent from ``labels``."""
    accuracy = np.full(num_classes, np.nan)
    for label in range(num_classes):
        rows = labels == label
        if rows.any():
            accuracy[label] = float(np.mean(predictions[rows] == label))
    return accuracy


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, object]:
    predictions = probabilities.argmax(axis=1)
    num_classes = probabilities.shape[1]
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predictions)),
        "auc": macro_auc(labels, probabilities),
        "per_class_accuracy": per_class_accuracy(labels, predictions, num_classes).tolist(),
        "confusion": confusion_matrix(labels, predictions, labels=np.arange(num_classes)).tolist(),
    }


def selection_score(metric: str, labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The validation score used to pick the best checkpoint (higher is better)."""
    if metric == "accuracy":
        return float(np.mean(probabilities.argmax(axis=1) == labels))
    if metric == "balanced_accuracy":
        return float(balanced_accuracy_score(labels, probabilities.argmax(axis=1)))
    if metric == "auc":
        return macro_auc(labels, probabilities)
    raise ValueError(f"unknown selection metric '{metric}'; use one of {', '.join(SELECTION_METRICS)}")


def one_vs_rest_tpr(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(K, len(FPR_GRID)) true-positive rates of each class's one-vs-rest ROC on the shared FPR grid."""
    curves = []
    for label in range(probabilities.shape[1]):
        fpr, tpr, _ = roc_curve(labels == label, probabilities[:, label])
        curve = np.interp(FPR_GRID, fpr, tpr)
        curve[0] = 0.0
        curves.append(curve)
    return np.stack(curves)


def one_vs_rest_auc(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(K,) AUC of each class against the rest."""
    return np.array([roc_auc_score(labels == k, probabilities[:, k]) for k in range(probabilities.shape[1])])


def mean_and_std(values: Sequence[float]) -> dict[str, float]:
    """Sample standard deviation (ddof=1) over seeds; 0 for a single seed."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}
