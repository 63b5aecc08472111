"""A development split: labelled images drawn from the unlabelled pool, for judging a method change
or an iteration budget without the test split.

The pool's labels are the split stage's hidden file (``data/hidden``), which no training reads.
Benchmarks that decide something (a budget, a fix) draw ``per_class`` pool images of each class with
their hidden labels and train on the pool without them, so the development images are neither
labelled nor unlabelled training data; the pseudo-labels of the removed images go with them. The
pseudo-labels themselves were computed with those images in the pool: their labels never entered.
No stage imports this module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from medssl.data.images import LabelledImages
from medssl.data.prepared import HIDDEN_LABELS_FILE, PseudoLabels, TrainData


def hidden_pool_labels(workspace: Path) -> np.ndarray:
    """The unlabelled pool's true labels, in pool order, from a workspace's ``data/hidden``."""
    return np.load(workspace / "data" / "hidden" / HIDDEN_LABELS_FILE)["labels"]


def development_split(
    data: TrainData, hidden_labels: np.ndarray, *, per_class: int, seed: int = 0
) -> tuple[TrainData, LabelledImages]:
    """``per_class`` pool images of each class with their hidden labels, and the training data
    without them (pool and pseudo-labels alike)."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(data.num_classes):
        rows = np.flatnonzero(hidden_labels == label)
        if len(rows) < per_class:
            raise ValueError(
                f"the pool has {len(rows)} images of class {data.info.label_names[label]}; "
                f"a development split of {per_class} per class needs more"
            )
        chosen.append(rng.choice(rows, size=per_class, replace=False))
    development_rows = np.sort(np.concatenate(chosen))
    kept = np.setdiff1d(np.arange(len(data.unlabelled_x)), development_rows)
    pseudo = data.pseudo_labels
    if pseudo is not None:
        pseudo = PseudoLabels(pseudo.labels[kept], pseudo.confidence[kept], pseudo.distance[kept])
    training = dataclasses.replace(data, unlabelled_x=data.unlabelled_x[kept], pseudo_labels=pseudo)
    development = LabelledImages(
        data.unlabelled_x[development_rows], hidden_labels[development_rows].astype(np.int64)
    )
    return training, development
