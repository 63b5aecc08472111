"""The labelled-budget split: N labelled images per class from the official train split, the rest
of train as the unlabelled pool, a labelled validation budget from the official val split, and the
official test split.

The validation images are labelled images too, so they count in the label cost. By default there are
as many per class as training labels (``val_labels_per_class: -1``): Oliver et al. (2018,
"Realistic evaluation of deep semi-supervised learning algorithms", Sec. 4.6) and Huang et al.
(2023, "Systematic comparison of semi-supervised and self-supervised learning for medical image
classification") show that selecting models on a validation set much larger than the labelled
training set flatters semi-supervised methods and can reorder them; a set the size of the training
budget is the largest that either calls realistic. ``0`` keeps the whole official split, as the
papers this project reproduces did.

Labelled indices are drawn once per (budget, seed) and saved; nothing re-samples them later.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np

from medssl.core.config import EVERY_IMAGE_LABELLED, NonNegativeInt
from medssl.core.errors import ConfigError, SplitError
from medssl.core.io import write_json, write_npz
from medssl.data.catalog import BINARY, MULTI_CLASS
from medssl.data.images import LabelledImages, RawDataset, balanced_subset
from medssl.data.prepared import (
    HIDDEN_LABELS_FILE,
    INFO_FILE,
    LABELLED_FILE,
    TEST_FILE,
    TEST_PATCHES_FILE,
    TEST_UNKNOWN_FILE,
    UNLABELLED_FILE,
    VAL_FILE,
    VAL_PATCHES_FILE,
    VAL_UNKNOWN_FILE,
    DatasetInfo,
)

# Hidden label of an unlabelled image whose true class nobody knows (a user's unlabelled/ folder).
UNKNOWN_LABEL = -1


class ValidationBudget:
    """Labelled validation images per class: -1 as many as split.labels_per_class, 0 the whole
    official split, N that many."""

    def check(self, value: int, where: str) -> None:
        if value < -1:
            raise ConfigError(
                f"{where}: {value!r} is out of range; allowed: -1 (as many as labels_per_class), "
                "0 (the whole official val split), or N >= 1"
            )


class LabelBudget:
    """At least one labelled image per class, or -1 (EVERY_IMAGE_LABELLED): every training image
    is labelled (the patch datasets' fully supervised setting)."""

    def check(self, value: int, where: str) -> None:
        if value < 1 and value != EVERY_IMAGE_LABELLED:
            raise ConfigError(
                f"{where}: {value!r} is out of range; allowed: >= 1, or -1 (every image labelled)"
            )


@dataclass(frozen=True)
class SplitConfig:
    labels_per_class: Annotated[int, LabelBudget()]
    seed: int
    # Open-set experiments (MCGAN): only these classes (dataset indices) are trained on, relabelled
    # 0..K-1 in this order; empty means every class. The unknown classes appear only in the separate
    # val_unknown / test_unknown files, for evaluation; their training images are dropped entirely.
    known_classes: tuple[NonNegativeInt, ...]
    unknown_classes: tuple[NonNegativeInt, ...]
    # The labelled validation budget (model selection), drawn from the official val split with a
    # generator seeded by (val_seed, seed): a new labelled draw (seed) is a new labelling campaign,
    # training and validation images both, and val_seed alone redraws the validation images.
    val_labels_per_class: Annotated[int, ValidationBudget()]
    val_seed: NonNegativeInt
    # 0 keeps the whole official test split. N > 0 keeps a balanced subsample of at most N images
    # per class (unknown classes too), drawn with EVALUATION_SUBSET_SEED, not ``seed``, so that
    # sweeping the labelled draw keeps the same test images. For methods whose prediction is costly
    # (MCGAN's z search: ~0.1 s per image and GAN on one CPU thread).
    test_images_per_class: NonNegativeInt

    @property
    def validation_labels_per_class(self) -> int:
        """The validation budget per class; 0: the whole official val split."""
        if self.val_labels_per_class == -1:
            return 0 if self.labels_per_class == EVERY_IMAGE_LABELLED else self.labels_per_class
        return self.val_labels_per_class


@dataclass(frozen=True)
class Split:
    labelled: LabelledImages
    labelled_source_index: np.ndarray  # rows of the official train split
    unlabelled_images: np.ndarray
    # rows of train; rows past its end are extra unlabelled images
    unlabelled_source_index: np.ndarray
    unlabelled_hidden_labels: np.ndarray  # evaluation only; UNKNOWN_LABEL where no label exists
    val: LabelledImages
    test: LabelledImages
    # Images of the unknown classes (labels: their dataset indices); empty unless unknown_classes is
    # set.
    val_unknown: LabelledImages | None = None
    test_unknown: LabelledImages | None = None


def labelled_indices(
    labels: np.ndarray, label_names: tuple[str, ...], labels_per_class: int, *, seed: int
) -> np.ndarray:
    """Sorted rows holding ``labels_per_class`` images of every class, drawn with ``seed``."""
    if labels_per_class < 1:
        raise SplitError(f"split.labels_per_class must be at least 1, got {labels_per_class}")
    rng = np.random.default_rng(seed)
    chosen = []
    for label, name in enumerate(label_names):
        rows = np.flatnonzero(labels == label)
        if len(rows) < labels_per_class:
            raise SplitError(
                f"class '{name}' has {len(rows)} images in the train split but "
                "split.labels_per_class is "
                f"{labels_per_class}; lower it to at most {len(rows)}"
            )
        chosen.append(rng.choice(rows, size=labels_per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def _select(images: LabelledImages, classes: tuple[int, ...], relabel: bool) -> LabelledImages:
    rows = np.isin(images.labels, classes)
    labels = images.labels[rows]
    if relabel:
        new_label = np.full(
            int(images.labels.max(initial=0)) + 1 if len(images.labels) else 1, -1, dtype=np.int64
        )
        new_label[list(classes)] = np.arange(len(classes))
        labels = new_label[labels]
    return LabelledImages(images.images[rows], labels.astype(np.int64))


def split_task(num_classes: int) -> str:
    return BINARY if num_classes == 2 else MULTI_CLASS


def restrict_to_known_classes(
    raw: RawDataset, config: SplitConfig
) -> tuple[RawDataset, LabelledImages, LabelledImages]:
    """The dataset reduced to the known classes (relabelled 0..K-1), and the unknown classes' val
    and test images. Without known_classes: the dataset unchanged and no unknown images."""
    if not config.known_classes:
        if config.unknown_classes:
            raise SplitError("split.unknown_classes needs split.known_classes as well")
        empty = LabelledImages(raw.val.images[:0], raw.val.labels[:0])
        return raw, empty, empty
    known, unknown = tuple(config.known_classes), tuple(config.unknown_classes)
    everything = set(range(len(raw.label_names)))
    if (
        not set(known) | set(unknown) <= everything
        or len(set(known)) != len(known)
        or set(known) & set(unknown)
    ):
        raise SplitError(
            f"split.known_classes {list(known)} and unknown_classes {list(unknown)} "
            f"must be distinct class indices of {raw.name} (0..{len(raw.label_names) - 1}: "
            f"{', '.join(raw.label_names)})"
        )
    if len(known) < 2:
        raise SplitError("split.known_classes needs at least two classes")
    reduced = dataclasses.replace(
        raw,
        label_names=tuple(raw.label_names[k] for k in known),
        train=_select(raw.train, known, True),
        val=_select(raw.val, known, True),
        test=_select(raw.test, known, True),
        task=split_task(len(known)),
    )
    return reduced, _select(raw.val, unknown, False), _select(raw.test, unknown, False)


EVALUATION_SUBSET_SEED = 0


def _test_subset(images: LabelledImages, per_class: int) -> LabelledImages:
    return balanced_subset(images, per_class, EVALUATION_SUBSET_SEED) if per_class else images


def validation_seed(config: SplitConfig) -> list[int]:
    """The validation draw's generator seed: its own stream, new for every labelled draw."""
    return [config.val_seed, config.seed, 1]


def _validation_subset(images: LabelledImages, config: SplitConfig) -> LabelledImages:
    per_class = config.validation_labels_per_class
    return balanced_subset(images, per_class, validation_seed(config)) if per_class else images


def make_split(raw: RawDataset, config: SplitConfig) -> Split:
    raw, val_unknown, test_unknown = restrict_to_known_classes(raw, config)
    train = raw.train
    labelled_rows = labelled_indices(
        train.labels, raw.label_names, config.labels_per_class, seed=config.seed
    )
    unlabelled_rows = np.setdiff1d(np.arange(len(train)), labelled_rows)
    extra_rows = len(train) + np.arange(len(raw.extra_unlabelled))
    return Split(
        labelled=LabelledImages(train.images[labelled_rows], train.labels[labelled_rows]),
        labelled_source_index=labelled_rows,
        unlabelled_images=np.concatenate([train.images[unlabelled_rows], raw.extra_unlabelled]),
        unlabelled_source_index=np.concatenate([unlabelled_rows, extra_rows]),
        unlabelled_hidden_labels=np.concatenate(
            [train.labels[unlabelled_rows], np.full(len(extra_rows), UNKNOWN_LABEL, dtype=np.int64)]
        ),
        val=_validation_subset(raw.val, config),
        test=_test_subset(raw.test, config.test_images_per_class),
        val_unknown=_validation_subset(val_unknown, config),
        test_unknown=_test_subset(test_unknown, config.test_images_per_class),
    )


def write_split(
    split: Split,
    raw: RawDataset,
    config: SplitConfig,
    *,
    prepared_dir: Path,
    hidden_dir: Path,
    patch_images: dict[str, dict[str, np.ndarray]] | None = None,
) -> DatasetInfo:
    """Write what training may see, the evaluation sets and the hidden labels. ``patch_images`` (val
    and test: whole images, masks, each patch's place) is given for patch datasets."""
    original_names = raw.label_names
    kept_names = tuple(original_names[k] for k in config.known_classes) or original_names
    info = DatasetInfo(
        name=raw.name,
        task=split_task(len(kept_names)) if config.known_classes else raw.task,
        label_names=kept_names,
        channels=raw.channels,
        image_size=raw.image_size,
        labels_per_class=config.labels_per_class,
        split_seed=config.seed,
        val_labels_per_class=config.validation_labels_per_class if not patch_images else 0,
        counts={
            "labelled": len(split.labelled),
            "unlabelled": len(split.unlabelled_images),
            "val": len(split.val),
            "test": len(split.test),
            "val_unknown": len(split.val_unknown or ()),
            "test_unknown": len(split.test_unknown or ()),
        },
        patch_grid=int(patch_images["test"]["grid"]) if patch_images else 0,
        known_classes=tuple(config.known_classes),
        unknown_names=tuple(original_names[k] for k in config.unknown_classes),
    )
    write_npz(
        prepared_dir / LABELLED_FILE,
        images=split.labelled.images,
        labels=split.labelled.labels,
        source_index=split.labelled_source_index,
    )
    write_npz(
        prepared_dir / UNLABELLED_FILE,
        images=split.unlabelled_images,
        source_index=split.unlabelled_source_index,
    )
    write_npz(prepared_dir / VAL_FILE, images=split.val.images, labels=split.val.labels)
    write_npz(prepared_dir / TEST_FILE, images=split.test.images, labels=split.test.labels)
    for file_name, images in (
        (VAL_UNKNOWN_FILE, split.val_unknown),
        (TEST_UNKNOWN_FILE, split.test_unknown),
    ):
        images = images or LabelledImages(split.test.images[:0], split.test.labels[:0])
        write_npz(prepared_dir / file_name, images=images.images, labels=images.labels)
    for name, file_name in (("val", VAL_PATCHES_FILE), ("test", TEST_PATCHES_FILE)):
        write_npz(
            prepared_dir / file_name,
            **(patch_images[name] if patch_images else {"grid": np.array(0)}),
        )
    write_json(prepared_dir / INFO_FILE, dataclasses.asdict(info))
    write_npz(
        hidden_dir / HIDDEN_LABELS_FILE,
        labels=split.unlabelled_hidden_labels,
        source_index=split.unlabelled_source_index,
    )
    return info


def short_validation_note(info: DatasetInfo, val_labels: np.ndarray) -> str | None:
    """One line naming each class with fewer validation images than the budget asks, and the
    counts that are used instead (the split takes all of a class it has, silently otherwise)."""
    budget = info.val_labels_per_class
    counts = np.bincount(val_labels, minlength=len(info.label_names))
    short = [name for name, count in zip(info.label_names, counts, strict=True) if count < budget]
    if not budget or not short:
        return None
    used = ", ".join(
        f"{count} {name}" for name, count in zip(info.label_names, counts, strict=True)
    )
    return (
        f"note: the official val split has fewer than {budget} images of {', '.join(short)}; "
        f"all of them are used: {used} labelled validation images"
    )
