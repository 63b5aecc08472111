"""``medssl predict``: apply a trained method to new images.

    medssl predict --models models/ssgan --images scans/ --out predictions.csv

It reads the method, its params and seeds from the model folder's manifest and the classes, channels
and image size from the experiment's ``data/prepared/dataset_info.json``, prepares every image as
training did (an image-folder dataset's images are resized to ``data.image_size``; a published
dataset's were already at its size, so an image of another size is refused rather than resized), and
writes one CSV row per image and seed with the class probabilities, plus one row per image with the
probabilities averaged over the seeds (``seed`` = ``mean``), the prediction the tables score.

A method trained on patches of fundus images (``data.name: idrid``) scores whole images: each is cut
into the training grid of patches, and ``--heatmaps`` draws the patch scores over it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medssl.core import plots
from medssl.core.device import pick_device
from medssl.core.errors import DataError
from medssl.core.io import read_json, write_text
from medssl.data.catalog import IMAGE_FOLDER
from medssl.data.image_folder import (
    IMAGE_SUFFIXES,
    DecodedImage,
    decode_image,
    image_files,
    resized_pixels,
)
from medssl.data.patches import cut_patches
from medssl.data.prepared import DatasetInfo, existing_file, load_dataset_info
from medssl.methods.base import Method
from medssl.methods.registry import create_method
from medssl.pipeline.patch_evaluation import heatmaps
from medssl.pipeline.runs import MANIFEST_FILE, seed_directory

MEAN_ROW = "mean"


def image_paths(sources: Sequence[Path]) -> list[Path]:
    """The image files named, and those directly inside the folders named (hidden ones skipped)."""
    paths: list[Path] = []
    for source in sources:
        if source.is_dir():
            paths += image_files(source)
        elif source.is_file():
            paths.append(source)
        else:
            raise DataError(f"{source} is neither an image file nor a folder")
    if not paths:
        raise DataError(f"no {'/'.join(IMAGE_SUFFIXES)} images in {', '.join(map(str, sources))}")
    return paths


def prepared_image(path: Path, info: DatasetInfo, size: int) -> np.ndarray:
    """(C, size, size) uint8, as training saw its images; one-line refusals otherwise. Grey is
    decided by content, as at split time: an X-ray saved as RGB with R = G = B is grey."""
    decoded = decode_image(path)
    if not decoded.is_grey and info.channels == 1:
        raise DataError(
            f"{path} is a colour image but the model was trained on grey ones; "
            "convert it to greyscale first"
        )
    width, height = decoded.image.size
    if info.name != IMAGE_FOLDER and (width, height) != (size, size):
        raise DataError(
            f"{path} is {width} x {height} px but the model takes {size} x {size} images "
            f"as {info.name} provides them; resize it the way that dataset was made"
        )
    pixels = resized_pixels(decoded, size, colour=info.channels == 3)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def load_seeds(models_dir: Path, info: DatasetInfo, device: str) -> dict[int, Method]:
    manifest = read_json(existing_file(models_dir / MANIFEST_FILE, f"train@{models_dir.name}"))
    methods = {}
    for seed in manifest["seeds"]:
        method = create_method(manifest["method"], manifest["config"], info)
        method.load(seed_directory(models_dir, seed), pick_device(device))
        methods[seed] = method
    return methods


def predict(
    models_dir: Path,
    prepared_dir: Path,
    sources: Sequence[Path],
    *,
    out: Path,
    heatmaps_dir: Path | None = None,
    device: str = "auto",
) -> list[dict[str, object]]:
    """Class probabilities of the images in ``sources`` by every seed's model in ``models_dir``
    (trained on the experiment whose ``prepared_dir`` describes the classes and image size)."""
    info = load_dataset_info(prepared_dir)
    paths = image_paths(sources)
    methods = load_seeds(models_dir, info, device)
    if info.patch_grid:
        probabilities = _patch_image_scores(paths, info, methods, heatmaps_dir)
    else:
        images = np.stack([prepared_image(path, info, info.image_size) for path in paths])
        probabilities = {seed: method.predict_proba(images) for seed, method in methods.items()}
    rows = _rows(paths, info, probabilities)
    _write_csv(out, rows)
    return rows


def _rows(
    paths: Sequence[Path], info: DatasetInfo, probabilities: dict[int, np.ndarray]
) -> list[dict[str, object]]:
    rows = []
    mean = np.mean(list(probabilities.values()), axis=0)
    for index, path in enumerate(paths):
        for seed, values in [*probabilities.items(), (MEAN_ROW, mean)]:
            row: dict[str, object] = {"image": str(path), "seed": seed}
            row.update(
                {
                    f"p_{name}": float(p)
                    for name, p in zip(info.label_names, values[index], strict=True)
                }
            )
            row["predicted"] = info.label_names[int(np.argmax(values[index]))]
            rows.append(row)
    return rows


def _write_csv(out: Path, rows: list[dict[str, object]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out, buffer.getvalue())


def _patch_image_scores(
    paths: Sequence[Path], info: DatasetInfo, methods: dict[int, Method], heatmaps_dir: Path | None
) -> dict[int, np.ndarray]:
    """Per seed, (images, 2) [healthy, diseased] scores: the mean of the patches' probabilities
    (the image score the evaluate stage thresholds is their sum), and the heatmaps if asked."""
    grid = info.patch_grid
    wholes = []
    for path in paths:
        decoded = decode_image(path)
        side = max(decoded.image.size)
        side -= side % grid
        wholes.append(_whole_image(decoded, info, side))
    scores: dict[int, np.ndarray] = {}
    for seed, method in methods.items():
        per_image = []
        for index, whole in enumerate(wholes):
            patches = cut_patches(whole[None], grid, info.image_size)
            diseased = method.predict_proba(patches)[:, 1]
            per_image.append([1.0 - diseased.mean(), diseased.mean()])
            if heatmaps_dir is not None:
                _draw_heatmap(paths[index], whole, diseased, grid, heatmaps_dir, seed)
        scores[seed] = np.array(per_image)
    return scores


def _whole_image(decoded: DecodedImage, info: DatasetInfo, size: int) -> np.ndarray:
    """A fundus photograph, square at ``size`` (a multiple of the patch grid), as (C, S, S)."""
    pixels = resized_pixels(decoded, size, colour=info.channels == 3)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _draw_heatmap(
    path: Path, whole: np.ndarray, diseased: np.ndarray, grid: int, folder: Path, seed: int
) -> None:
    rows, columns = np.divmod(np.arange(grid * grid), grid)
    heatmap = heatmaps(
        diseased,
        np.zeros(grid * grid, dtype=np.int64),
        patch_row=rows,
        patch_column=columns,
        images=1,
        grid=grid,
    )[0]
    mask = np.zeros(heatmap.shape, dtype=bool)
    plots.heatmap_figure(
        [(path.name, whole, heatmap, mask)],
        folder / f"{path.stem}_seed{seed}.png",
        f"{path.name}: patch scores, seed {seed}",
    )
