"""Fundus photographs with lesion maps (IDRiD), for the patch-based SSL-GAN.

The official IDRiD release needs a registration, so nothing here downloads it: ``data.fundus.path``
points at a folder in the layout below (by default ``<mirror>/idrid/derived-512-qinghao1``, the 512
px derived release kept in the shared mirror), and a user may bring their own images and masks in
it:

    <path>/segmentation-training-set/<id>.jpg          diseased (DR) images
    <path>/segmentation-training-set/<id>_MA.jpg, _HE, _EX, _SE   their lesion maps (any subset)
    <path>/no-apparent-retinopathy/<id>.jpg            healthy images (every patch healthy)
    <path>/unlabelled/<id>.jpg                         optional: images with no label

A lesion map is a lossy JPEG that shows the image where the lesion is and black elsewhere, so a
pixel is lesion when its grey value exceeds ``mask_threshold`` (10 of 255: JPEG ringing around black
stays below it; the optic-disc maps, _OD, are not lesions and are ignored). The union of
microaneurysms (MA), haemorrhages (HE), hard (EX) and soft (SE) exudates is the image's lesion mask,
as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from medssl.core.config import Fraction, PositiveInt, Range
from medssl.core.errors import DataError

DISEASED_FOLDER = "segmentation-training-set"
HEALTHY_FOLDER = "no-apparent-retinopathy"
UNLABELLED_FOLDER = "unlabelled"
LESIONS = ("MA", "HE", "EX", "SE")
NOT_LESIONS = ("OD",)
MIRROR_LAYOUT = Path("idrid") / "derived-512-qinghao1"
NO_LABEL = -1


@dataclass(frozen=True)
class FundusConfig:
    path: str  # the folder above; "" = <mirror>/idrid/derived-512-qinghao1
    # images are resized to this square size first (the derived release is 512)
    image_size: PositiveInt
    # grey level above which a lesion-map pixel is lesion
    mask_threshold: Annotated[int, Range(low=0, high=255)]
    # patches per side: 512 px -> 8 x 8 patches of 64 px (the paper: 1024 -> 8 x 8 of 128)
    grid: PositiveInt
    val_fraction: Fraction  # of the images, stratified by disease (the paper: 50 of 249)
    test_fraction: Fraction
    split_seed: int  # which images are train / val / test; fixed, unlike split.seed's labelled draw


def fundus_folder(config: FundusConfig, mirrors: list[Path]) -> Path:
    if config.path:
        folder = Path(config.path).expanduser()
        if not folder.is_dir():
            raise DataError(
                f"data.fundus.path '{config.path}' is not a folder; point it at a folder with "
                f"{DISEASED_FOLDER}/ and {HEALTHY_FOLDER}/ (see the README, 'Fundus photographs')"
            )
        return folder
    for mirror in mirrors:
        if (mirror / MIRROR_LAYOUT).is_dir():
            return mirror / MIRROR_LAYOUT
    raise DataError(
        "IDRiD cannot be downloaded automatically (its release needs a registration): set "
        "data.fundus.path to your copy, or $MEDSSL_DATA_MIRROR to a mirror holding "
        f"{MIRROR_LAYOUT}/"
    )


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff")
        and not any(p.stem.endswith(f"_{part}") for part in LESIONS + NOT_LESIONS)
    )


def _open(path: Path, mode: str, size: int, resample: Image.Resampling) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode).resize((size, size), resample), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(
            f"{path} is not a readable image ({error}); remove or replace it"
        ) from error


def lesion_mask(image_path: Path, config: FundusConfig) -> np.ndarray | None:
    """The union of the image's lesion maps as a boolean (S, S) mask; None when it has no map at
    all."""
    maps = [
        path
        for lesion in LESIONS
        for path in image_path.parent.glob(f"{image_path.stem}_{lesion}.*")
    ]
    if not maps:
        return None
    mask = np.zeros((config.image_size, config.image_size), dtype=bool)
    for path in maps:
        mask |= (
            _open(path, "L", config.image_size, Image.Resampling.NEAREST) > config.mask_threshold
        )
    return mask


def read_fundus_folder(config: FundusConfig, mirrors: list[Path]) -> dict[str, np.ndarray]:
    """Every image with its disease label (1 DR, 0 healthy, -1 none), lesion mask and whether it has
    one."""
    folder = fundus_folder(config, mirrors)
    groups = ((DISEASED_FOLDER, 1), (HEALTHY_FOLDER, 0), (UNLABELLED_FOLDER, NO_LABEL))
    items = [(path, label) for name, label in groups for path in _image_files(folder / name)]
    if not any(label == 1 for _, label in items) or not any(label == 0 for _, label in items):
        raise DataError(
            f"{folder} needs diseased images in {DISEASED_FOLDER}/ and healthy ones in "
            f"{HEALTHY_FOLDER}/"
        )
    images, masks, has_mask, labels, names = [], [], [], [], []
    for path, label in tqdm(items, desc="fundus images", leave=False):
        images.append(
            _open(path, "RGB", config.image_size, Image.Resampling.BICUBIC).transpose(2, 0, 1)
        )
        mask = lesion_mask(path, config) if label == 1 else None
        if label == 1 and mask is None:
            # a diseased image without lesion maps has no patch labels: unlabelled only
            label = NO_LABEL
        has_mask.append(mask is not None or label == 0)  # a healthy image's mask is known: empty
        masks.append(mask if mask is not None else np.zeros((config.image_size,) * 2, dtype=bool))
        labels.append(label)
        names.append(path.stem)
    return {
        "images": np.stack(images),
        "masks": np.stack(masks),
        "has_mask": np.array(has_mask),
        "disease": np.array(labels, dtype=np.int64),
        "names": np.array(names),
    }
