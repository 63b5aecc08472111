"""In-memory image sets. Images are uint8 (N, C, H, W) everywhere on disk and between stages;
they become float tensors in [-1, 1] only inside training and prediction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabelledImages:
    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray  # int64 (N,)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise ValueError(
                f"images must be uint8 (N, C, H, W), got {self.images.dtype} {self.images.shape}"
            )
        if self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},), got {self.labels.shape}"
            )

    def __len__(self) -> int:
        return len(self.labels)


def balanced_subset(
    images: LabelledImages, per_class: int, seed: int | Sequence[int]
) -> LabelledImages:
    """At most ``per_class`` images of each class, seeded, in their original order (the MCGAN paper
    balances its test sets this way)."""
    if not len(images):
        return images
    rng = np.random.default_rng(seed)
    rows = np.sort(
        np.concatenate(
            [
                rng.choice(
                    np.flatnonzero(images.labels == label),
                    size=min(per_class, int((images.labels == label).sum())),
                    replace=False,
                )
                for label in np.unique(images.labels)
            ]
        )
    )
    return LabelledImages(images.images[rows], images.labels[rows])


@dataclass(frozen=True)
class RawDataset:
    """A dataset as published: official train / val / test, plus unlabelled images a user brings."""

    name: str
    task: str
    label_names: tuple[str, ...]
    train: LabelledImages
    val: LabelledImages
    test: LabelledImages
    extra_unlabelled: np.ndarray  # uint8 (M, C, H, W); M may be 0

    @property
    def channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[2])


def to_nchw(images: np.ndarray) -> np.ndarray:
    """MedMNIST stores (N, H, W) for grey and (N, H, W, 3) for colour; the pipeline uses (N, C, H,
    W)."""
    if images.ndim == 3:
        return np.ascontiguousarray(images[:, None, :, :])
    if images.ndim == 4:
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    raise ValueError(f"expected (N, H, W) or (N, H, W, C) images, got shape {images.shape}")
