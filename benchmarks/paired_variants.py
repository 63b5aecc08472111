"""Two variants of one method on the same labelled draws, compared by what the pipeline would keep:
a longer iteration budget against a shorter one, or a code change's after against its before.
Pairs ``learning_curves.py`` outputs (``--before`` and ``--after``) by dataset and draw.

Each input file is one run of ``learning_curves.py`` (one workspace, one method, one seed) with
``--validations`` a multiple of the params' count, so that it records the checkpoint the pipeline's
own validation points would keep (``pipeline_kept_*``). Per pair it reports the kept checkpoint's
development-split balanced accuracy and AUC in each arm, the end-of-training and best points beside
them (which no pipeline can choose: they show headroom), and per dataset and overall the mean
paired gain of ``--after`` over ``--before`` with a 95 % t-interval. The test split is not read
anywhere on this path.

    python benchmarks/paired_variants.py --before k3000/*.json --after k10000/*.json \\
        --labels "K = 3000" "K = 10000" --out budget.json --figure budget.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from medssl.core.io import write_json  # noqa: E402
from medssl.results.stats import zero_difference_test  # noqa: E402


def run_scores(path: Path) -> dict[str, Any]:
    """The one run in a learning_curves output, with where it came from."""
    report = json.loads(path.read_text())
    if len(report["runs"]) != 1:
        raise SystemExit(f"{path}: expected one run, found {len(report['runs'])}")
    run = report["runs"][0]
    if "pipeline_kept_step" not in run:
        raise SystemExit(
            f"{path}: no pipeline_kept_step; rerun learning_curves.py with --validations a "
            "multiple of the params' train.validations"
        )
    dev = np.asarray(run["dev_balanced_accuracy"])
    best = int(dev.argmax())
    return {
        "file": str(path),
        "dataset": report["dataset"]["name"],
        "draw": int(report["dataset"]["split_seed"]),
        "iterations": int(run["iterations"]),
        "settings": run["settings"],
        "kept_step": run["pipeline_kept_step"],
        "kept_balanced_accuracy": run["pipeline_kept_dev_balanced_accuracy"],
        "kept_auc": run["pipeline_kept_dev_auc"],
        "end_balanced_accuracy": float(dev[-1]),
        "end_auc": float(run["dev_auc"][-1]),
        "best_step": int(run["steps"][best]),
        "best_balanced_accuracy": float(dev[best]),
        "seconds_per_step": run["seconds_per_step"],
    }


def paired_gain(gains: list[float]) -> dict[str, Any]:
    """Mean of the paired gains and its 95 % t-interval (none for a single pair)."""
    mean, low, high, _ = zero_difference_test(gains)
    if len(gains) < 2:
        return {"n": len(gains), "mean": mean, "low": None, "high": None}
    return {"n": len(gains), "mean": mean, "low": low, "high": high}


def summarise(
    before: list[dict[str, Any]], after: list[dict[str, Any]], labels: tuple[str, str]
) -> dict[str, Any]:
    first_of = {(r["dataset"], r["draw"]): r for r in before}
    pairs = []
    for second in sorted(after, key=lambda r: (r["dataset"], r["draw"])):
        first = first_of.get((second["dataset"], second["draw"]))
        if first is None:
            continue
        pairs.append(
            {
                "dataset": second["dataset"],
                "draw": second["draw"],
                "before": first,
                "after": second,
                "gain_balanced_accuracy": second["kept_balanced_accuracy"]
                - first["kept_balanced_accuracy"],
                "gain_auc": second["kept_auc"] - first["kept_auc"],
            }
        )
    if not pairs:
        raise SystemExit("no dataset and draw has a run in both --before and --after")
    datasets = sorted({p["dataset"] for p in pairs})
    gains = {
        name: {
            metric: paired_gain([p[f"gain_{metric}"] for p in pairs if p["dataset"] == name])
            for metric in ("balanced_accuracy", "auc")
        }
        for name in datasets
    }
    gains["all"] = {
        metric: paired_gain([p[f"gain_{metric}"] for p in pairs])
        for metric in ("balanced_accuracy", "auc")
    }
    return {"labels": list(labels), "pairs": pairs, "gains": gains}


def markdown(summary: dict[str, Any]) -> str:
    first, second = summary["labels"]
    lines = [
        f"| dataset | draw | kept, {first}: step, bal. acc. / AUC | kept, {second} | "
        f"end, {first} | end, {second} | best point, {second} |",
        "|---|---|---|---|---|---|---|",
    ]
    for pair in summary["pairs"]:
        a, b = pair["before"], pair["after"]
        lines.append(
            f"| {pair['dataset']} | {pair['draw']} | {a['kept_step']}: "
            f"{100 * a['kept_balanced_accuracy']:.1f} / {a['kept_auc']:.3f} | {b['kept_step']}: "
            f"{100 * b['kept_balanced_accuracy']:.1f} / {b['kept_auc']:.3f} | "
            f"{100 * a['end_balanced_accuracy']:.1f} | {100 * b['end_balanced_accuracy']:.1f} | "
            f"{100 * b['best_balanced_accuracy']:.1f} (step {b['best_step']}) |"
        )
    lines += ["", f"| dataset | {second} less {first}, kept model | n |", "|---|---|---|"]
    for name, gain in summary["gains"].items():
        accuracy, auc = gain["balanced_accuracy"], gain["auc"]
        interval = (
            ""
            if accuracy["low"] is None
            else f" [{100 * accuracy['low']:+.1f}, {100 * accuracy['high']:+.1f}]"
        )
        lines.append(
            f"| {name} | balanced accuracy {100 * accuracy['mean']:+.1f} points{interval}; "
            f"AUC {auc['mean']:+.3f} | {accuracy['n']} |"
        )
    return "\n".join(lines)


def figure(summary: dict[str, Any], path: Path) -> None:
    datasets = sorted({p["dataset"] for p in summary["pairs"]})
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for axis, name in zip(axes[0], datasets, strict=True):
        for pair in (p for p in summary["pairs"] if p["dataset"] == name):
            values = [100 * pair[side]["kept_balanced_accuracy"] for side in ("before", "after")]
            axis.plot([0, 1], values, marker="o", label=f"draw {pair['draw']}")
        axis.set_xticks([0, 1], summary["labels"])
        axis.set_xlim(-0.3, 1.3)
        axis.set_title(f"{name}: the checkpoint validation keeps")
        axis.set_ylabel("development-split balanced accuracy (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, nargs="+", required=True)
    parser.add_argument("--after", type=Path, nargs="+", required=True)
    parser.add_argument("--labels", nargs=2, default=["before", "after"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args(argv)
    summary = summarise(
        [run_scores(path) for path in args.before],
        [run_scores(path) for path in args.after],
        tuple(args.labels),
    )
    write_json(args.out, summary)
    print(markdown(summary))
    if args.figure:
        figure(summary, args.figure)


if __name__ == "__main__":
    main()
