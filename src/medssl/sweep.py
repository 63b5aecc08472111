"""Turn ``dvc exp show --json`` into the papers' table: methods x label budgets, mean ± std.

Each evaluate stage's metrics file names its own dataset, image size, budget and split seed, so the
table needs nothing but the metrics. Runs that appear more than once (an experiment, and the commit
or workspace holding the same result) are counted once. The std pools every training seed of every
experiment in a cell, so sweeping ``split.seed`` too makes it include the labelled-draw variance.

    dvc exp show --json > exps.json && medssl-sweep-table --input exps.json --out-dir reports/sweep
    medssl-sweep-table            # runs `dvc exp show --json` itself
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from medssl import plots
from medssl.errors import MedsslError
from medssl.io import write_text
from medssl.metrics import mean_and_std
from medssl.report import METRIC_LABELS, format_score

METHOD_METRICS_PREFIX = "metrics/methods/"
CLUSTER_METRICS = "metrics/cluster.json"
PSEUDO_LABEL_ROW = "pseudo-labels (cluster stage)"


@dataclass(frozen=True)
class MethodRun:
    dataset: str
    image_size: int
    labels_per_class: int
    split_seed: int
    method: str
    per_seed: dict[str, dict[str, float]]  # seed -> {"test_accuracy": ..., ...}

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.dataset, self.image_size, self.labels_per_class, self.split_seed, self.method,
                tuple(sorted(self.per_seed)))


def _revisions(entries: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Experiments first, then the commits and workspace that hold them: the first occurrence wins."""
    for entry in entries:
        for experiment in entry.get("experiments") or []:
            yield from experiment.get("revs") or []
    for entry in entries:
        yield entry


def method_runs(exp_show: Sequence[Mapping[str, Any]]) -> list[MethodRun]:
    """One run per method and experiment; the cluster stage's pseudo-label accuracy counts as a
    row of its own (one value per experiment), so the budget table shows it beside the methods."""
    runs: dict[tuple[Any, ...], MethodRun] = {}
    for revision in _revisions(exp_show):
        for path, payload in ((revision.get("data") or {}).get("metrics") or {}).items():
            metrics = (payload or {}).get("data")
            if metrics and path.startswith(METHOD_METRICS_PREFIX) and "per_seed" in metrics:
                run = MethodRun(metrics["dataset"], int(metrics["image_size"]), int(metrics["labels_per_class"]),
                                int(metrics["split_seed"]), metrics["method"], metrics["per_seed"])
            elif metrics and path == CLUSTER_METRICS and "image_size" in metrics:
                run = MethodRun(metrics["dataset"], int(metrics["image_size"]), int(metrics["labels_per_class"]),
                                int(metrics["split_seed"]), PSEUDO_LABEL_ROW,
                                {"cluster": {"test_accuracy": metrics["pseudo_label_accuracy"]}})
            else:
                continue
            runs.setdefault(run.identity, run)
    return list(runs.values())


def sweep_cells(runs: Sequence[MethodRun], metric: str) -> dict[tuple[str, int], dict[str, dict[int, dict[str, float]]]]:
    """(dataset, image size) -> method -> budget -> {mean, std, n} over all pooled seed values."""
    pooled: dict[tuple[str, int], dict[str, dict[int, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for run in runs:
        values = [seed_metrics[f"test_{metric}"] for seed_metrics in run.per_seed.values()
                  if f"test_{metric}" in seed_metrics]
        if not values:
            continue
        pooled[(run.dataset, run.image_size)][run.method][run.labels_per_class].extend(values)
    return {
        dataset: {method: {budget: {**mean_and_std(values), "n": len(values)} for budget, values in budgets.items()}
                  for method, budgets in methods.items()}
        for dataset, methods in pooled.items()
    }


def sweep_markdown(runs: Sequence[MethodRun], metrics: Sequence[str]) -> str:
    lines = ["# Label-budget sweep", "",
             "Test split; each cell is mean ± std over every training seed of every experiment with that "
             "budget (n in brackets). Accuracies in %, AUC as a fraction. The pseudo-label row is the cluster "
             "stage's accuracy on the unlabelled pool (one value per experiment).", ""]
    for metric in metrics:
        for (dataset, size), methods in sorted(sweep_cells(runs, metric).items()):
            budgets = sorted({b for per_budget in methods.values() for b in per_budget})
            lines += [f"## {dataset} ({size} px): test {METRIC_LABELS[metric]}", "",
                      "| method | " + " | ".join(f"{b} / class" for b in budgets) + " |",
                      "|---|" + "---|" * len(budgets)]
            for method, per_budget in sorted(methods.items()):
                cells = [f"{format_score(per_budget[b], metric)} (n={per_budget[b]['n']})" if b in per_budget else "–"
                         for b in budgets]
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def write_sweep(runs: Sequence[MethodRun], metrics: Sequence[str], out_dir: Path) -> str:
    if not runs:
        raise MedsslError("no experiment in the input has metrics/methods/*.json; run `dvc exp run` first")
    markdown = sweep_markdown(runs, metrics)
    write_text(out_dir / "sweep.md", markdown)
    for metric in metrics:
        for (dataset, size), methods in sweep_cells(runs, metric).items():
            curves = {method: [(float(b), cell["mean"], cell["std"]) for b, cell in per_budget.items()]
                      for method, per_budget in methods.items()}
            plots.budget_curves_figure(curves, METRIC_LABELS[metric], out_dir / f"{dataset}_{size}px_{metric}.png",
                                       f"{dataset} ({size} px)")
    return markdown


def _read_exp_show(source: str | None) -> list[Mapping[str, Any]]:
    if source is None:
        completed = subprocess.run(["dvc", "exp", "show", "--json"], check=True, capture_output=True, text=True)
        return json.loads(completed.stdout)
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", help="a saved `dvc exp show --json` (or - for stdin); default: run it")
    parser.add_argument("--out-dir", type=Path, default=Path("reports/sweep"))
    parser.add_argument("--metrics", nargs="+", default=["accuracy", "auc"], choices=sorted(METRIC_LABELS))
    args = parser.parse_args(argv)
    try:
        print(write_sweep(method_runs(_read_exp_show(args.input)), args.metrics, args.out_dir))
    except MedsslError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
