"""Learning curves of step-loop methods on a development split: is an iteration budget enough?

For one workspace (its ``params.yaml``, ``data/prepared`` and ``data/hidden``; a method that reads
pipeline products also needs ``data/inputs/<method>``) it trains each method once per seed, as the
train stage does, with ``--iterations`` in place of the params' count where given and ``--set``
overrides of the method's params. At every validation point it records what selection sees (the
labelled validation budget) and, to judge the budget, the same network's balanced accuracy and AUC
on a development split: ``--dev-per-class`` images per class drawn from the unlabelled pool (their
labels come from ``data/hidden``, which no training reads) and taken out of the pool this training
sees. The test split is not read. It reports the point kept among the curve's validations, the
point the pipeline would keep among its own (when ``--validations`` is a multiple of the params'
count, so that those are a subset), and the seconds per training step, and draws both curves per
run in one figure.

    python benchmarks/learning_curves.py --workspace EXP_DIR --methods fixmatch mean_teacher \
        --set mean_teacher.consistency_weight=20 --dev-per-class 250 --validations 30 \
        --out curves.json --figure curves.png
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
import yaml  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402

from medssl.core.io import write_json  # noqa: E402
from medssl.core.metrics import evenly_spaced_steps, macro_auc, selection_key  # noqa: E402
from medssl.data.images import LabelledImages  # noqa: E402
from medssl.data.prepared import TrainData  # noqa: E402
from medssl.methods.registry import create_method, method_config  # noqa: E402
from medssl.pipeline.development import development_split, hidden_pool_labels  # noqa: E402
from medssl.pipeline.runs import run_context  # noqa: E402
from medssl.pipeline.workspace import open_workspace  # noqa: E402


def train_with_curves(
    name: str,
    values: dict,
    *,
    settings: dict[str, Any],
    data: TrainData,
    development: LabelledImages,
    train_config: Any,
    pipeline_validations: int,
    seed: int,
    device: Any,
) -> dict[str, Any]:
    """One training; its validation and development curves and the seconds per step.

    ``pipeline_validations`` is the params' validation count: where ``--validations`` asks for a
    multiple of it, the pipeline's own points are a subset of the curve's, and the run also
    reports the checkpoint the pipeline would keep from them."""
    method = create_method(name, values, data.info)
    run = dataclasses.replace(
        run_context(
            name, method_config(name, values), train_config, data=data, seed=seed, device=device
        ),
        checkpoint_path=None,
    )
    development_points: list[dict[str, float]] = []
    predict = method.predict_proba

    def recording(images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        scores = predict(development.images, batch_size)
        development_points.append(
            {
                "balanced_accuracy": float(
                    balanced_accuracy_score(development.labels, scores.argmax(axis=1))
                ),
                "auc": macro_auc(development.labels, scores),
            }
        )
        return predict(images, batch_size)

    method.predict_proba = recording  # the loop validates through it
    started = time.perf_counter()
    try:
        history = method.fit(data, run)
    finally:
        del method.predict_proba
    seconds = time.perf_counter() - started
    points = [row for row in history if "val_auc" in row]

    def best(indices: list[int]) -> int:
        return max(indices, key=lambda i: selection_key(train_config.selection_metric, points[i]))

    kept = best(list(range(len(points))))
    pipeline_steps = set(
        evenly_spaced_steps(
            first=method.classifier_start_step(),
            last=int(values["iterations"]),
            count=pipeline_validations,
        )
    )
    subset = [i for i, row in enumerate(points) if int(row["step"]) in pipeline_steps]
    pipeline_kept = best(subset) if len(subset) == len(pipeline_steps) else None
    return {
        "method": name,
        "settings": settings,
        "seed": seed,
        "iterations": values["iterations"],
        "seconds_per_step": seconds / values["iterations"],
        "steps": [int(row["step"]) for row in points],
        "val_auc": [row["val_auc"] for row in points],
        "val_balanced_accuracy": [row["val_balanced_accuracy"] for row in points],
        "val_log_loss": [row["val_log_loss"] for row in points],
        "dev_balanced_accuracy": [p["balanced_accuracy"] for p in development_points],
        "dev_auc": [p["auc"] for p in development_points],
        "kept_step": int(points[kept]["step"]),
        "kept_dev_balanced_accuracy": development_points[kept]["balanced_accuracy"],
        "kept_dev_auc": development_points[kept]["auc"],
        **(
            {}
            if pipeline_kept is None
            else {
                "pipeline_validations": pipeline_validations,
                "pipeline_kept_step": int(points[pipeline_kept]["step"]),
                "pipeline_kept_dev_balanced_accuracy": (
                    development_points[pipeline_kept]["balanced_accuracy"]
                ),
                "pipeline_kept_dev_auc": development_points[pipeline_kept]["auc"],
            }
        ),
    }


def run_label(run: dict) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in run["settings"].items())
    return f"{run['method']} [{settings}]" if settings else run["method"]


def curves_figure(runs: list[dict], title: str, path: Path) -> None:
    labels = sorted({run_label(run) for run in runs})
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for colour, label in zip(plt.cm.tab10.colors, labels, strict=False):
        for index, run in enumerate(r for r in runs if run_label(r) == label):
            legend = label if index == 0 else None
            axes[0].plot(run["steps"], run["val_auc"], color=colour, alpha=0.8, label=legend)
            axes[1].plot(
                run["steps"], 100 * np.array(run["dev_balanced_accuracy"]), color=colour, alpha=0.8
            )
    axes[0].set_title("validation AUC (what selection sees)")
    axes[0].set_ylabel("AUC")
    axes[1].set_title("development balanced accuracy (pool images, judged only)")
    axes[1].set_ylabel("%")
    for axis in axes:
        axis.set_xlabel("training step")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def parse_overrides(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``method.key=value`` (value as YAML) -> {method: {key: value}}."""
    overrides: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, _, text = pair.partition("=")
        method, _, key = target.partition(".")
        if not (method and key and text):
            raise SystemExit(f"--set {pair!r}: write method.key=value")
        overrides.setdefault(method, {})[key] = yaml.safe_load(text)
    return overrides


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", type=Path, required=True, help="an experiment's checkout")
    parser.add_argument("--methods", nargs="+", required=True, help="a method may repeat")
    parser.add_argument("--set", nargs="*", default=[], help="method.key=value, per method name")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--iterations", type=int, help="in place of each method's params count")
    parser.add_argument("--validations", type=int, help="in place of train.validations")
    parser.add_argument("--dev-per-class", type=int, default=250)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    workspace = open_workspace(args.workspace)
    hidden = hidden_pool_labels(workspace.root)
    runs = []
    for name in args.methods:
        method_name = name.split(":")[0]  # fixmatch:variant-b: the same method, its own --set
        values = {**workspace.method_values(method_name), **overrides.get(name, {})}
        if args.iterations:
            values["iterations"] = args.iterations
        data, development = development_split(
            workspace.train_data(method_name), hidden, per_class=args.dev_per_class
        )
        train_config = workspace.method_train_config(method_name)
        pipeline_validations = train_config.validations
        if args.validations:
            train_config = dataclasses.replace(train_config, validations=args.validations)
        for seed in args.seeds:
            run = train_with_curves(
                method_name,
                values,
                settings=overrides.get(name, {}),
                data=data,
                development=development,
                train_config=train_config,
                pipeline_validations=pipeline_validations,
                seed=seed,
                device=workspace.device,
            )
            runs.append(run)
            print(json.dumps({k: v for k, v in run.items() if not isinstance(v, list)}))
    info = json.loads((workspace.prepared / "dataset_info.json").read_text())
    write_json(
        args.out,
        {
            "workspace": str(args.workspace),
            "dataset": info,
            "dev_per_class": args.dev_per_class,
            "runs": runs,
        },
    )
    if args.figure:
        title = (
            f"{info['name']}, {info['labels_per_class']} labels per class, split seed "
            f"{info['split_seed']}; development split {args.dev_per_class} per class"
        )
        curves_figure(runs, title, args.figure)


if __name__ == "__main__":
    main()
