"""Turn ``dvc exp show --json`` into the papers' table: methods x label budgets, mean ± std.

Each evaluate stage's metrics file names its own dataset, image size, budget and split seed, so the
table needs nothing but the metrics (and, to tell method variants apart, the experiment's params).
Runs that appear more than once (an experiment, and the commit or workspace holding the same result)
are counted once. The std pools every training seed of every experiment in a cell, so sweeping
``split.seed`` too makes it include the labelled-draw variance.

A run whose ``methods.<method>`` section differs from the workspace's ``params.yaml`` is a variant:
it gets a row of its own, named by what differs (``plabgan [alpha=0.1, beta=0.9]``), and is never
pooled with the method's default. ``--vary methods.plabgan.alpha methods.plabgan.beta`` also writes
a table and a figure of one method's variants at each budget (the PLAB-GAN paper's Figure 5), from
the runs that changed those params and no other of the method; repeat ``--vary`` for another
ablation (``--vary methods.ucgan.threshold --vary methods.ucgan.alpha methods.ucgan.beta
methods.ucgan.eta``).

An open-set experiment (``split.known_classes`` set, as for MCGAN) is a dataset of its own in the
tables, named by its known and unknown classes, and its methods' open-set metrics (each class's GAN
AUC, the unknown-vs-known step and the three-way accuracy, the MCGAN paper's Tables 1 and 2) go to
``open_set.md``.

    dvc exp show --json > exps.json && medssl-sweep-table --input exps.json --out-dir plots/sweep
    medssl-sweep-table            # runs `dvc exp show --json` itself
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medssl.core import plots
from medssl.core.errors import MedsslError, UnknownDatasetError
from medssl.core.io import write_text
from medssl.core.metrics import mean_and_std, metric_slug
from medssl.data.catalog import dataset_spec
from medssl.pipeline.report import METRIC_LABELS, format_score

METHOD_METRICS_PREFIX = "metrics/methods/"
CLUSTER_METRICS = "metrics/cluster.json"
PSEUDO_LABEL_ROW = "pseudo-labels (cluster stage)"
GENERATOR_DISTANCE = "generator_fd_resnet20"


@dataclass(frozen=True)
class MethodRun:
    dataset: str
    image_size: int
    labels_per_class: int
    split_seed: int
    method: str
    per_seed: dict[str, dict[str, float]]  # seed -> {"test_accuracy": ..., ...}
    # the experiment's methods.<method> params, flattened
    settings: tuple[tuple[str, str], ...] = ()
    open_set: str = ""  # "known 8, 3; unknown 9" for an open-set split, else ""
    known_names: tuple[str, ...] = ()
    # metrics' "extras"
    extras: Mapping[str, Mapping[str, float]] = field(default_factory=dict, compare=False)
    # The generator's Fréchet distance in the features stage's ResNet-20 space ({mean, std} over the
    # seeds), for methods that train a generator worth sampling from (cgan_aug, ucgan).
    generator_distance: Mapping[str, float] | None = field(default=None, compare=False)

    @property
    def table_dataset(self) -> str:
        return f"{self.dataset} ({self.open_set})" if self.open_set else self.dataset

    @property
    def identity(self) -> tuple[Any, ...]:
        return (
            self.dataset,
            self.open_set,
            self.image_size,
            self.labels_per_class,
            self.split_seed,
            self.method,
            tuple(sorted(self.per_seed)),
            self.settings,
        )


def _flatten(section: Mapping[str, Any], prefix: str = "") -> tuple[tuple[str, str], ...]:
    items: list[tuple[str, str]] = []
    for key, value in section.items():
        if isinstance(value, Mapping):
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", json.dumps(value)))
    return tuple(sorted(items))


def _params(revision: Mapping[str, Any]) -> Mapping[str, Any]:
    """A revision's params.yaml, as `dvc exp show --json` nests it ({} when absent)."""
    return (((revision.get("data") or {}).get("params") or {}).get("params.yaml") or {}).get(
        "data"
    ) or {}


def _method_settings(revision: Mapping[str, Any], method: str) -> tuple[tuple[str, str], ...]:
    return _flatten((_params(revision).get("methods") or {}).get(method) or {})


def _class_names(dataset: str, classes: Sequence[int]) -> tuple[str, ...]:
    try:
        names = dataset_spec(dataset).label_names
    except UnknownDatasetError:  # a local source: its class names are not in the catalogue
        return tuple(str(c) for c in classes)
    return tuple(names[c] if 0 <= c < len(names) else str(c) for c in classes)


def _open_set(revision: Mapping[str, Any], dataset: str) -> tuple[str, tuple[str, ...]]:
    """("known 8, 3; unknown 9", ("8", "3")) for an open-set split, ("", ()) otherwise."""
    split = _params(revision).get("split") or {}
    known, unknown = (
        list(split.get("known_classes") or []),
        list(split.get("unknown_classes") or []),
    )
    if not known:
        return "", ()
    known_names = _class_names(dataset, known)
    label = "known " + ", ".join(known_names)
    if unknown:
        label += "; unknown " + ", ".join(_class_names(dataset, unknown))
    return label, known_names


def _is_workspace(entry: Mapping[str, Any]) -> bool:
    return entry.get("rev") == "workspace"


def _revisions(entries: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Finished experiments first, then the commits and workspace that hold them: the first
    occurrence wins."""
    for entry in entries:
        for experiment in entry.get("experiments") or []:
            # A queued, running or failed experiment shows its baseline's metrics under its own
            # params: only finished ones count.
            if (experiment.get("executor") or {}).get("state", "success") == "success":
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
            if not metrics or "image_size" not in metrics:
                continue
            open_set, known_names = _open_set(revision, metrics["dataset"])
            cell = (
                metrics["dataset"],
                int(metrics["image_size"]),
                int(metrics["labels_per_class"]),
                int(metrics["split_seed"]),
            )
            if path.startswith(METHOD_METRICS_PREFIX) and "per_seed" in metrics:
                run = MethodRun(
                    *cell,
                    metrics["method"],
                    metrics["per_seed"],
                    _method_settings(revision, metrics["method"]),
                    open_set,
                    known_names,
                    metrics.get("extras") or {},
                    metrics.get(GENERATOR_DISTANCE),
                )
            elif path == CLUSTER_METRICS:
                run = MethodRun(
                    *cell,
                    PSEUDO_LABEL_ROW,
                    {"cluster": {"test_accuracy": metrics["pseudo_label_accuracy"]}},
                    (),
                    open_set,
                    known_names,
                )
            else:
                continue
            runs.setdefault(run.identity, run)
    return list(runs.values())


def reference_settings(
    exp_show: Sequence[Mapping[str, Any]],
) -> dict[str, tuple[tuple[str, str], ...]]:
    """method -> its params section in the workspace (what a run is compared with to call it a
    variant)."""
    for entry in exp_show:
        if _is_workspace(entry):
            methods = _params(entry).get("methods") or {}
            return {
                name: _flatten(section)
                for name, section in methods.items()
                if isinstance(section, Mapping)
            }
    return {}


def variant_label(run: MethodRun, reference: Mapping[str, tuple[tuple[str, str], ...]]) -> str:
    """The method's name, plus what differs from the reference params when it differs."""
    if run.method not in reference or not run.settings:
        return run.method
    expected = dict(reference[run.method])
    differences = [
        f"{key}={json.loads(value)}" for key, value in run.settings if expected.get(key) != value
    ]
    return f"{run.method} [{', '.join(differences)}]" if differences else run.method


def is_variant_label(label: str) -> bool:
    return label.endswith("]") and " [" in label


def _figure_rows(labels: Iterable[str]) -> set[str]:
    """The rows a budget figure draws: every method's default row; a variant only where its method
    has no default row in the figure (an experiment series run only with changed params, e.g. fewer
    iterations). Variants of a method that has a default row are drawn by --vary's figure; here they
    would only add lone points to the legend."""
    labels = list(labels)
    plain = {label for label in labels if not is_variant_label(label)}
    return plain | {
        label
        for label in labels
        if is_variant_label(label) and label.split(" [", 1)[0] not in plain
    }


def _test_values(run: MethodRun, metric: str) -> list[float]:
    return [
        seed_metrics[f"test_{metric}"]
        for seed_metrics in run.per_seed.values()
        if f"test_{metric}" in seed_metrics
    ]


def sweep_cells(
    runs: Sequence[MethodRun],
    metric: str,
    reference: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
) -> dict[tuple[str, int], dict[str, dict[int, dict[str, float]]]]:
    """(dataset, image size) -> method (or variant) -> budget -> {mean, std, n} over all pooled seed
    values."""
    pooled: dict[tuple[str, int], dict[str, dict[int, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for run in runs:
        values = _test_values(run, metric)
        if values:
            row = variant_label(run, reference or {})
            pooled[(run.table_dataset, run.image_size)][row][run.labels_per_class].extend(values)
    return {
        dataset: {
            method: {
                budget: {**mean_and_std(values), "n": len(values)}
                for budget, values in budgets.items()
            }
            for method, budgets in methods.items()
        }
        for dataset, methods in pooled.items()
    }


Reference = Mapping[str, tuple[tuple[str, str], ...]]


def sweep_markdown(
    runs: Sequence[MethodRun], metrics: Sequence[str], reference: Reference | None = None
) -> str:
    lines = [
        "# Label-budget sweep",
        "",
        "Test split; each cell is mean ± std over every training seed of every experiment with "
        "that "
        "budget (n in brackets). Accuracies in %, AUC as a fraction. The pseudo-label row is the "
        "cluster "
        "stage's accuracy on the unlabelled pool (one value per experiment). A row named with "
        "[key=value] "
        "is a variant whose method params differ from params.yaml.",
        "",
    ]
    for metric in metrics:
        for (dataset, size), methods in sorted(sweep_cells(runs, metric, reference).items()):
            budgets = sorted({b for per_budget in methods.values() for b in per_budget})
            lines += [
                f"## {dataset} ({size} px): test {METRIC_LABELS[metric]}",
                "",
                "| method | " + " | ".join(f"{b} / class" for b in budgets) + " |",
                "|---|" + "---|" * len(budgets),
            ]
            for method, per_budget in sorted(methods.items()):
                cells = [
                    f"{format_score(per_budget[b], metric)} (n={per_budget[b]['n']})"
                    if b in per_budget
                    else "–"
                    for b in budgets
                ]
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines + generator_distance_markdown(runs, reference))


def generator_distance_markdown(
    runs: Sequence[MethodRun], reference: Reference | None = None
) -> list[str]:
    """Per dataset, methods x budgets: the generator's Fréchet distance (mean ± std over one
    experiment's seeds; the first experiment of a cell wins), lower = closer to the real images."""
    cells: dict[tuple[str, int], dict[str, dict[int, Mapping[str, float]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for run in runs:
        if run.generator_distance:
            row = variant_label(run, reference or {})
            cells[(run.table_dataset, run.image_size)][row].setdefault(
                run.labels_per_class, run.generator_distance
            )
    lines: list[str] = []
    for (dataset, size), methods in sorted(cells.items()):
        budgets = sorted({b for per_budget in methods.values() for b in per_budget})
        lines += [
            f"## {dataset} ({size} px): generator Fréchet distance",
            "",
            "In the features stage's ResNet-20 space (not the Inception FID), generated vs real "
            "training images, mean ± std over the seeds; lower is closer. Each experiment trains "
            "its own "
            "ResNet-20 on its labelled images: compare methods within a column, not budgets.",
            "",
            "| method | " + " | ".join(f"{b} / class" for b in budgets) + " |",
            "|---|" + "---|" * len(budgets),
        ]
        for method, per_budget in sorted(methods.items()):
            lines.append(
                f"| {method} | "
                + " | ".join(
                    f"{per_budget[b]['mean']:.2f} ± {per_budget[b]['std']:.2f}"
                    if b in per_budget
                    else "–"
                    for b in budgets
                )
                + " |"
            )
        lines.append("")
    return lines


def parse_varied_keys(keys: Sequence[str]) -> tuple[str, list[str]]:
    """``methods.<method>.<key>`` names -> (method, keys); all must name the same method."""
    parsed = [key.split(".", 2) for key in keys]
    if (
        any(len(parts) != 3 or parts[0] != "methods" for parts in parsed)
        or len({p[1] for p in parsed}) != 1
    ):
        raise MedsslError(
            f"--vary takes methods.<method>.<key> names of one method, got {' '.join(keys)}"
        )
    return parsed[0][1], [parts[2] for parts in parsed]


def _differs_only_in(run: MethodRun, keys: Sequence[str], reference: Reference | None) -> bool:
    """True when the run's method params equal the reference's except, perhaps, for ``keys``: an
    ablation of one param must not pool in runs where another param was changed too."""
    if not reference or run.method not in reference:
        return True
    expected = dict(reference[run.method])
    return all(expected.get(key) == value for key, value in run.settings if key not in keys)


def variant_cells(
    runs: Sequence[MethodRun],
    method: str,
    keys: Sequence[str],
    metric: str,
    reference: Reference | None = None,
) -> dict[tuple[str, int, int], dict[tuple[Any, ...], dict[str, float]]]:
    """(dataset, size, budget) -> values of ``keys`` -> {mean, std, n}, for one method's runs (with
    a reference: only the runs that differ from it in ``keys`` alone)."""
    pooled: dict[tuple[str, int, int], dict[tuple[Any, ...], list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for run in runs:
        settings = dict(run.settings)
        if run.method != method or not all(key in settings for key in keys):
            continue
        if not _differs_only_in(run, keys, reference):
            continue
        varied = tuple(json.loads(settings[key]) for key in keys)
        pooled[(run.table_dataset, run.image_size, run.labels_per_class)][varied].extend(
            _test_values(run, metric)
        )
    # A budget at which only one combination ran has nothing to compare: it is left out.
    return {
        cell: {
            varied: {**mean_and_std(values), "n": len(values)}
            for varied, values in variants.items()
            if values
        }
        for cell, variants in pooled.items()
        if sum(1 for values in variants.values() if values) > 1
    }


def variants_markdown(
    method: str,
    keys: Sequence[str],
    metrics: Sequence[str],
    by_metric: Mapping[str, Mapping[tuple[str, int, int], Any]],
) -> str:
    """The table of :func:`variant_cells` for each metric (``by_metric``)."""
    lines = [
        f"# {method}: {', '.join(keys)}",
        "",
        "Test split, mean ± std over every training seed of every experiment with those values "
        "(n); "
        "runs that also changed other params of the method are left out.",
        "",
    ]
    for dataset, size, budget in sorted(by_metric[metrics[0]]):
        variants = by_metric[metrics[0]][(dataset, size, budget)]
        lines += [
            f"## {dataset} ({size} px), {budget} labelled images per class",
            "",
            "| "
            + " | ".join(keys)
            + " | "
            + " | ".join(f"test {METRIC_LABELS[m]}" for m in metrics)
            + " |",
            "|" + "---|" * (len(keys) + len(metrics)),
        ]
        for varied in sorted(variants):
            cells = [
                format_score(by_metric[m][(dataset, size, budget)][varied], m)
                + f" (n={by_metric[m][(dataset, size, budget)][varied]['n']})"
                for m in metrics
            ]
            lines.append(
                "| " + " | ".join(str(v) for v in varied) + " | " + " | ".join(cells) + " |"
            )
        lines.append("")
    return "\n".join(lines)


def variant_figure(
    labels: Sequence[str],
    series: Mapping[str, Sequence[Mapping[str, float]]],
    axis_label: str,
    path: Path,
    title: str,
) -> None:
    """One line per metric over a method's parameter variants (mean ± std), as PLAB-GAN's Figure 5.

    Here rather than in ``plots`` because every pipeline stage depends on ``plots.py``: a figure
    that only this command draws should not make DVC retrain anything when it changes."""
    figure, axis = plots.plt.subplots(figsize=(1.6 + 0.9 * len(labels), 3.6))
    positions = np.arange(len(labels))
    for metric, cells in series.items():
        axis.errorbar(
            positions,
            [c["mean"] for c in cells],
            yerr=[c["std"] for c in cells],
            marker="o",
            capsize=3,
            label=metric,
        )
    axis.set_xticks(positions, labels=labels)
    axis.set_xlabel(axis_label)
    axis.set_ylabel("test score (mean ± std)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    plots.save_figure(figure, path)


def write_sweep(
    runs: Sequence[MethodRun],
    metrics: Sequence[str],
    out_dir: Path,
    reference: Reference | None = None,
    varied: Sequence[Sequence[str]] = (),
) -> str:
    """sweep.md and the budget figures; for each group of ``varied`` keys (one method's params), its
    variants table and figures; open_set.md when there are open-set runs. Returns all the markdown.
    """
    if not runs:
        raise MedsslError(
            "no experiment in the input has metrics/methods/*.json; run `dvc exp run` first"
        )
    markdown = sweep_markdown(runs, metrics, reference)
    write_text(out_dir / "sweep.md", markdown)
    for metric in metrics:
        for (dataset, size), methods in sweep_cells(runs, metric, reference).items():
            drawn = _figure_rows(methods)
            curves = {
                label: [(float(b), cell["mean"], cell["std"]) for b, cell in per_budget.items()]
                for label, per_budget in methods.items()
                if label in drawn
            }
            plots.budget_curves_figure(
                curves,
                METRIC_LABELS[metric],
                out_dir / f"{_slug(dataset)}_{size}px_{metric}.png",
                f"{dataset} ({size} px)",
            )
    for varied_keys in varied:
        markdown += "\n" + _write_variants(runs, metrics, out_dir, reference, varied_keys)
    open_set = open_set_markdown(runs)
    if open_set:
        write_text(out_dir / "open_set.md", open_set)
        markdown += "\n" + open_set
    return markdown


def _write_variants(
    runs: Sequence[MethodRun],
    metrics: Sequence[str],
    out_dir: Path,
    reference: Reference | None,
    varied_keys: Sequence[str],
) -> str:
    """<method>_<keys>.md and one figure per budget, e.g. plabgan_alpha_beta.md."""
    method, keys = parse_varied_keys(varied_keys)
    stem = "_".join([method, *keys])
    by_metric = {m: variant_cells(runs, method, keys, m, reference) for m in metrics}
    variants = variants_markdown(method, keys, metrics, by_metric)
    write_text(out_dir / f"{stem}.md", variants)
    for (dataset, size, budget), cells in by_metric[metrics[0]].items():
        series = {
            METRIC_LABELS[m]: [by_metric[m][(dataset, size, budget)][v] for v in sorted(cells)]
            for m in metrics
        }
        variant_figure(
            [", ".join(str(x) for x in v) for v in sorted(cells)],
            series,
            f"({', '.join(keys)})",
            out_dir / f"{stem}_{_slug(dataset)}_{size}px_{budget}.png",
            f"{method}, {dataset} ({size} px), {budget} labels/class",
        )
    return variants


def _slug(name: str) -> str:
    """A file-name-safe form of a table's dataset label (plain dataset names kept as they are)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


OPEN_SET_COLUMNS = (
    ("unknown_auc", "unknown vs known AUC"),
    ("unknown_accuracy", "step 1 accuracy"),
    ("known_accuracy_after_step_1", "step 2 accuracy"),
    ("three_way_accuracy", "three-way accuracy"),
)


def _score(extras: Mapping[str, Mapping[str, float]], key: str) -> str:
    # fractions, as AUCs are shown
    return format_score(extras[key], "auc") if key in extras else "–"


def open_set_markdown(runs: Sequence[MethodRun]) -> str:
    """The MCGAN paper's Table 1 (each known class's GAN: AUC for its class against the other) and
    Table 2 (step 1: unknown vs known by the summed scores; step 2: the known classes among the
    images step 1 passes), one row per open-set experiment and method; "" when there is none."""
    rows = [
        run for run in runs if run.open_set and any(key.startswith("auc_") for key in run.extras)
    ]
    if not rows:
        return ""
    lines = [
        "# Open-set experiments (MCGAN paper, Tables 1 and 2)",
        "",
        "Test split, mean ± std over the training seeds (n). GAN AUCs in the order of the known "
        "classes "
        "(the GAN trained on the first / on the second); steps as in the paper's Figure 4, "
        "thresholds "
        "chosen on the validation split.",
        "",
        "| dataset | labels / class | method | GAN AUCs | "
        + " | ".join(label for _, label in OPEN_SET_COLUMNS)
        + " | n |",
        "|" + "---|" * (5 + len(OPEN_SET_COLUMNS)),
    ]
    for run in sorted(rows, key=lambda r: (r.table_dataset, r.labels_per_class, r.method)):
        gan_keys = [f"auc_{metric_slug(name)}_gan" for name in run.known_names]
        gan_aucs = " / ".join(_score(run.extras, key) for key in gan_keys)
        lines.append(
            f"| {run.table_dataset} | {run.labels_per_class} | {run.method} | {gan_aucs} | "
            + " | ".join(_score(run.extras, key) for key, _ in OPEN_SET_COLUMNS)
            + f" | {len(run.per_seed)} |"
        )
    return "\n".join(lines) + "\n"


def _read_exp_show(source: str | None) -> list[Mapping[str, Any]]:
    if source is None:
        completed = subprocess.run(
            ["dvc", "exp", "show", "--json"], check=True, capture_output=True, text=True
        )
        return json.loads(completed.stdout)
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def read_exp_shows(sources: Sequence[str] | None) -> list[Mapping[str, Any]]:
    """One ``dvc exp show --json`` list from several (sweeps run from other commits or machines).

    List the newest first: its workspace params are the reference for naming variants, and
    ``method_runs`` keeps the first run of each (dataset, budget, split seed, method, seeds,
    params), so an older source's run of the same cell, even with other results, is dropped.
    """
    if sources is not None and list(sources).count("-") > 1:
        raise MedsslError("--input names stdin (-) more than once; it can be read only once")
    merged: list[Mapping[str, Any]] = []
    for source in sources or [None]:
        merged.extend(_read_exp_show(source))
    return merged


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--input",
        nargs="+",
        metavar="FILE",
        help="saved `dvc exp show --json` outputs (- for stdin), merged; default: run it",
    )
    parser.add_argument("--out-dir", type=Path, default=Path("plots/sweep"))
    parser.add_argument(
        "--metrics", nargs="+", default=["accuracy", "auc"], choices=sorted(METRIC_LABELS)
    )
    parser.add_argument(
        "--vary",
        nargs="+",
        action="append",
        default=[],
        metavar="methods.METHOD.KEY",
        help="also tabulate one method's runs by these params (e.g. its alpha and beta); "
        "repeat --vary for another table",
    )
    args = parser.parse_args(argv)
    try:
        exp_show = read_exp_shows(args.input)
        print(
            write_sweep(
                method_runs(exp_show),
                args.metrics,
                args.out_dir,
                reference_settings(exp_show),
                args.vary,
            )
        )
    except MedsslError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
