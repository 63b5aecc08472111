"""The results page, generated from the ledger: every table and figure of ``docs/results.md``.

A cell pools every current (not superseded) training run of a method at one budget: all training
seeds of all labelled draws (split seeds), mean ± std, n. A run whose method params differ from
``params.yaml`` is a variant: it gets its own row, named by what differs (``plabgan [alpha=0.1,
beta=0.9]``), and is never pooled with the method's default. The ablation tables (PLAB-GAN's α/β,
XRAY-GAN's threshold and losses) read the runs that changed those params and no other of the method.

Whether a row comes from the method's current code is git's answer: the commit it ran at must
contain the last commit that changed any file the method's train stage depends on (``dvc.yaml``).
Older rows stay in the tables, marked, until a rerun supersedes them.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medssl.core import plots
from medssl.core.errors import MedsslError
from medssl.core.io import write_text
from medssl.core.metrics import mean_and_std, metric_slug
from medssl.pipeline.report import METRIC_LABELS, format_score
from medssl.results.ledger import LedgerRow, current_rows

METRICS = ("accuracy", "balanced_accuracy", "auc")
# The ablations the page tabulates: (method, the params varied together).
ABLATIONS = (
    ("plabgan", ("alpha", "beta")),
    ("ucgan", ("threshold",)),
    ("ucgan", ("alpha", "beta", "eta")),
)
GENERATOR_DISTANCE = "generator_fd_resnet20"
OPEN_SET_COLUMNS = (
    ("unknown_auc", "unknown vs known AUC"),
    ("unknown_accuracy", "step 1 accuracy"),
    ("known_accuracy_after_step_1", "step 2 accuracy"),
    ("three_way_accuracy", "three-way accuracy"),
)
OLDER = "†"

Reference = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Provenance:
    """For each method, the commits whose runs are from its current code."""

    current_commits: Mapping[str, frozenset[str]]

    def is_current(self, row: LedgerRow) -> bool:
        return row.commit in self.current_commits.get(row.method, frozenset())


def git_provenance(rows: Sequence[LedgerRow], repo: Path, dvc_yaml: Path) -> Provenance:
    """Which of the ledger's commits contain the last change to each method's train-stage code.

    None while that code has uncommitted changes: a page rendered before or after committing a
    code change is then the same."""
    deps = yaml.safe_load(dvc_yaml.read_text())["stages"]["train"]["do"]["deps"]
    code = [dep for dep in deps if dep.startswith(("src/", "stages/"))]
    current: dict[str, frozenset[str]] = {}
    for method in sorted({row.method for row in rows}):
        paths = [dep.replace("${item}", method) for dep in code]
        if _git(repo, "status", "--porcelain", "--", *paths).strip():
            # its code has changed since the last commit: no run is from it
            current[method] = frozenset()
            continue
        last_change = _git(repo, "log", "-1", "--format=%H", "--", *paths).strip()
        commits = {row.commit for row in rows if row.method == method}
        current[method] = frozenset(c for c in commits if _contains(repo, c, last_change))
    return Provenance(current)


def _git(repo: Path, *arguments: str) -> str:
    completed = subprocess.run(["git", *arguments], cwd=repo, capture_output=True, text=True)
    if completed.returncode != 0:
        raise MedsslError(
            f"git {' '.join(arguments[:2])} failed in {repo}: "
            f"{completed.stderr.strip()} (the results page needs the git history)"
        )
    return completed.stdout


def _contains(repo: Path, commit: str, ancestor: str) -> bool:
    completed = subprocess.run(
        ["git", "merge-base", "--is-ancestor", ancestor, commit],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return completed.returncode == 0


# --- variants ------------------------------------------------------------------------------------


def _differences(row: LedgerRow, reference: Reference) -> list[tuple[str, Any]]:
    if row.method not in reference:
        return []
    expected, actual = _flatten(reference[row.method]), _flatten(json.loads(row.params))
    return [(key, value) for key, value in sorted(actual.items()) if expected.get(key) != value]


def _flatten(section: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.loads(json.dumps(value))
    return flat


def row_label(row: LedgerRow, reference: Reference) -> str:
    """The method, with what differs from params.yaml when anything does."""
    differences = _differences(row, reference)
    if not differences:
        return row.method
    return f"{row.method} [{', '.join(f'{key}={value}' for key, value in differences)}]"


def is_variant(label: str) -> bool:
    return label.endswith("]") and " [" in label


def table_dataset(row: LedgerRow) -> str:
    return f"{row.dataset} ({row.open_set})" if row.open_set else row.dataset


# --- cells ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int
    draws: int  # distinct labelled draws (split seeds)
    older: bool  # some run predates the method's current code

    def score(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}


def _cell(rows: Sequence[LedgerRow], metric: str, provenance: Provenance) -> Cell:
    values = [row.test(metric) for row in rows]
    spread = mean_and_std(values)
    return Cell(
        spread["mean"],
        spread["std"],
        len(values),
        len({r.split_seed for r in rows}),
        not all(provenance.is_current(row) for row in rows),
    )


def budget_cells(
    rows: Sequence[LedgerRow], reference: Reference
) -> dict[tuple[str, int], dict[str, dict[int, list[LedgerRow]]]]:
    """(table dataset, image size) -> row label -> budget -> its runs."""
    grouped: dict[tuple[str, int], dict[str, dict[int, list[LedgerRow]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for row in rows:
        grouped[(table_dataset(row), row.image_size)][row_label(row, reference)][
            row.labels_per_class
        ].append(row)
    return grouped


def _cell_text(cell: Cell, metric: str) -> str:
    return f"{format_score(cell.score(), metric)} (n={cell.n}){OLDER if cell.older else ''}"


def budget_markdown(
    rows: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    figures: Mapping[tuple[str, int], str],
) -> list[str]:
    lines = []
    for (dataset, size), methods in sorted(budget_cells(rows, reference).items()):
        budgets = sorted({b for per_budget in methods.values() for b in per_budget})
        lines += [f"## {dataset}, {size} px", ""]
        if (dataset, size) in figures:
            lines += [f"![{dataset} by budget]({figures[(dataset, size)]})", ""]
        for metric in METRICS:
            lines += [
                f"Test {METRIC_LABELS[metric]}:",
                "",
                "| method | " + " | ".join(f"{b} / class" for b in budgets) + " |",
                "|---|" + "---|" * len(budgets),
            ]
            for label, per_budget in sorted(methods.items()):
                cells = [
                    _cell_text(_cell(per_budget[b], metric, provenance), metric)
                    if b in per_budget
                    else "–"
                    for b in budgets
                ]
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
            lines.append("")
    return lines


def draw_budget_figures(
    rows: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    figures_dir: Path,
    link_prefix: str,
) -> dict[tuple[str, int], str]:
    """One figure per table (accuracy and AUC by budget, default rows); their page links."""
    links = {}
    for (dataset, size), methods in sorted(budget_cells(rows, reference).items()):
        drawn = {
            label: per_budget
            for label, per_budget in methods.items()
            if not is_variant(label) or label.split(" [", 1)[0] not in methods
        }
        if not drawn:
            continue
        name = f"{_slug(dataset)}_{size}px.png"
        curves = {
            metric: {
                label: [
                    (float(b), *_mean_std(cells, metric, provenance))
                    for b, cells in sorted(per_budget.items())
                ]
                for label, per_budget in drawn.items()
            }
            for metric in ("accuracy", "auc")
        }
        budget_panels_figure(curves, figures_dir / name, f"{dataset} ({size} px)")
        links[(dataset, size)] = f"{link_prefix}/{name}"
    return links


def _mean_std(
    rows: Sequence[LedgerRow], metric: str, provenance: Provenance
) -> tuple[float, float]:
    cell = _cell(rows, metric, provenance)
    return cell.mean, cell.std


def budget_panels_figure(
    curves: Mapping[str, Mapping[str, Sequence[tuple[float, float, float]]]], path: Path, title: str
) -> None:
    """Side by side, one panel per metric: a line per method over the label budget (log axis)."""
    figure, axes = plots.plt.subplots(
        1, len(curves), figsize=(5.2 * len(curves), 3.8), squeeze=False
    )
    for axis, (metric, lines) in zip(axes[0], curves.items(), strict=True):
        for label, points in sorted(lines.items()):
            budgets, means, stds = zip(*points, strict=True)
            axis.errorbar(budgets, means, yerr=stds, marker="o", capsize=3, label=label)
        axis.set_xscale("log")
        axis.set_xlabel("labelled images per class")
        axis.set_ylabel(f"test {METRIC_LABELS[metric]} (mean ± std)")
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    figure.suptitle(title)
    plots.save_figure(figure, path)


# --- ablations, generators, open set -------------------------------------------------------------


def ablation_markdown(
    rows: Sequence[LedgerRow],
    reference: Reference,
    method: str,
    keys: Sequence[str],
    provenance: Provenance,
) -> list[str]:
    """The runs of ``method`` that differ from params.yaml in ``keys`` alone (or not at all), per
    budget: each combination of values, mean ± std (n). A budget with one combination is left out.
    """
    pooled: dict[tuple[str, int, int], dict[tuple[Any, ...], list[LedgerRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        if row.method != method or method not in reference:
            continue
        differing = dict(_differences(row, reference))
        if set(differing) - set(keys):
            continue
        settings = {**_flatten(reference[method]), **_flatten(json.loads(row.params))}
        varied = tuple(settings.get(key) for key in keys)
        pooled[(table_dataset(row), row.image_size, row.labels_per_class)][varied].append(row)
    lines = []
    for (dataset, size, budget), variants in sorted(pooled.items()):
        if len(variants) < 2:
            continue
        if not lines:
            lines = [f"## {method}: {', '.join(keys)}", ""]
        lines += [
            f"{dataset}, {size} px, {budget} labelled images per class:",
            "",
            "| "
            + " | ".join(keys)
            + " | "
            + " | ".join(f"test {METRIC_LABELS[m]}" for m in METRICS)
            + " |",
            "|" + "---|" * (len(keys) + len(METRICS)),
        ]
        for varied, runs in sorted(variants.items(), key=lambda item: json.dumps(item[0])):
            cells = [_cell_text(_cell(runs, m, provenance), m) for m in METRICS]
            lines.append(
                "| " + " | ".join(str(v) for v in varied) + " | " + " | ".join(cells) + " |"
            )
        lines.append("")
    return lines


def _experiment_extras(runs: Sequence[LedgerRow]) -> dict[str, dict[str, float]]:
    """Mean ± std over one experiment's seeds of each of the method's own numbers (an older export
    stored them already summarised)."""
    values: dict[str, list[float]] = defaultdict(list)
    summaries: dict[str, dict[str, float]] = {}
    for row in runs:
        for key, value in json.loads(row.extras).items():
            if isinstance(value, Mapping):
                summaries[key] = {"mean": value["mean"], "std": value["std"]}
            elif value is not None:
                values[key].append(float(value))
    return {**summaries, **{key: mean_and_std(v) for key, v in values.items()}}


def _by_experiment(rows: Iterable[LedgerRow]) -> dict[tuple[Any, ...], list[LedgerRow]]:
    grouped: dict[tuple[Any, ...], list[LedgerRow]] = defaultdict(list)
    for row in rows:
        grouped[
            (
                row.commit,
                row.experiment,
                row.recorded,
                row.method,
                row.params_hash,
                row.setup_hash,
                row.cell,
                row.labels_per_class,
                row.split_seed,
            )
        ].append(row)
    return grouped


def generator_markdown(rows: Sequence[LedgerRow], reference: Reference) -> list[str]:
    cells: dict[tuple[str, int], dict[str, dict[int, Mapping[str, float]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for runs in _by_experiment(rows).values():
        extras = _experiment_extras(runs)
        if GENERATOR_DISTANCE in extras:
            row = runs[0]
            cells[(table_dataset(row), row.image_size)][row_label(row, reference)].setdefault(
                row.labels_per_class, extras[GENERATOR_DISTANCE]
            )
    lines = []
    for (dataset, size), methods in sorted(cells.items()):
        budgets = sorted({b for per_budget in methods.values() for b in per_budget})
        lines += [
            f"## Generators: {dataset}, {size} px",
            "",
            "Fréchet distance between generated and real training images in the features "
            "stage's ResNet-20 space (not the Inception FID), mean ± std over one experiment's "
            "seeds; lower is closer. Each experiment trains its own ResNet-20: compare methods "
            "within a column, not budgets.",
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


def open_set_markdown(rows: Sequence[LedgerRow]) -> list[str]:
    """The MCGAN paper's Table 1 (each known class's GAN: AUC for its class against the other) and
    Table 2 (unknown vs known, then the known classes), one row per open-set experiment."""
    experiments = [
        runs
        for runs in _by_experiment(r for r in rows if r.open_set).values()
        if any(key.startswith("auc_") for key in _experiment_extras(runs))
    ]
    if not experiments:
        return []
    lines = [
        "## Open-set experiments (MCGAN paper, Tables 1 and 2)",
        "",
        "Test split, mean ± std over the training seeds (n). GAN AUCs in the order of the known "
        "classes; steps as in the paper's Figure 4, thresholds chosen on the validation split.",
        "",
        "| dataset | labels / class | method | GAN AUCs | "
        + " | ".join(label for _, label in OPEN_SET_COLUMNS)
        + " | n |",
        "|" + "---|" * (5 + len(OPEN_SET_COLUMNS)),
    ]
    for runs in sorted(
        experiments,
        key=lambda r: (table_dataset(r[0]), r[0].labels_per_class, r[0].method, r[0].recorded),
    ):
        row, extras = runs[0], _experiment_extras(runs)
        known = row.open_set.split(";")[0].removeprefix("known ").split(", ")
        gan_aucs = " / ".join(_fraction(extras, f"auc_{metric_slug(name)}_gan") for name in known)
        lines.append(
            f"| {table_dataset(row)} | {row.labels_per_class} | {row.method} | {gan_aucs} | "
            + " | ".join(_fraction(extras, key) for key, _ in OPEN_SET_COLUMNS)
            + f" | {len(runs)} |"
        )
    return lines + [""]


def _fraction(extras: Mapping[str, Mapping[str, float]], key: str) -> str:
    return format_score(extras[key], "auc") if key in extras else "–"


# --- provenance and the page ---------------------------------------------------------------------


def provenance_markdown(rows: Sequence[LedgerRow], provenance: Provenance) -> list[str]:
    """Per commit: runs, of which current (not superseded), and of those from current code."""
    by_commit: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        by_commit[row.commit].append(row)
    lines = [
        "## Where the numbers come from",
        "",
        "Every row of `results/ledger.csv` is one training run. A run at a commit older than the "
        f"last change to its method's code is marked {OLDER} in the tables above; a rerun of "
        "the same cell supersedes it.",
        "",
        "| commit | first run recorded | runs | in the tables | from current code |",
        "|---|---|---|---|---|",
    ]
    for commit, runs in sorted(
        by_commit.items(), key=lambda item: min(r.recorded for r in item[1])
    ):
        shown = [r for r in runs if not r.superseded_by]
        lines.append(
            f"| {commit} | {min(r.recorded for r in runs)[:10]} | {len(runs)} | "
            f"{len(shown)} | {sum(provenance.is_current(r) for r in shown)} |"
        )
    return lines + [""]


def results_page(
    ledger: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    figures_dir: Path,
    link_prefix: str,
) -> str:
    rows = current_rows(ledger)
    if not rows:
        raise MedsslError("the ledger has no runs; add experiments with `medssl-results append`")
    figures = draw_budget_figures(rows, reference, provenance, figures_dir, link_prefix)
    lines = [
        "# Results",
        "",
        "Generated by `medssl-results render` from `results/ledger.csv`: do not edit by hand.",
        "",
        "Each cell: test score, mean ± std over every current run of the method at that budget "
        "(all training seeds of all labelled draws), n runs. Accuracies in %, macro AUC as a "
        f"fraction. {OLDER}: some run predates the method's current code. A row named "
        "[key=value] is a variant whose params differ from `params.yaml`.",
        "",
    ]
    lines += budget_markdown(rows, reference, provenance, figures)
    for method, keys in ABLATIONS:
        lines += ablation_markdown(rows, reference, method, keys, provenance)
    lines += generator_markdown(rows, reference)
    lines += open_set_markdown(rows)
    lines += provenance_markdown(ledger, provenance)
    return "\n".join(lines).rstrip() + "\n"


# The README's headline: test accuracy of the default methods on the two medical datasets that
# every method ran on, at each budget measured.
HEADLINE_DATASETS = (("pneumoniamnist", "PneumoniaMNIST"), ("breastmnist", "BreastMNIST"))
HEADLINE_BUDGETS = (10, 50, 100)
HEADLINE_START, HEADLINE_END = (
    "<!-- headline: generated by medssl-results render -->",
    "<!-- /headline -->",
)


def headline_markdown(
    rows: Sequence[LedgerRow], reference: Reference, provenance: Provenance, methods: Sequence[str]
) -> str:
    """Methods x (dataset, 10 / 50 / 100 labels per class): test accuracy, mean ± std over every
    current run (28 px)."""
    cells = budget_cells(rows, reference)
    columns = [
        (name, label, budget) for name, label in HEADLINE_DATASETS for budget in HEADLINE_BUDGETS
    ]
    lines = [
        "| method | " + " | ".join(f"{label} {budget}" for _, label, budget in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for method in methods:
        values = []
        for name, _, budget in columns:
            runs = cells.get((name, 28), {}).get(method, {}).get(budget)
            values.append(_headline_cell(_cell(runs, "accuracy", provenance)) if runs else "–")
        lines.append(f"| {method} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def _headline_cell(cell: Cell) -> str:
    return f"{100 * cell.mean:.1f} ± {100 * cell.std:.1f}{OLDER if cell.older else ''}"


def with_headline(readme: str, headline: str) -> str:
    """The README with the text between its headline markers replaced."""
    if HEADLINE_START not in readme or HEADLINE_END not in readme:
        raise MedsslError(
            f"README.md has no headline markers ({HEADLINE_START} ... {HEADLINE_END})"
        )
    before, rest = readme.split(HEADLINE_START, 1)
    _, after = rest.split(HEADLINE_END, 1)
    return f"{before}{HEADLINE_START}\n{headline}{HEADLINE_END}{after}"


def write_results_page(
    ledger: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    page: Path,
    figures_dir: Path,
) -> str:
    link_prefix = (
        figures_dir.relative_to(page.parent)
        if figures_dir.is_relative_to(page.parent)
        else figures_dir
    ).as_posix()
    markdown = results_page(ledger, reference, provenance, figures_dir, link_prefix)
    write_text(page, markdown)
    return markdown


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def reference_params(params_path: Path) -> Reference:
    """params.yaml's method sections: what a run is compared with to call it a variant."""
    methods = (yaml.safe_load(params_path.read_text()) or {}).get("methods") or {}
    return {name: section for name, section in methods.items() if isinstance(section, Mapping)}
