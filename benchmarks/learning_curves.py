"""Learning curves of step-loop methods on one experiment's data: is an iteration budget enough?

For one workspace (its ``params.yaml`` and ``data/prepared``; a method that reads pipeline products
also needs ``data/inputs/<method>``) it trains each method once per seed, as the train stage does,
with ``--iterations`` in place of the params' count where given. At every validation point it
records the evaluated network's validation score (what selection sees) and, for diagnosis only,
its test accuracy: the test set never chooses anything here or in the pipeline. It reports the
model the pipeline would keep (best validation point), the seconds per training step, and draws
both curves per method in one figure.

    python benchmarks/learning_curves.py --workspace EXP_DIR --methods supervised_cnn fixmatch \
        --seeds 0 1 2 --iterations 6000 --out curves.json --figure curves.png
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from medssl.core.io import write_json  # noqa: E402
from medssl.methods.registry import create_method, method_config  # noqa: E402
from medssl.pipeline.runs import run_context  # noqa: E402
from medssl.pipeline.workspace import open_workspace  # noqa: E402


def train_with_curves(name: str, values: dict, data: Any, test: Any, train_config, seed, device):
    """One training; its curves, the kept model's test accuracy and the seconds per step."""
    method = create_method(name, values, data.info)
    run = dataclasses.replace(
        run_context(
            name, method_config(name, values), train_config, data=data, seed=seed, device=device
        ),
        checkpoint_path=None,
    )
    test_curve: list[float] = []
    predict = method.predict_proba

    def recording(images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        test_probabilities = predict(test.images, batch_size)
        test_curve.append(float(np.mean(test_probabilities.argmax(axis=1) == test.labels)))
        return predict(images, batch_size)

    method.predict_proba = recording  # the loop validates through it
    started = time.perf_counter()
    try:
        history = method.fit(data, run)
    finally:
        del method.predict_proba
    seconds = time.perf_counter() - started
    metric = f"val_{train_config.selection_metric}"
    points = [row for row in history if metric in row]
    kept = method.predict_proba(test.images, train_config.eval_batch_size)
    return {
        "method": name,
        "seed": seed,
        "iterations": values["iterations"],
        "seconds": seconds,
        "seconds_per_step": seconds / values["iterations"],
        "steps": [int(row["step"]) for row in points],
        "val_curve": [row[metric] for row in points],
        "test_curve": test_curve,
        "kept_test_accuracy": float(np.mean(kept.argmax(axis=1) == test.labels)),
        "final_test_accuracy": test_curve[-1],
        "history": history,
    }


CURVES = ("curve", "history")  # keys left out of the printed summary


def smoothed(values: list[float], window: int = 5) -> np.ndarray:
    kernel = np.ones(min(window, len(values))) / min(window, len(values))
    return np.convolve(values, kernel, mode="valid")


def curves_figure(runs: list[dict], metric: str, title: str, path: Path) -> None:
    names = sorted({run["method"] for run in runs})
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for colour, name in zip(plt.cm.tab10.colors, names, strict=False):
        for index, run in enumerate(r for r in runs if r["method"] == name):
            label = name if index == 0 else None
            for axis, key in zip(axes, ("val_curve", "test_curve"), strict=True):
                values = run[key]
                steps = run["steps"][len(run["steps"]) - len(smoothed(values)) :]
                axis.plot(steps, 100 * smoothed(values), color=colour, alpha=0.8, label=label)
    axes[0].set_title(f"validation {metric} (selection sees this), 5-point mean")
    axes[1].set_title("test accuracy (diagnosis only), 5-point mean")
    for axis in axes:
        axis.set_xlabel("training step")
        axis.set_ylabel("%")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", type=Path, required=True, help="an experiment's checkout")
    parser.add_argument("--methods", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--iterations", type=int, help="in place of each method's params count")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args(argv)
    workspace = open_workspace(args.workspace)
    device, test = workspace.device, workspace.test_set()
    runs = []
    for name in args.methods:
        values = workspace.method_values(name)
        if args.iterations:
            values["iterations"] = args.iterations
        data = workspace.train_data(name)
        train_config = workspace.method_train_config(name)
        for seed in args.seeds:
            run = train_with_curves(name, values, data, test, train_config, seed, device)
            runs.append(run)
            print(json.dumps({k: v for k, v in run.items() if not k.endswith(CURVES)}))
    info = json.loads((workspace.prepared / "dataset_info.json").read_text())
    write_json(args.out, {"workspace": str(args.workspace), "dataset": info, "runs": runs})
    if args.figure:
        title = (
            f"{info['name']}, {info['labels_per_class']} labels per class, split seed "
            f"{info['split_seed']}, {len(args.seeds)} training seed(s)"
        )
        curves_figure(runs, workspace.train_config.selection_metric, title, args.figure)


if __name__ == "__main__":
    main()
