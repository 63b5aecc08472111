"""The evaluate_cluster stage: how right the cluster stage's pseudo-labels are, against the
unlabelled pool's true labels, with an embedding scatter and the distance distribution. Evaluation
only: the one stage besides split that reads ``data/hidden``.

  metrics/cluster.json, plots/cluster/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from medssl.core import plots
from medssl.core.io import read_npz, write_json
from medssl.core.metrics import budget_text
from medssl.data.prepared import (
    PseudoLabels,
    existing_file,
    load_dataset_info,
    load_hidden_unlabelled_labels,
    load_pseudo_labels,
)

MAX_SCATTER_POINTS = 3000
CLUSTER_FIGURES = ("embedding.png", "distance_to_centre.png")


def pseudo_label_report(
    pseudo_labels: PseudoLabels,
    hidden_labels: np.ndarray,
    label_names: tuple[str, ...],
    *,
    thresholds: tuple[float, ...] = (0.5, 0.7, 0.9),
) -> dict[str, object]:
    """Evaluation only: pseudo-label accuracy against the pool's true labels (unknowns skipped)."""
    known = hidden_labels >= 0
    truth, guess, confidence = (
        hidden_labels[known],
        pseudo_labels.labels[known],
        pseudo_labels.confidence[known],
    )
    correct = guess == truth
    report: dict[str, object] = {
        "pseudo_label_accuracy": _share(correct),
        "images": int(known.sum()),
        "per_class_accuracy": {
            name: float(correct[truth == k].mean()) if (truth == k).any() else None
            for k, name in enumerate(label_names)
        },
        "predicted_share": {name: _share(guess == k) for k, name in enumerate(label_names)},
    }
    report["at_confidence"] = {
        f"{threshold:g}": {
            "coverage": _share(confidence >= threshold),
            "accuracy": float(correct[confidence >= threshold].mean())
            if (confidence >= threshold).any()
            else None,
        }
        for threshold in thresholds
    }
    return report


def _share(mask: np.ndarray) -> float:
    """The fraction of True; undefined (NaN, written as null) for an empty pool."""
    return float(mask.mean()) if mask.size else float("nan")


def evaluate_pseudo_labels(
    *,
    prepared_dir: Path,
    features_path: Path,
    pseudo_labels_path: Path,
    hidden_dir: Path,
    metrics_path: Path,
    plots_dir: Path,
) -> dict[str, object]:
    """Evaluation only: the one stage besides split that opens the hidden labels."""
    info = load_dataset_info(prepared_dir)
    pseudo_labels = load_pseudo_labels(pseudo_labels_path)
    hidden = load_hidden_unlabelled_labels(hidden_dir)
    report = {
        "dataset": info.name,
        "image_size": info.image_size,
        "labels_per_class": info.labels_per_class,
        "split_seed": info.split_seed,
        **pseudo_label_report(pseudo_labels, hidden, info.label_names),
    }
    if len(hidden):
        features = read_npz(existing_file(features_path, "features"))
        _write_cluster_plots(info, features, pseudo_labels, hidden, plots_dir)
        summary = (
            f"pseudo-label accuracy {report['pseudo_label_accuracy']:.3f} over "
            f"{report['images']} unlabelled images"
        )
    else:
        summary = "no unlabelled pool: every training image is labelled"
        for figure in CLUSTER_FIGURES:
            plots.note_figure(plots_dir / figure, info.name, summary)
    write_json(metrics_path, report)
    print(summary)
    return report


def _write_cluster_plots(
    info: Any,
    features: dict[str, np.ndarray],
    pseudo_labels: Any,
    hidden: np.ndarray,
    plots_dir: Path,
) -> None:
    title = f"{info.name}, {budget_text(info.labels_per_class)}"
    # the space eq. 1 measures in
    scaled = features["unlabelled"] * np.sqrt(features["feature_weights"])
    rows = np.random.default_rng(0).permutation(len(scaled))[:MAX_SCATTER_POINTS]
    points = PCA(n_components=2, random_state=0).fit_transform(scaled[rows])
    plots.embedding_scatter_figure(
        points,
        pseudo_labels.labels[rows],
        hidden[rows],
        label_names=info.label_names,
        path=plots_dir / CLUSTER_FIGURES[0],
        title=f"unlabelled pool in ResNet-20 feature space, {title}",
    )
    known = hidden >= 0
    plots.distance_distribution_figure(
        pseudo_labels.distance[known],
        (pseudo_labels.labels == hidden)[known],
        plots_dir / CLUSTER_FIGURES[1],
        title=title,
    )
