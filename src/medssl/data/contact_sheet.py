"""The split's contact sheet: a look at the prepared images before any training.

One row per class of labelled training images and one of validation images, then a row of the
unlabelled pool, each as the networks will see them (after resizing, windowing and the grey or
colour decision). Wrong windowing, inverted MONOCHROME1 images, a class folder of the wrong images
or burnt-in text show here at a glance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medssl.core import plots
from medssl.core.io import read_npz
from medssl.data.prepared import (
    LABELLED_FILE,
    UNLABELLED_FILE,
    VAL_FILE,
    existing_file,
    load_dataset_info,
    load_labelled_set,
)

CONTACT_SHEET_FILE = "contact_sheet.png"


def write_contact_sheet(prepared_dir: Path, plots_dir: Path, per_row: int = 10) -> Path:
    """Draw at most ``per_row`` images per row from the prepared sets into ``plots_dir``."""
    info = load_dataset_info(prepared_dir)
    labelled = load_labelled_set(prepared_dir / LABELLED_FILE)
    val = load_labelled_set(prepared_dir / VAL_FILE)
    rows = []
    for label, name in enumerate(info.label_names):
        for part, images in (("labelled", labelled), ("validation", val)):
            chosen = images.images[images.labels == label]
            if len(chosen):
                rows.append((f"{name}\n{part} ({len(chosen)})", _signed(chosen[:per_row])))
    unlabelled = read_npz(existing_file(prepared_dir / UNLABELLED_FILE))["images"]
    if len(unlabelled):
        rows.append((f"unlabelled\n({len(unlabelled)})", _signed(unlabelled[:per_row])))
    path = plots_dir / CONTACT_SHEET_FILE
    plots.image_rows_figure(
        rows, path, f"{info.name}: prepared images at {info.image_size} px, the first of each set"
    )
    return path


def _signed(images: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) to [-1, 1], as the figure takes them."""
    return images.astype(np.float32) / 127.5 - 1.0
