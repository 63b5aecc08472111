"""A user's own images: ``root/<class>/*.png|jpg|dcm`` plus optional ``root/unlabelled/*``.

The folder has no official split, so validation and test images are carved out per class with a
seeded permutation (``data.image_folder.*``), and the result is written in the MedMNIST npz layout
so that every later stage reads one format.

Pixel values are never changed silently. 8-bit grey and colour images are read as they are; 16-bit
and 32-bit grey images (scanner exports) are scaled to 8 bits by each image's own range (its
minimum to 0, its maximum to 255), never clipped; palette images are expanded to their colours; an
alpha channel is composited over black. DICOM files get their own rescale and window
(``medssl.data.dicom``). Whether an image is grey is decided by its content, not its file mode: a
colour file whose three channels are equal everywhere (a grey X-ray saved as an RGB JPEG) is grey.
Hidden and system entries (names starting with "." or "__", such as ``.thumbs/`` or ``__MACOSX/``)
are ignored. An unreadable or truncated file is an error that names it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from medssl.core.config import Fraction
from medssl.core.errors import DataError
from medssl.data.dicom import DICOM_SUFFIXES, OWN_RANGE, is_dicom, read_dicom

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg") + DICOM_SUFFIXES
UNLABELLED_FOLDER = "unlabelled"
_WIDE_GREY_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")

# What a file held, before any conversion (DecodedImage.encoding).
GREY = "grey"
RGB_ENCODED_GREY = "RGB-encoded grey"
COLOUR = "colour"


@dataclass(frozen=True)
class ImageFolderConfig:
    path: str
    val_fraction: Fraction
    test_fraction: Fraction
    seed: int


@dataclass(frozen=True)
class DecodedImage:
    """A file's image at 8 bits: mode L when grey by content, RGB when colour."""

    image: Image.Image
    encoding: str  # GREY, RGB_ENCODED_GREY or COLOUR
    dicom_rule: str | None = None  # for DICOM files: how its grey levels reached 8 bits

    @property
    def is_grey(self) -> bool:
        return self.encoding != COLOUR


def read_image_folder(config: ImageFolderConfig, image_size: int) -> dict[str, np.ndarray]:
    root = Path(config.path).expanduser()
    if not config.path or not root.is_dir():
        raise DataError(
            f"data.image_folder.path '{config.path}' is not a folder; point it at "
            "root/<class>/*.png|jpg|dcm"
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
    # every file is read before the split is checked: an unreadable one is named first
    decoded = _read_all(
        [f for files in files_by_class for f in files] + unlabelled_files, image_size
    )
    chosen = stratified_split(files_by_class, config)
    colour = any(not image.is_grey for image in decoded.values())
    for line in encoding_notes(decoded, colour):
        print(line)
    arrays: dict[str, np.ndarray] = {}
    for split, items in chosen.items():
        arrays[f"{split}_images"] = np.stack([_pixels(decoded[path], colour) for path, _ in items])
        arrays[f"{split}_labels"] = np.array([[label] for _, label in items], dtype=np.int64)
    arrays["unlabelled_images"] = (
        np.stack([_pixels(decoded[path], colour) for path in unlabelled_files])
        if unlabelled_files
        else np.zeros((0,) + arrays["train_images"].shape[1:], dtype=np.uint8)
    )
    arrays["label_names"] = np.array([folder.name for folder in class_folders])
    return arrays


def encoding_notes(decoded: dict[Path, DecodedImage], colour: bool) -> list[str]:
    """One line each: grey files saved as RGB, colour files that make the set colour, and DICOM
    files that had no window of their own."""
    total = len(decoded)
    counts = Counter(image.encoding for image in decoded.values())
    notes = []
    if counts[RGB_ENCODED_GREY]:
        example = next(p for p, i in decoded.items() if i.encoding == RGB_ENCODED_GREY)
        notes.append(
            f"note: {counts[RGB_ENCODED_GREY]} of {total} images are grey saved as colour "
            f"(R = G = B, e.g. {example.name}): read as grey"
            + ("" if not colour else ", then with the others as colour")
        )
    if colour and counts[COLOUR] < total:
        example = next(p for p, i in decoded.items() if i.encoding == COLOUR)
        notes.append(
            f"note: {counts[COLOUR]} of {total} images are colour (e.g. {example.name}): every "
            "image is read as colour, grey ones with R = G = B"
        )
    unwindowed = [p for p, i in decoded.items() if i.dicom_rule == OWN_RANGE]
    if unwindowed:
        dicoms = sum(i.dicom_rule is not None for i in decoded.values())
        notes.append(
            f"note: {len(unwindowed)} of {dicoms} DICOM files have no window or VOI LUT (e.g. "
            f"{unwindowed[0].name}): scaled by each image's own range, as 16-bit PNGs are"
        )
    return notes


def _read_all(paths: list[Path], image_size: int) -> dict[Path, DecodedImage]:
    """Every file decoded once and resized, its encoding kept."""
    decoded = {}
    # the context clears the bar before an error propagates: the error gets a line of its own
    with tqdm(paths, desc="images", leave=False) as bar:
        for path in bar:
            image = decode_image(path)
            decoded[path] = DecodedImage(
                _resized(image.image, image_size), image.encoding, image.dicom_rule
            )
    return decoded


def _pixels(decoded: DecodedImage, colour: bool) -> np.ndarray:
    return np.asarray(decoded.image.convert("RGB" if colour else "L"), dtype=np.uint8)


def stratified_split(
    files_by_class: list[list[Path]], config: ImageFolderConfig
) -> dict[str, list[tuple[Path, int]]]:
    """Each class's files shuffled by ``config.seed`` and cut into test, validation and train by
    the configured fractions: (path, label) pairs per split."""
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
    return chosen


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


def decode_image(path: Path) -> DecodedImage:
    """The file at 8 bits, grey (mode L) when its content is grey, whatever its file mode."""
    dicom_rule = None
    if is_dicom(path):
        dicom = read_dicom(path)
        pixels, dicom_rule = dicom.pixels, dicom.rule
    else:
        try:
            with Image.open(path) as image:
                image.load()
                pixels = np.asarray(_to_eight_bit(image), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise DataError(
                f"{path} is not a readable image ({error}); remove or replace it"
            ) from error
    if pixels.ndim == 2:
        encoding = GREY
    elif (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all():
        encoding, pixels = RGB_ENCODED_GREY, pixels[..., 0]
    else:
        encoding = COLOUR
    image = Image.fromarray(np.ascontiguousarray(pixels), mode="L" if pixels.ndim == 2 else "RGB")
    return DecodedImage(image, encoding, dicom_rule)


def _resized(image: Image.Image, image_size: int) -> Image.Image:
    """Bicubic resampling keeps edges sharper than bilinear when shrinking."""
    return image.resize((image_size, image_size), Image.Resampling.BICUBIC)


def read_image(path: Path, image_size: int, colour: bool) -> np.ndarray:
    """(H, W) grey or (H, W, 3) colour uint8 at ``image_size``, pixel values never clipped; a grey
    image asked for as colour has R = G = B."""
    return resized_pixels(decode_image(path), image_size, colour)


def resized_pixels(decoded: DecodedImage, image_size: int, colour: bool) -> np.ndarray:
    """A decoded image at ``image_size``, as (H, W) grey or (H, W, 3) colour uint8."""
    return _pixels(DecodedImage(_resized(decoded.image, image_size), decoded.encoding), colour)


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """An 8-bit L or RGB image with the same content: wide grey scaled by its own range, palettes
    expanded, alpha composited over black."""
    if image.mode in _WIDE_GREY_MODES:
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        return Image.fromarray(np.rint(scaled).astype(np.uint8), mode="L")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("LA", "RGBA"):
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, image.convert("RGBA")).convert(
            "L" if image.mode == "LA" else "RGB"
        )
    if image.mode in ("1", "L", "RGB"):
        return image.convert("L") if image.mode == "1" else image
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV
