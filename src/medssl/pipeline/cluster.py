"""The cluster stage: pseudo-labels for the unlabelled pool from the ResNet-20 features.

1. Class centres are the mean features of the labelled images of each class (PLAB-GAN Sec. 2.1).
2. Every unlabelled image takes the label of the nearest centre under eq. 1's weighted distance
   (the feature weights learnt by the features stage).
3. k-means refinement over the pool: Lloyd iterations that start from those centres and keep the
   labelled images fixed to their classes (the "constrained k-means" of Basu, Banerjee & Mooney
   2002), so cluster k stays class k. ``cluster.kmeans_iterations: 0`` keeps step 2's labels.

Confidence is softmax(-distance / temperature) at the chosen class: with temperature 1 it is the
probability the features network itself would give with these centres.

Nothing here reads the pool's true labels; the evaluate_cluster stage (``cluster_report.py``) does.

  data/pseudo_labels/pseudo_labels.npz   labels, confidence and distance for the unlabelled pool
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import softmax

from medssl.core.config import NonNegativeInt, PositiveFloat
from medssl.core.io import read_npz
from medssl.data.prepared import (
    LABELLED_FILE,
    PseudoLabels,
    existing_file,
    load_dataset_info,
    load_labelled_set,
    write_pseudo_labels,
)

PSEUDO_LABELS_FILE = "pseudo_labels.npz"


@dataclass(frozen=True)
class ClusterConfig:
    kmeans_iterations: NonNegativeInt  # 0 keeps step 2's labels
    temperature: PositiveFloat


def weighted_squared_distances(
    features: np.ndarray, centres: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """(N, K) sum_d w_d (f_nd - c_kd)^2, via the expansion |a|^2 - 2ab + |b|^2 to stay O(N K D)."""
    scaled_features, scaled_centres = features * np.sqrt(weights), centres * np.sqrt(weights)
    distances = (
        (scaled_features**2).sum(1)[:, None]
        - 2 * scaled_features @ scaled_centres.T
        + (scaled_centres**2).sum(1)[None, :]
    )
    return np.maximum(distances, 0.0)


def class_centres(features: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.stack([features[labels == label].mean(axis=0) for label in range(num_classes)])


def assign_pseudo_labels(
    labelled_features: np.ndarray,
    labelled_labels: np.ndarray,
    unlabelled_features: np.ndarray,
    *,
    feature_weights: np.ndarray,
    num_classes: int,
    config: ClusterConfig,
) -> tuple[PseudoLabels, np.ndarray]:
    """Pseudo-labels for the pool and the final class centres."""
    centres = class_centres(labelled_features, labelled_labels, num_classes)
    assigned = weighted_squared_distances(unlabelled_features, centres, feature_weights).argmin(
        axis=1
    )
    for _ in range(config.kmeans_iterations):
        centres = _constrained_centres(
            labelled_features, labelled_labels, unlabelled_features, assigned, centres
        )
        reassigned = weighted_squared_distances(
            unlabelled_features, centres, feature_weights
        ).argmin(axis=1)
        if np.array_equal(reassigned, assigned):
            break
        assigned = reassigned
    distances = weighted_squared_distances(unlabelled_features, centres, feature_weights)
    probabilities = softmax(-distances / config.temperature, axis=1)
    rows = np.arange(len(assigned))
    return PseudoLabels(
        assigned.astype(np.int64), probabilities[rows, assigned], distances[rows, assigned]
    ), centres


def _constrained_centres(
    labelled_features: np.ndarray,
    labelled_labels: np.ndarray,
    unlabelled_features: np.ndarray,
    assigned: np.ndarray,
    previous: np.ndarray,
) -> np.ndarray:
    centres = previous.copy()
    for label in range(len(previous)):
        members = np.concatenate(
            [labelled_features[labelled_labels == label], unlabelled_features[assigned == label]]
        )
        centres[label] = members.mean(axis=0)  # never empty: every class has labelled images
    return centres


def make_pseudo_labels(
    config: ClusterConfig, *, prepared_dir: Path, features_path: Path, out_dir: Path
) -> None:
    """Pseudo-labels for the pool from the features stage's embeddings (``features_path``)."""
    info = load_dataset_info(prepared_dir)
    features = read_npz(existing_file(features_path, "features"))
    labelled = load_labelled_set(prepared_dir / LABELLED_FILE)
    pseudo_labels, _ = assign_pseudo_labels(
        features["labelled"],
        labelled.labels,
        features["unlabelled"],
        feature_weights=features["feature_weights"],
        num_classes=info.num_classes,
        config=config,
    )
    write_pseudo_labels(out_dir / PSEUDO_LABELS_FILE, pseudo_labels)
    if not len(pseudo_labels.labels):
        print("pseudo-labels: none, every training image is labelled")
        return
    shares = np.bincount(pseudo_labels.labels, minlength=info.num_classes) / len(
        pseudo_labels.labels
    )
    print(
        "pseudo-labels: "
        + ", ".join(
            f"{name} {share:.1%}" for name, share in zip(info.label_names, shares, strict=True)
        )
    )
