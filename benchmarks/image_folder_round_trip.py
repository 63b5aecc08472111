"""Your own 16-bit scans through the image-folder path: pixel statistics before and after.

Exports real PneumoniaMNIST images (from the mirror or the official URL) as 16-bit greyscale PNGs in
a scanner-like window (each image stretched to 1000..41000 of 0..65535), reads the folder as the
download and split stages do, and prints the min, max and mean of the prepared pixels against the
source's, with the share of saturated (255) pixels that the old `convert("L")` would have given.

    python benchmarks/image_folder_round_trip.py --per-class 50
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from medssl.core.config import build_config, load_params, section
from medssl.data.image_folder import ImageFolderConfig, read_image_folder
from medssl.data.sources import DataConfig, acquire, load_raw

LOW, HIGH = 1000, 41000  # the 16-bit window each exported image is stretched to


def export_sixteen_bit(root: Path, images: np.ndarray, labels: np.ndarray, names, per_class: int):
    sources = []
    for index, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True)
        for count, position in enumerate(np.flatnonzero(labels == index)[:per_class]):
            pixels = images[position].astype(np.float64)
            span = max(pixels.max() - pixels.min(), 1.0)
            wide = np.rint(LOW + (pixels - pixels.min()) / span * (HIGH - LOW)).astype(np.uint16)
            Image.fromarray(wide).save(folder / f"{count:04d}.png")
            sources.append(wide)
    return np.stack(sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--per-class", type=int, default=50)
    args = parser.parse_args()
    params = load_params(args.params)
    data = build_config(DataConfig, dict(section(params, "data"), name="pneumoniamnist"), "data")
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        acquire(data, work_dir / "raw")
        raw = load_raw(data, work_dir / "raw")
        source = export_sixteen_bit(
            work_dir / "scans", raw.train.images[:, 0], raw.train.labels, raw.label_names,
            args.per_class,
        )  # fmt: skip
        folder = build_config(
            ImageFolderConfig,
            dict(section(params, "data.image_folder"), path=str(work_dir / "scans")),
            "data.image_folder",
        )
        prepared = read_image_folder(folder, image_size=source.shape[-1])
    pixels = np.concatenate([prepared[k].ravel() for k in prepared if k.endswith("images")])
    clipped = np.minimum(source, 255)  # what convert("L") on I;16 did: values above 255 saturate
    print(f"{len(source)} images of {source.shape[-1]} px, 16-bit window {LOW}..{HIGH}")
    print("| pixels | min | max | mean | share at 255 |\n|---|---|---|---|---|")
    for label, values in (
        ("16-bit source", source),
        ("source scaled by its own range, expected", (source - LOW) / (HIGH - LOW) * 255),
        ("prepared (this code)", pixels),
        ("clipped, as before the fix", clipped),
    ):
        values = np.asarray(values, dtype=np.float64)
        share = np.mean(values >= 255) if values.max() <= 255 else np.mean(values >= 65535)
        print(f"| {label} | {values.min():.0f} | {values.max():.0f} | {values.mean():.2f} "
              f"| {share:.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
