"""A user's own images: ``root/<class>/*.png|jpg`` plus optional ``root/unlabelled/*``.

The folder has no official split, so validation and test images are carved out per class with a
seeded permutation (``data.image_folder.*``), and the result is written in the MedMNIST npz layout
so that every later stage reads one format.

Pixel values are never changed silently. 8-bit grey and colour images are read as they are; 16-bit
and 32-bit grey images (scanner exports) are scaled to 8 bits by each image's own range (its
minimum to 0, its maximum to 255), never clipped; palette images are expanded to their colours; an
alpha channel is composited over black. Hidden and system entries (names starting with "." or "__",
such as ``.thumbs/`` or ``__MACOSX/``) are ignored. An unreadable or truncated file is an error that
names it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from medssl.core.config import Fraction
from medssl.core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
UNLABELLED_FOLDER = "unlabelled"
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_WIDE_GREY_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


@dataclass(frozen=True)
class ImageFolderConfig:
    path: str
    val_fraction: Fraction
    test_fraction: Fraction
    seed: int


def read_image_folder(config: ImageFolderConfig, image_size: int) -> dict[str, np.ndarray]:
    root = Path(config.path).expanduser()
    if not config.path or not root.is_dir():
        raise DataError(
            f"data.image_folder.path '{config.path}' is not a folder; point it at "
            "root/<class>/*.png|jpg"
        )
    class_folders = sorted(
        p for p in root.iterdir() if p.is_dir() and p.name != UNLABELLED_FOLDER and _visible(p)
    )
    if len(class_folders) < 2:
        raise DataError(
            f"{root} has {len(class_folders)} class folder(s); a classifier needs at least 2"
        )
    files_by_class = [image_files(folder) for folder in class_folders]
    for folder, files in zip(class_folders, files_by_class, strict=True):
        if not files:
            raise DataError(
                f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} images; "
                "add images or remove the folder"
            )
    unlabelled_files = (
        image_files(root / UNLABELLED_FOLDER) if (root / UNLABELLED_FOLDER).is_dir() else []
    )
    every_file = [f for files in files_by_class for f in files] + unlabelled_files
    modes = {path: image_mode(path) for path in every_file}
    colour_files = [path for path, mode in modes.items() if not is_grey(mode)]
    colour = bool(colour_files)
    if colour and len(colour_files) < len(every_file):
        print(
            f"note: {len(colour_files)} of {len(every_file)} images are colour (e.g. "
            f"{colour_files[0].name}): every image is read as colour, grey ones with R = G = B"
        )
    load = functools.partial(read_image, image_size=image_size, colour=colour)
    arrays = _stratified_split(files_by_class, config, load)
    arrays["unlabelled_images"] = (
        np.stack(_load_all(unlabelled_files, load, "unlabelled images"))
        if unlabelled_files
        else np.zeros((0,) + arrays["train_images"].shape[1:], dtype=np.uint8)
    )
    arrays["label_names"] = np.array([folder.name for folder in class_folders])
    return arrays


def _load_all(
    paths: list[Path], load: Callable[[Path], np.ndarray], description: str
) -> list[np.ndarray]:
    # the context clears the bar before an error propagates: the error gets a line of its own
    with tqdm(paths, desc=description, leave=False) as bar:
        return [load(path) for path in bar]


def _stratified_split(
    files_by_class: list[list[Path]], config: ImageFolderConfig, load: Callable[[Path], np.ndarray]
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(config.seed)
    chosen: dict[str, list[tuple[Path, int]]] = {"train": [], "val": [], "test": []}
    for label, files in enumerate(files_by_class):
        order = rng.permutation(len(files))
        n_test, n_val = _held_out(len(files), config)
        if min(n_test, n_val, len(files) - n_test - n_val) < 1:
            raise DataError(
                f"{files[0].parent} has {len(files)} image(s): with val_fraction "
                f"{config.val_fraction} and test_fraction {config.test_fraction} a class needs at "
                f"least {minimum_class_size(config)} to give training, validation and test images"
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
        images = _load_all([path for path, _ in items], load, f"{split} images")
        arrays[f"{split}_images"] = np.stack(images)
        arrays[f"{split}_labels"] = np.array(
            [[label] for _, label in items], dtype=np.int64
        ).reshape(-1, 1)
    return arrays


def _held_out(count: int, config: ImageFolderConfig) -> tuple[int, int]:
    return int(round(config.test_fraction * count)), int(round(config.val_fraction * count))


def minimum_class_size(config: ImageFolderConfig) -> int:
    """The fewest images a class needs for at least one training, validation and test image."""
    count = 3
    while True:
        n_test, n_val = _held_out(count, config)
        if min(n_test, n_val, count - n_test - n_val) >= 1:
            return count
        count += 1


def _visible(path: Path) -> bool:
    """Not a hidden or system entry (``.thumbs``, ``.DS_Store``, ``__MACOSX``, ``._x.png``)."""
    return not path.name.startswith((".", "__"))


def image_files(folder: Path) -> list[Path]:
    """The visible image files directly inside ``folder``, sorted."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and _visible(p)
    )


def is_grey(mode: str) -> bool:
    return mode in _GREY_MODES


def image_mode(path: Path) -> str:
    """PIL's mode of an image file; a palette image's is that of its colours."""
    try:
        with Image.open(path) as image:
            if image.mode in ("P", "PA"):  # a palette: grey when every colour it uses is
                rgb = np.asarray(image.convert("RGB"))
                grey = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
                return "L" if grey else "RGB"
            return image.mode
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(
            f"{path} is not a readable image ({error}); remove or replace it"
        ) from error


def read_image(path: Path, image_size: int, colour: bool) -> np.ndarray:
    """(H, W) grey or (H, W, 3) colour uint8 at ``image_size``, pixel values never clipped.
    Bicubic resampling keeps edges sharper than bilinear when shrinking."""
    try:
        with Image.open(path) as image:
            image.load()
            eight_bit = _to_eight_bit(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(
            f"{path} is not a readable image ({error}); remove or replace it"
        ) from error
    converted = eight_bit.convert("RGB" if colour else "L")
    resized = converted.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """An 8-bit L or RGB image with the same content: wide grey scaled by its own range, palettes
    expanded, alpha composited over black."""
    if image.mode in _WIDE_GREY_MODES:
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        return Image.fromarray(np.rint(scaled).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("LA", "RGBA", "PA"):
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, image.convert("RGBA")).convert(
            "L" if image.mode == "LA" else "RGB"
        )
    if image.mode in ("1", "L", "RGB"):
        return image
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV
