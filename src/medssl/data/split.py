"""The labelled-budget split: N labelled images per class from the official train split, the rest
of train as the unlabelled pool, official val and test untouched.

Labelled indices are drawn once per (budget, seed) and saved; nothing re-samples them later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medssl.data.images import LabelledImages, RawDataset
from medssl.errors import SplitError

# Hidden label of an unlabelled image whose true class nobody knows (a user's unlabelled/ folder).
UNKNOWN_LABEL = -1


@dataclass(frozen=True)
class SplitConfig:
    labels_per_class: int = 10
    seed: int = 0


@dataclass(frozen=True)
class Split:
    labelled: LabelledImages
    labelled_source_index: np.ndarray  # rows of the official train split
    unlabelled_images: np.ndarray
    unlabelled_source_index: np.ndarray  # rows of train; rows past its end are extra unlabelled images
    unlabelled_hidden_labels: np.ndarray  # evaluation only; UNKNOWN_LABEL where no label exists
    val: LabelledImages
    test: LabelledImages


def labelled_indices(labels: np.ndarray, label_names: tuple[str, ...], labels_per_class: int,
                     seed: int) -> np.ndarray:
    """Sorted rows holding ``labels_per_class`` images of every class, drawn with ``seed``."""
    if labels_per_class < 1:
        raise SplitError(f"split.labels_per_class must be at least 1, got {labels_per_class}")
    rng = np.random.default_rng(seed)
    chosen = []
    for label, name in enumerate(label_names):
        rows = np.flatnonzero(labels == label)
        if len(rows) < labels_per_class:
            raise SplitError(
                f"class '{name}' has {len(rows)} images in the train split but split.labels_per_class is "
                f"{labels_per_class}; lower it to at most {len(rows)}"
            )
        chosen.append(rng.choice(rows, size=labels_per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def make_split(raw: RawDataset, config: SplitConfig) -> Split:
    train = raw.train
    labelled_rows = labelled_indices(train.labels, raw.label_names, config.labels_per_class, config.seed)
    unlabelled_rows = np.setdiff1d(np.arange(len(train)), labelled_rows)
    extra_rows = len(train) + np.arange(len(raw.extra_unlabelled))
    return Split(
        labelled=LabelledImages(train.images[labelled_rows], train.labels[labelled_rows]),
        labelled_source_index=labelled_rows,
        unlabelled_images=np.concatenate([train.images[unlabelled_rows], raw.extra_unlabelled]),
        unlabelled_source_index=np.concatenate([unlabelled_rows, extra_rows]),
        unlabelled_hidden_labels=np.concatenate(
            [train.labels[unlabelled_rows], np.full(len(extra_rows), UNKNOWN_LABEL, dtype=np.int64)]),
        val=raw.val,
        test=raw.test,
    )
