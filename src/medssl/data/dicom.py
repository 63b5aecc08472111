"""DICOM files for the image-folder source: the file's own rescale and window, then 8 bits.

A DICOM image carries the display decisions that a PNG export would otherwise make by hand, so they
are taken from the file (DICOM PS3.3 C.11), in the order the standard applies them:

1. the Modality LUT: RescaleSlope / RescaleIntercept, or a Modality LUT Sequence, to stored values
   in the modality's units (Hounsfield units for CT);
2. the VOI LUT: a VOI LUT Sequence if the file has one, else its WindowCenter / WindowWidth (the
   first, when several are given, as pydicom's ``index=0``); the window's output range, as pydicom
   defines it from BitsStored and the rescale, is mapped linearly onto 0..255;
3. MONOCHROME1 (0 is white) is inverted, so that every prepared image reads 0 as black.

A file with no VOI LUT and no window gets the rule 16-bit PNGs get: its own range (minimum to 0,
maximum to 255), never clipped. RGB and YBR colour files (8 bits per sample) are read as colour.
Multi-frame files and 3-D series, palette colour, more than 8 bits per colour sample, and
compressed transfer syntaxes that the installed decoders cannot read are refused in one line that
names the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from medssl.core.errors import DataError

DICOM_SUFFIXES = (".dcm", ".dicom")
MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "YBR_PARTIAL_420")

# How a file's grey levels reached 8 bits (DicomPixels.rule).
VOI_LUT = "VOI LUT"
WINDOW = "window"
OWN_RANGE = "own range"
COLOUR = "colour"


@dataclass(frozen=True)
class DicomPixels:
    """8-bit pixels, (H, W) grey or (H, W, 3) colour, and the rule that made them 8 bits."""

    pixels: np.ndarray
    rule: str


def is_dicom(path: Path) -> bool:
    return path.suffix.lower() in DICOM_SUFFIXES


def read_dicom(path: Path) -> DicomPixels:
    """The file's image at display values, 8 bits; one-line refusals for what cannot be read."""
    dataset = _read_dataset(path)
    photometric = str(dataset.get("PhotometricInterpretation", ""))
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise DataError(
            f"{path} holds {frames} frames (a multi-frame or 3-D series); export the slice to "
            "classify as a single-frame file"
        )
    if photometric not in MONOCHROME + _COLOUR:
        raise DataError(
            f"{path} has PhotometricInterpretation '{photometric or 'none'}'; "
            f"only {', '.join(MONOCHROME)}, RGB and YBR images are read"
        )
    stored = _decoded_pixels(path, dataset)
    if photometric in MONOCHROME:
        if stored.ndim != 2:
            raise DataError(f"{path} decodes to shape {stored.shape}, not one grey image")
        return _grey_display(dataset, stored, inverted=photometric == "MONOCHROME1")
    if stored.ndim != 3 or stored.shape[2] != 3 or int(dataset.get("BitsAllocated", 8)) != 8:
        raise DataError(
            f"{path} is a colour DICOM with {dataset.get('BitsAllocated')} bits per sample "
            f"and shape {stored.shape}; only 8-bit RGB images are read"
        )
    return DicomPixels(np.ascontiguousarray(stored, dtype=np.uint8), COLOUR)


def _read_dataset(path: Path) -> pydicom.Dataset:
    try:
        dataset = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, EOFError, ValueError) as error:
        raise DataError(
            f"{path} is not a readable DICOM file ({error}); remove or replace it"
        ) from None
    if "PixelData" not in dataset:
        raise DataError(f"{path} is a DICOM file without an image (no PixelData); remove it")
    return dataset


def _decoded_pixels(path: Path, dataset: pydicom.Dataset) -> np.ndarray:
    try:
        # pydicom converts YBR colour to RGB here (as_rgb defaults to True)
        return dataset.pixel_array
    except Exception as error:  # noqa: BLE001 - pydicom's decoders raise many kinds
        syntax = getattr(dataset.file_meta, "TransferSyntaxUID", None)
        # pydicom lists each decoder's reason on a line of its own: keep them on one line
        reason = " ".join(line.strip() for line in str(error).splitlines()) or type(error).__name__
        raise DataError(
            f"{path} cannot be decoded here (transfer syntax "
            f"{syntax.name if syntax else 'unknown'}: {reason}); export it uncompressed"
        ) from None


def _grey_display(dataset: pydicom.Dataset, stored: np.ndarray, *, inverted: bool) -> DicomPixels:
    values = np.asarray(apply_modality_lut(stored, dataset), dtype=np.float64)
    output_range = voi_output_range(dataset)
    if output_range is None:
        low, high = float(values.min()), float(values.max())
        rule = OWN_RANGE
    else:
        values = np.asarray(apply_voi_lut(values, dataset, index=0), dtype=np.float64)
        low, high = output_range
        rule = VOI_LUT if _has_voi_lut(dataset) else WINDOW
    scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
    eight_bit = np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)
    return DicomPixels(255 - eight_bit if inverted else eight_bit, rule)


def _has_voi_lut(dataset: pydicom.Dataset) -> bool:
    sequence = dataset.get("VOILUTSequence")
    return bool(sequence) and None not in (
        sequence[0].get("LUTDescriptor"),
        sequence[0].get("LUTData"),
    )


def _has_window(dataset: pydicom.Dataset) -> bool:
    return None not in (dataset.get("WindowCenter"), dataset.get("WindowWidth"))


def voi_output_range(dataset: pydicom.Dataset) -> tuple[float, float] | None:
    """The (lowest, highest) value the file's VOI transform can output, or None when it has none.

    A VOI LUT's entries have LUTDescriptor[2] bits. A window's output spans the values the modality
    transform can produce, as pydicom's ``apply_windowing`` computes them (PS3.3 C.11.2.1.2)."""
    if _has_voi_lut(dataset):
        return 0.0, float(2 ** int(dataset.VOILUTSequence[0].LUTDescriptor[2]) - 1)
    if not _has_window(dataset):
        return None
    bits = int(dataset.BitsStored)
    if dataset.get("ModalityLUTSequence"):
        low, high = 0.0, float(2 ** int(dataset.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    elif int(dataset.get("PixelRepresentation", 0)) == 0:
        low, high = 0.0, float(2**bits - 1)
    else:
        low, high = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    slope, intercept = dataset.get("RescaleSlope"), dataset.get("RescaleIntercept")
    if slope is not None and intercept is not None:
        low, high = (float(v) * float(slope) + float(intercept) for v in (low, high))
    return min(low, high), max(low, high)
