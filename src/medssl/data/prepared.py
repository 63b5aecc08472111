"""The split stage's files (names and types) and the only readers of them; the split stage writes
them with :func:`medssl.data.split.write_split`.

``data/prepared/`` holds what training may see: labelled images with labels, unlabelled images
without labels, validation, and (read by evaluation only) test. The unlabelled pool's true labels go
to a separate folder, ``data/hidden/``, that no train stage lists in its deps and that only
:func:`load_hidden_unlabelled_labels` (for pseudo-label accuracy) opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from medssl.core.errors import DataError
from medssl.core.io import read_json, read_npz, write_npz
from medssl.data.images import LabelledImages

LABELLED_FILE = "labelled.npz"
UNLABELLED_FILE = "unlabelled.npz"
VAL_FILE = "val.npz"
TEST_FILE = "test.npz"
# Open-set experiments: the unknown classes' images, read by evaluation only (empty otherwise).
VAL_UNKNOWN_FILE = "val_unknown.npz"
TEST_UNKNOWN_FILE = "test_unknown.npz"
# Patch datasets: the whole val / test images, their lesion masks and every patch's image and place.
VAL_PATCHES_FILE = "val_patches.npz"
TEST_PATCHES_FILE = "test_patches.npz"
INFO_FILE = "dataset_info.json"
HIDDEN_LABELS_FILE = "unlabelled_labels.npz"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    task: str
    label_names: tuple[str, ...]
    channels: int
    image_size: int
    labels_per_class: int
    split_seed: int
    counts: dict[str, int]
    # labelled validation images per class (at most: a class may have fewer); 0: the whole split
    val_labels_per_class: int = 0
    patch_grid: int = 0  # > 0: the images are patches of larger images, grid x grid per image
    # dataset indices of label_names, when the split keeps a subset
    known_classes: tuple[int, ...] = ()
    # the classes held out of training entirely (open-set evaluation)
    unknown_names: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.label_names)


@dataclass(frozen=True)
class PseudoLabels:
    """The cluster stage's guess for every image of the unlabelled pool, in the pool's order."""

    labels: np.ndarray  # int64 (M,)
    confidence: np.ndarray  # float (M,), in [0, 1]
    distance: np.ndarray  # float (M,), weighted squared distance to the chosen class centre

    def __post_init__(self) -> None:
        if not len(self.labels) == len(self.confidence) == len(self.distance):
            raise ValueError("pseudo-label arrays must have one entry per unlabelled image")


class SplitImages(Protocol):
    """What a training set is taken from: a labelled-budget split (``data.split.Split``)."""

    labelled: LabelledImages
    unlabelled_images: np.ndarray
    val: LabelledImages


@dataclass(frozen=True)
class TrainData:
    """Everything a method may train on. There is deliberately no field for the unlabelled pool's
    labels."""

    labelled_x: np.ndarray  # uint8 (N, C, H, W)
    labelled_y: np.ndarray  # int64 (N,)
    unlabelled_x: np.ndarray  # uint8 (M, C, H, W)
    val_x: np.ndarray
    val_y: np.ndarray
    info: DatasetInfo
    pseudo_labels: PseudoLabels | None = None  # given to methods that use the cluster stage
    # The features stage's trained ResNet-20 (a torch module, frozen), given to methods that use a
    # fixed feature or loss network; it saw only the labelled images.
    feature_network: Any = None

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @classmethod
    def from_split(
        cls,
        split: SplitImages,
        info: DatasetInfo,
        *,
        pseudo_labels: PseudoLabels | None = None,
        feature_network: Any = None,
    ) -> TrainData:
        """What training may see of ``split``: never the unlabelled pool's labels."""
        return cls(
            labelled_x=split.labelled.images,
            labelled_y=split.labelled.labels,
            unlabelled_x=split.unlabelled_images,
            val_x=split.val.images,
            val_y=split.val.labels,
            info=info,
            pseudo_labels=pseudo_labels,
            feature_network=feature_network,
        )


def load_dataset_info(prepared_dir: Path) -> DatasetInfo:
    values = read_json(existing_file(prepared_dir / INFO_FILE))
    for key in ("label_names", "known_classes", "unknown_names"):
        if key in values:
            values[key] = tuple(values[key])
    return DatasetInfo(**values)


def load_train_data(prepared_dir: Path) -> TrainData:
    labelled = read_npz(existing_file(prepared_dir / LABELLED_FILE))
    unlabelled = read_npz(existing_file(prepared_dir / UNLABELLED_FILE))
    val = read_npz(existing_file(prepared_dir / VAL_FILE))
    return TrainData(
        labelled_x=labelled["images"],
        labelled_y=labelled["labels"],
        unlabelled_x=unlabelled["images"],
        val_x=val["images"],
        val_y=val["labels"],
        info=load_dataset_info(prepared_dir),
    )


def write_pseudo_labels(path: Path, pseudo_labels: PseudoLabels) -> None:
    write_npz(
        path,
        labels=pseudo_labels.labels,
        confidence=pseudo_labels.confidence,
        distance=pseudo_labels.distance,
    )


def load_pseudo_labels(path: Path) -> PseudoLabels:
    arrays = read_npz(existing_file(path, "cluster"))
    return PseudoLabels(arrays["labels"], arrays["confidence"], arrays["distance"])


def load_labelled_set(path: Path) -> LabelledImages:
    arrays = read_npz(existing_file(path))
    return LabelledImages(arrays["images"], arrays["labels"])


def load_unknown_sets(prepared_dir: Path) -> tuple[LabelledImages, LabelledImages]:
    """(test, val) images of the classes held out of training (open-set experiments); empty sets
    when the split has none, or was written before open-set splits existed."""
    sets = []
    for file_name, fallback in ((TEST_UNKNOWN_FILE, TEST_FILE), (VAL_UNKNOWN_FILE, VAL_FILE)):
        path = prepared_dir / file_name
        if path.is_file():
            sets.append(load_labelled_set(path))
        else:
            arrays = read_npz(existing_file(prepared_dir / fallback))
            sets.append(LabelledImages(arrays["images"][:0], arrays["labels"][:0]))
    return sets[0], sets[1]


def load_patch_images(prepared_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """Patch datasets: val and test whole images, masks, disease labels and each patch's place."""
    return {
        name: read_npz(existing_file(prepared_dir / file_name))
        for name, file_name in (("val", VAL_PATCHES_FILE), ("test", TEST_PATCHES_FILE))
    }


def load_hidden_unlabelled_labels(hidden_dir: Path) -> np.ndarray:
    """Evaluation only: the true labels of the unlabelled pool, in the pool's order."""
    return read_npz(existing_file(hidden_dir / HIDDEN_LABELS_FILE))["labels"]


def existing_file(path: Path, stage: str = "split") -> Path:
    if not path.is_file():
        raise DataError(f"{path} is missing; run the {stage} stage first (dvc repro {stage})")
    return path
