"""`medssl predict` against the evaluate stage, on test images exported as PNG files.

Exports the first N images of an experiment's prepared test split as 8-bit PNGs, runs the predict
command on them with a trained method, and compares its per-seed probabilities with what the
evaluate stage computes for the same images (the method's predict_proba on the prepared arrays).

    python benchmarks/predict_agreement.py --models models/ssgan --count 10 --out /tmp/predict
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from medssl.command import main as medssl_main
from medssl.data.prepared import TEST_FILE, load_dataset_info, load_labelled_set
from medssl.pipeline.predict import MEAN_ROW, load_seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True, help="a folder for the PNGs and CSV")
    args = parser.parse_args()
    test = load_labelled_set(args.prepared / TEST_FILE)
    images_dir = args.out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    for index in range(args.count):
        pixels = test.images[index]
        pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
        Image.fromarray(pixels).save(images_dir / f"test_{index:03d}.png")
    csv_path = args.out / "predictions.csv"
    medssl_main(
        ["predict", "--models", str(args.models), "--prepared", str(args.prepared),
         "--images", str(images_dir), "--out", str(csv_path), "--device", "cpu"]
    )  # fmt: skip
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    info = load_dataset_info(args.prepared)
    columns = [f"p_{name}" for name in info.label_names]
    print("| seed | largest abs. difference from the evaluate stage | same predicted class |")
    print("|---|---|---|")
    for seed, method in load_seeds(args.models, info, "cpu").items():
        expected = method.predict_proba(test.images[: args.count])
        got = np.array([[float(r[c]) for c in columns] for r in rows if r["seed"] == str(seed)])
        agree = int((got.argmax(1) == expected.argmax(1)).sum())
        print(f"| {seed} | {np.abs(got - expected).max():.2e} | {agree}/{args.count} |")
    means = [r for r in rows if r["seed"] == MEAN_ROW]
    truth = [info.label_names[label] for label in test.labels[: args.count]]
    right = sum(r["predicted"] == t for r, t in zip(means, truth, strict=True))
    print(
        f"seed-averaged prediction right for {right}/{args.count} images (true labels of the split)"
    )


if __name__ == "__main__":
    main()
