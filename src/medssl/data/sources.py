"""Dataset sources: get the raw files (download stage) and read them back (split stage).

Downloaded datasets keep their official files byte for byte under ``data/raw``; local sources
(an image folder, the synthetic set) are written there as one npz in the MedMNIST layout.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medssl.core.config import PositiveInt
from medssl.core.errors import DataError, UnknownDatasetError
from medssl.core.io import write_npz
from medssl.data import catalog
from medssl.data.catalog import DatasetSpec
from medssl.data.download import fetch_all, mirror_folders
from medssl.data.fundus import FundusConfig, read_fundus_folder
from medssl.data.image_folder import ImageFolderConfig, read_image_folder
from medssl.data.images import LabelledImages, RawDataset, to_nchw
from medssl.data.synthetic import SyntheticConfig, make_synthetic_arrays


@dataclass(frozen=True)
class DataConfig:
    name: str
    image_size: PositiveInt
    # Folder tried before the network; $MEDSSL_DATA_MIRROR is tried too. Does not change any output.
    mirror: str
    image_folder: ImageFolderConfig
    synthetic: SyntheticConfig
    fundus: FundusConfig


def acquire(config: DataConfig, raw_dir: Path) -> list[Path]:
    """Put the dataset's verified files under ``raw_dir`` and return their paths."""
    if config.name == catalog.SYNTHETIC:
        path = raw_dir / "synthetic.npz"
        write_npz(path, **make_synthetic_arrays(config.synthetic, config.image_size))
        return [path]
    if config.name == catalog.FUNDUS:
        path = raw_dir / "idrid.npz"
        write_npz(path, **read_fundus_folder(config.fundus, mirror_folders(config.mirror)))
        return [path]
    if config.name == catalog.IMAGE_FOLDER:
        path = raw_dir / "image_folder.npz"
        write_npz(path, **read_image_folder(config.image_folder, config.image_size))
        return [path]
    remotes = catalog.remote_files(config.name, config.image_size)
    return fetch_all(remotes, raw_dir, mirror_folders(config.mirror))


def load_fundus_raw(raw_dir: Path) -> dict[str, np.ndarray]:
    """The fundus source's images, masks and disease labels (the split stage cuts them into
    patches)."""
    return _read_npz(raw_dir / "idrid.npz")


def load_raw(config: DataConfig, raw_dir: Path) -> RawDataset:
    if config.name == catalog.FUNDUS:
        raise DataError("idrid is a patch dataset: the split stage reads it with load_fundus_raw")
    if config.name in catalog.LOCAL_SOURCES:
        return _load_local_npz(config, raw_dir / f"{config.name}.npz")
    spec = catalog.dataset_spec(config.name)
    remotes = catalog.remote_files(config.name, config.image_size)
    if spec.file_format == catalog.MEDMNIST_NPZ:
        return _load_medmnist(spec, raw_dir / remotes[0].relative_path)
    if spec.file_format == catalog.IDX:
        return _load_idx(
            spec, {Path(r.relative_path).name: raw_dir / r.relative_path for r in remotes}
        )
    raise UnknownDatasetError(
        f"dataset '{config.name}' has an unknown file format '{spec.file_format}'"
    )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path} is missing; run the download stage first (dvc repro download)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise DataError(
            f"{path} is not a readable npz ({error}); it may be truncated: "
            "delete it and download again"
        ) from error


def _load_medmnist(spec: DatasetSpec, path: Path) -> RawDataset:
    arrays = _read_npz(path)
    parts = {split: _split_arrays(arrays, split, path) for split in ("train", "val", "test")}
    for split, expected in spec.split_sizes.items():
        if len(parts[split][1]) != expected:
            raise DataError(
                f"{path} has {len(parts[split][1])} {split} images, expected {expected}: not the "
                "official release"
            )
    if not spec.is_single_label:
        raise DataError(
            f"{spec.name} is a {spec.task} dataset; the labels-per-class split needs one label "
            "per image. Choose a single-label dataset"
        )
    split_sets = {
        split: LabelledImages(images, labels[:, 0]) for split, (images, labels) in parts.items()
    }
    empty = np.zeros((0,) + split_sets["train"].images.shape[1:], dtype=np.uint8)
    return RawDataset(
        spec.name,
        spec.task,
        spec.label_names,
        split_sets["train"],
        split_sets["val"],
        split_sets["test"],
        empty,
    )


def _split_arrays(
    arrays: dict[str, np.ndarray], split: str, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    try:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    except KeyError as error:
        raise DataError(
            f"{path} has no '{error.args[0]}' array; it is not in the MedMNIST layout"
        ) from error
    return to_nchw(images), labels.reshape(len(labels), -1).astype(np.int64)


def _load_local_npz(config: DataConfig, path: Path) -> RawDataset:
    arrays = _read_npz(path)
    parts = {split: _split_arrays(arrays, split, path) for split in ("train", "val", "test")}
    split_sets = {
        split: LabelledImages(images, labels[:, 0]) for split, (images, labels) in parts.items()
    }
    extra = arrays.get("unlabelled_images")
    extra = (
        to_nchw(extra)
        if extra is not None and len(extra)
        else np.zeros((0,) + split_sets["train"].images.shape[1:], dtype=np.uint8)
    )
    task = catalog.BINARY if len(arrays["label_names"]) == 2 else catalog.MULTI_CLASS
    return RawDataset(
        config.name,
        task,
        tuple(str(n) for n in arrays["label_names"]),
        split_sets["train"],
        split_sets["val"],
        split_sets["test"],
        extra,
    )


def _load_idx(spec: DatasetSpec, paths: dict[str, Path]) -> RawDataset:
    train_images = _read_idx(paths[catalog.IDX_TRAIN_IMAGES])
    train_labels = _read_idx(paths[catalog.IDX_TRAIN_LABELS]).astype(np.int64)
    test = LabelledImages(
        _read_idx(paths[catalog.IDX_TEST_IMAGES])[:, None],
        _read_idx(paths[catalog.IDX_TEST_LABELS]).astype(np.int64),
    )
    held_out = len(train_labels) - catalog.IDX_VALIDATION_SIZE
    train = LabelledImages(train_images[:held_out, None], train_labels[:held_out])
    val = LabelledImages(train_images[held_out:, None], train_labels[held_out:])
    empty = np.zeros((0,) + train.images.shape[1:], dtype=np.uint8)
    return RawDataset(spec.name, spec.task, spec.label_names, train, val, test, empty)


def _read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (LeCun's format: magic 0x0000080N, N big-endian dimension sizes,
    uint8 data)."""
    if not path.is_file():
        raise DataError(f"{path} is missing; run the download stage first (dvc repro download)")
    try:
        with gzip.open(path, "rb") as handle:
            payload = handle.read()
    except (OSError, EOFError) as error:
        raise DataError(
            f"{path} is not a readable gzip file ({error}); delete it and download again"
        ) from error
    zero, dtype_code, ndim = struct.unpack(">HBB", payload[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file (magic {payload[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", payload[4 : 4 + 4 * ndim])
    data = np.frombuffer(payload, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(
            f"{path} holds {data.size} values, its header promises {shape}: the file is truncated"
        )
    return data.reshape(shape).copy()
