"""A user's own images: ``root/<class>/*.png|jpg`` plus optional ``root/unlabelled/*``.

The folder has no official split, so validation and test images are carved out per class with a
seeded permutation (``data.image_folder.*``), and the result is written in the MedMNIST npz layout
so that every later stage reads one format.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from medssl.core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
UNLABELLED_FOLDER = "unlabelled"
_GREY_MODES = ("1", "L", "I", "I;16", "F")


@dataclass(frozen=True)
class ImageFolderConfig:
    path: str
    val_fraction: float
    test_fraction: float
    seed: int


def read_image_folder(config: ImageFolderConfig, image_size: int) -> dict[str, np.ndarray]:
    root = Path(config.path).expanduser()
    if not config.path or not root.is_dir():
        raise DataError(
            f"data.image_folder.path '{config.path}' is not a folder; point it at "
            "root/<class>/*.png|jpg"
        )
    class_folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name != UNLABELLED_FOLDER)
    if len(class_folders) < 2:
        raise DataError(
            f"{root} has {len(class_folders)} class folder(s); a classifier needs at least 2"
        )
    files_by_class = [_image_files(folder) for folder in class_folders]
    for folder, files in zip(class_folders, files_by_class, strict=True):
        if not files:
            raise DataError(
                f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} images; add images or remove the "
                "folder"
            )
    unlabelled_files = (
        _image_files(root / UNLABELLED_FOLDER) if (root / UNLABELLED_FOLDER).is_dir() else []
    )
    every_file = [f for files in files_by_class for f in files] + unlabelled_files
    colour = any(_mode(path) not in _GREY_MODES for path in every_file)
    load = functools.partial(_load, image_size=image_size, colour=colour)
    arrays = _stratified_split(files_by_class, config, load)
    arrays["unlabelled_images"] = (
        np.stack(
            [load(path) for path in tqdm(unlabelled_files, desc="unlabelled images", leave=False)]
        )
        if unlabelled_files
        else np.zeros((0,) + arrays["train_images"].shape[1:], dtype=np.uint8)
    )
    arrays["label_names"] = np.array([folder.name for folder in class_folders])
    return arrays


def _stratified_split(
    files_by_class: list[list[Path]], config: ImageFolderConfig, load: Callable[[Path], np.ndarray]
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(config.seed)
    chosen: dict[str, list[tuple[Path, int]]] = {"train": [], "val": [], "test": []}
    for label, files in enumerate(files_by_class):
        order = rng.permutation(len(files))
        n_test = int(round(config.test_fraction * len(files)))
        n_val = int(round(config.val_fraction * len(files)))
        if len(files) - n_test - n_val < 1:
            raise DataError(
                f"{files[0].parent} has {len(files)} images: too few to hold out "
                f"{config.val_fraction:.0%} for validation and {config.test_fraction:.0%} for test"
            )
        parts = {
            "test": order[:n_test],
            "val": order[n_test : n_test + n_val],
            "train": order[n_test + n_val :],
        }
        for split, indices in parts.items():
            chosen[split].extend((files[i], label) for i in indices)
    arrays = {}
    for split, items in chosen.items():
        images = [load(path) for path, _ in tqdm(items, desc=f"{split} images", leave=False)]
        arrays[f"{split}_images"] = np.stack(images)
        arrays[f"{split}_labels"] = np.array(
            [[label] for _, label in items], dtype=np.int64
        ).reshape(-1, 1)
    return arrays


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _mode(path: Path) -> str:
    try:
        with Image.open(path) as image:
            return image.mode
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(
            f"{path} is not a readable image ({error}); remove or replace it"
        ) from error


def _load(path: Path, image_size: int, colour: bool) -> np.ndarray:
    """(H, W) grey or (H, W, 3) colour uint8; bicubic keeps edges sharper than bilinear when
    shrinking."""
    with Image.open(path) as image:
        converted = image.convert("RGB" if colour else "L")
        resized = converted.resize((image_size, image_size), Image.Resampling.BICUBIC)
        return np.asarray(resized, dtype=np.uint8)
