"""Images cut into a uniform grid of patches, the unit the patch-based SSL-GAN classifies.

An S x S image becomes grid x grid non-overlapping patches of S / grid pixels, each downsampled
(area average) to the model's input size (``data.image_size``; the paper: 1024 px -> 8 x 8 patches
of 128 px
-> 32 px; here 512 -> 8 x 8 of 64 -> 32). A patch is diseased when any lesion-mask pixel falls in
  it, healthy otherwise; every patch of a healthy image is healthy; patches of images without a mask
  have no label and are unlabelled data only.

The images are split into train / validation / test (stratified by disease,
``data.fundus.split_seed``); ``split.labels_per_class`` images of each disease class of the train
part are labelled (all their patches), the other train images are unlabelled. Validation and test
keep, beside the patches, the whole images, their masks and each patch's place, for the image-level
score and the heatmaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from medssl.core.config import EVERY_IMAGE_LABELLED
from medssl.core.errors import SplitError
from medssl.data.catalog import BINARY
from medssl.data.fundus import NO_LABEL, FundusConfig
from medssl.data.images import LabelledImages, RawDataset
from medssl.data.prepared import DatasetInfo
from medssl.data.sources import DataConfig
from medssl.data.split import Split, SplitConfig, write_split

PATCH_LABEL_NAMES = ("healthy", "diseased")
IMAGE_CLASSES = (0, 1)  # healthy, diseased (DR)


def cut_patches(images: np.ndarray, grid: int, input_size: int) -> np.ndarray:
    """(N, C, S, S) uint8 -> (N * grid^2, C, input_size, input_size) uint8, row-major within an
    image."""
    count, channels, size, _ = images.shape
    if size % grid:
        raise SplitError(f"image size {size} does not divide into a {grid} x {grid} grid")
    step = size // grid
    patches = images.reshape(count, channels, grid, step, grid, step).transpose(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(count * grid * grid, channels, step, step)
    if step == input_size:
        return np.ascontiguousarray(patches)
    resized = F.interpolate(
        torch.from_numpy(patches).float(), size=(input_size, input_size), mode="area"
    )
    return resized.round().clamp(0, 255).to(torch.uint8).numpy()


def patch_labels(masks: np.ndarray, grid: int) -> np.ndarray:
    """(N, S, S) bool -> (N * grid^2,) int64: 1 where any mask pixel falls in the patch."""
    count, size, _ = masks.shape
    step = size // grid
    blocks = masks.reshape(count, grid, step, grid, step).any(axis=(2, 4))
    return blocks.reshape(-1).astype(np.int64)


@dataclass(frozen=True)
class PatchSplit:
    split: Split  # patches: labelled, unlabelled (+ hidden labels), val, test
    # whole images, masks, disease, and each val patch's image and place
    val_images: dict[str, np.ndarray]
    test_images: dict[str, np.ndarray]


def _stratified_image_split(disease: np.ndarray, config: FundusConfig) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(config.split_seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label in IMAGE_CLASSES:
        rows = rng.permutation(np.flatnonzero(disease == label))
        n_test, n_val = (
            int(round(config.test_fraction * len(rows))),
            int(round(config.val_fraction * len(rows))),
        )
        parts["test"] += rows[:n_test].tolist()
        parts["val"] += rows[n_test : n_test + n_val].tolist()
        parts["train"] += rows[n_test + n_val :].tolist()
    # no label: unlabelled training images
    parts["train"] += np.flatnonzero(disease == NO_LABEL).tolist()
    return {name: np.sort(np.array(rows, dtype=np.int64)) for name, rows in parts.items()}


def _labelled_images(train: np.ndarray, disease: np.ndarray, split: SplitConfig) -> np.ndarray:
    """``labels_per_class`` images of each class; -1 labels every training image (the paper's
    149/149)."""
    rng = np.random.default_rng(split.seed)
    chosen = []
    for label, name in zip(IMAGE_CLASSES, ("healthy", "diseased"), strict=True):
        rows = train[disease[train] == label]
        if split.labels_per_class == EVERY_IMAGE_LABELLED:
            chosen.append(rows)
            continue
        if len(rows) < split.labels_per_class:
            raise SplitError(
                f"the training part has {len(rows)} {name} images but split.labels_per_class is "
                f"{split.labels_per_class}; lower it to at most {len(rows)}"
            )
        chosen.append(rng.choice(rows, size=split.labels_per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def make_patch_split(
    arrays: dict[str, np.ndarray], fundus: FundusConfig, split: SplitConfig, *, input_size: int
) -> PatchSplit:
    if split.labels_per_class < 1 and split.labels_per_class != EVERY_IMAGE_LABELLED:
        raise SplitError(
            f"split.labels_per_class must be at least 1 (or -1: every training image), "
            f"got {split.labels_per_class}"
        )
    grid, per_image = fundus.grid, fundus.grid**2
    disease = arrays["disease"]
    parts = _stratified_image_split(disease, fundus)
    labelled = _labelled_images(parts["train"], disease, split)
    unlabelled = np.setdiff1d(parts["train"], labelled)

    def patches_of(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        images = cut_patches(arrays["images"][rows], grid, input_size)
        labels = patch_labels(arrays["masks"][rows], grid)
        labels[np.repeat(~arrays["has_mask"][rows], per_image)] = NO_LABEL
        patch_ids = (rows[:, None] * per_image + np.arange(per_image)[None, :]).reshape(-1)
        return images, labels, patch_ids

    labelled_x, labelled_y, labelled_ids = patches_of(labelled)
    unlabelled_x, unlabelled_y, unlabelled_ids = patches_of(unlabelled)
    evaluation = {}
    for name in ("val", "test"):
        rows = parts[name]
        images, labels, _ = patches_of(rows)
        evaluation[name] = (
            LabelledImages(images, labels),
            {
                "images": arrays["images"][rows],
                "masks": arrays["masks"][rows],
                "disease": disease[rows],
                "names": arrays["names"][rows],
                "patch_image": np.repeat(np.arange(len(rows)), per_image),
                "patch_row": np.tile(np.repeat(np.arange(grid), grid), len(rows)),
                "patch_column": np.tile(np.tile(np.arange(grid), grid), len(rows)),
                "grid": np.array(grid),
            },
        )
    patch_split = Split(
        labelled=LabelledImages(labelled_x, labelled_y),
        labelled_source_index=labelled_ids,
        unlabelled_images=unlabelled_x,
        unlabelled_source_index=unlabelled_ids,
        unlabelled_hidden_labels=unlabelled_y,
        val=evaluation["val"][0],
        test=evaluation["test"][0],
    )
    return PatchSplit(patch_split, evaluation["val"][1], evaluation["test"][1])


def write_patch_split(
    arrays: dict[str, np.ndarray],
    data: DataConfig,
    split: SplitConfig,
    *,
    prepared_dir: Path,
    hidden_dir: Path,
) -> DatasetInfo:
    if split.known_classes or split.unknown_classes:
        raise SplitError("split.known_classes / unknown_classes do not apply to a patch dataset")
    patch_split = make_patch_split(arrays, data.fundus, split, input_size=data.image_size)
    parts = patch_split.split
    described = RawDataset(
        data.name,
        BINARY,
        PATCH_LABEL_NAMES,
        parts.labelled,
        parts.val,
        parts.test,
        parts.unlabelled_images[:0],
    )
    return write_split(
        parts,
        described,
        split,
        prepared_dir=prepared_dir,
        hidden_dir=hidden_dir,
        patch_images={"val": patch_split.val_images, "test": patch_split.test_images},
    )
