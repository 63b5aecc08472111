"""Two protocol changes measured on the same labelled draws, judged on validation.

* supervised_cnn without and with the weak augmentation fixmatch and mean_teacher give every
  labelled image (flips, shifts of up to 12.5 % of the side);
* fixmatch without and with the EMA warm-up (decay min(0.999, 1 - 1 / (n + 1))).

For each dataset and labelled draw (split seed) it makes the pipeline's split (N labels per class,
as many validation labels), trains each variant once (training seed 0) with the params' settings
and the train stage's selection (best validation point), and records the kept model's validation
and test scores. Validation decides; test is reported, never used to choose.

    OMP_NUM_THREADS=1 python benchmarks/equal_footing.py --dataset breastmnist --draws 0 1 2 \
        --out reports/protocol/equal_footing_breastmnist.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from medssl.core.config import build_config, load_params, section
from medssl.core.io import write_json
from medssl.core.metrics import classification_metrics
from medssl.data.prepared import TEST_FILE, load_labelled_set, load_train_data
from medssl.data.sources import DataConfig, acquire, load_raw
from medssl.data.split import SplitConfig, make_split, write_split
from medssl.methods.registry import resolve_method
from medssl.pipeline.runs import TrainConfig, run_context

VARIANTS = {
    "supervised_cnn": {
        "no augmentation": {"flip": False, "shift_fraction": 0.0},
        "weak augmentation": {"flip": True, "shift_fraction": 0.125},
    },
    "fixmatch": {
        "EMA without warm-up": {"ema_warmup": False},
        "EMA with warm-up": {"ema_warmup": True},
    },
}
SCORES = ("balanced_accuracy", "auc", "accuracy")


def prepared_split(params: dict, dataset: str, labels: int, draw: int, folder: Path) -> Path:
    """The pipeline's split of ``dataset`` for one labelled draw, as the split stage writes it."""
    data = build_config(DataConfig, dict(section(params, "data"), name=dataset), "data")
    split = build_config(
        SplitConfig, dict(section(params, "split"), labels_per_class=labels, seed=draw), "split"
    )
    acquire(data, folder / "raw")
    raw = load_raw(data, folder / "raw")
    write_split(
        make_split(raw, split),
        raw,
        split,
        prepared_dir=folder / "prepared",
        hidden_dir=folder / "h",
    )
    return folder / "prepared"


def train_and_score(params: dict, name: str, overrides: dict, prepared: Path) -> dict:
    method_values = dict(section(params, f"methods.{name}"), **overrides)
    resolved = resolve_method(name, method_values)
    train = build_config(TrainConfig, section(params, "train"), "train")
    data = load_train_data(prepared)
    method = resolved.create(data.info)
    device = torch.device("cpu")
    run = dataclasses.replace(
        run_context(name, resolved.config, train, data=data, seed=0, device=device),
        checkpoint_path=None,
    )
    started = time.perf_counter()
    history = method.fit(data, run)
    test = load_labelled_set(prepared / TEST_FILE)
    scores = {
        split: classification_metrics(labels, method.predict_proba(images))
        for split, images, labels in (
            ("val", data.val_x, data.val_y),
            ("test", test.images, test.labels),
        )
    }
    return {
        "seconds": time.perf_counter() - started,
        "validation_points": sum(1 for row in history if f"val_{train.selection_metric}" in row),
        **{f"{split}_{k}": float(scores[split][k]) for split in scores for k in SCORES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--labels", type=int, default=10)
    parser.add_argument("--draws", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(VARIANTS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = load_params(args.params)
    results = []
    for draw in args.draws:
        with tempfile.TemporaryDirectory() as folder:
            prepared = prepared_split(params, args.dataset, args.labels, draw, Path(folder))
            for name in args.methods:
                for variant, overrides in VARIANTS[name].items():
                    row = train_and_score(params, name, overrides, prepared)
                    row.update(dataset=args.dataset, draw=draw, method=name, variant=variant)
                    results.append(row)
                    print(json.dumps(row), flush=True)
                    write_json(args.out, {"labels_per_class": args.labels, "runs": results})
    print(summary(results))


def summary(results: list[dict]) -> str:
    """Per method and variant: mean over draws of validation and test balanced accuracy and AUC,
    and the mean paired difference (second variant minus first) over draws."""
    lines = ["| method | variant | draws | val bacc | val AUC | test bacc | test AUC |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, variants in VARIANTS.items():
        for variant in variants:
            runs = [r for r in results if r["method"] == name and r["variant"] == variant]
            if runs:
                mean = {
                    k: np.mean([r[k] for r in runs]) for k in runs[0] if k[:4] in ("val_", "test")
                }
                val_bacc, test_bacc = mean["val_balanced_accuracy"], mean["test_balanced_accuracy"]
                lines.append(
                    f"| {name} | {variant} | {len(runs)} | {100 * val_bacc:.1f} "
                    f"| {mean['val_auc']:.3f} | {100 * test_bacc:.1f} | {mean['test_auc']:.3f} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
