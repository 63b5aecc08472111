"""The results page, generated from the ledger: every table and figure of ``docs/results.md``.

Tables are per dataset, image size and validation protocol (how many labelled validation images per
class chose the checkpoints: as many as the training labels, the realistic default, or the whole
official validation split). A cell pools the current (not superseded) runs of a method at one
budget, over its labelled draws (split seeds) and training seeds: the mean over draws of each draw's
mean, ± the std over draws (over the training seeds when there is one draw). Where some of a cell's
runs are from the method's current code, only those are pooled: a grid re-measured at one commit
replaces older numbers cell by cell. A run whose method params differ from ``params.yaml`` is a
variant: it gets its own row, named by what differs (``plabgan [alpha=0.1, beta=0.9]``), and is
never pooled with the method's default; so is a run under other loop settings (the ledger's
``loop``: ``ssgan [train.autocast=bf16]``). A cell counts each (draw, training seed) once: its
newest run. The ablation tables (PLAB-GAN's α/β, XRAY-GAN's threshold
and losses) read the runs that changed those params and no other of the method.

Paired comparisons match two rows' runs on (split seed, training seed): the mean difference over
draws, its 95 % t-interval over draws, and wins / ties / losses over the pairs. A claim that one
beats the other is made only where the interval, over at least ``CLAIM_DRAWS`` draws, excludes zero.

Whether a row comes from the method's current code is git's answer: the commit it ran at must
contain the last commit that changed any file the method's train stage depends on (``dvc.yaml``).
Older rows stay in the tables, marked, until a rerun supersedes them.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from medssl.core import plots
from medssl.core.config import EVERY_IMAGE_LABELLED
from medssl.core.errors import MedsslError
from medssl.core.io import write_text
from medssl.core.metrics import (
    budget_heading,
    budget_order,
    budget_text,
    mean_and_std,
    metric_slug,
)
from medssl.pipeline.report import METRIC_LABELS, format_score
from medssl.results.ledger import LedgerRow, current_rows, loop_settings, newest_run

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
LOOP_SECTION = "train"  # a row's loop settings, beside its method params: train.autocast=bf16


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
    expected, actual = _flatten(reference[row.method]), _flatten(run_settings(row))
    return [(key, value) for key, value in sorted(actual.items()) if expected.get(key) != value]


def run_settings(row: LedgerRow) -> dict[str, Any]:
    """The method's params, and under ``train`` the loop settings the row records."""
    loop = json.loads(row.loop)
    return {**json.loads(row.params), **({LOOP_SECTION: loop} if loop else {})}


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

FULL_VALIDATION = "validation: the whole official split"
BUDGET_VALIDATION = "validation: as many labels as training"
REFERENCE_METHOD = "supervised_cnn"
# Semi-supervised methods from current practice, not from the seed papers: every seed method is
# also compared with each of them.
CURRENT_PRACTICE = ("fixmatch", "mean_teacher")
CONFIDENCE = 0.95
# Fewest labelled draws behind a claim, as a headline cell needs (issue 21). Two draws give the
# t-interval one degree of freedom, and on a 156-image test set two equal differences (one image is
# 0.64 points) give it zero width: a claim from nothing.
CLAIM_DRAWS = 3


def protocol_label(row: LedgerRow) -> str:
    """How the run's checkpoints were chosen: its labelled validation budget."""
    if row.val_labels_per_class == 0:
        return FULL_VALIDATION
    if row.val_labels_per_class == row.labels_per_class:
        return BUDGET_VALIDATION
    return f"validation: {row.val_labels_per_class} labels / class"


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float  # over draws; over the training seeds of the one draw when there is one
    n: int  # runs
    draws: int  # distinct labelled draws (split seeds)
    older: bool  # some run predates the method's current code

    def score(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}


def pooled_runs(rows: Sequence[LedgerRow], provenance: Provenance) -> list[LedgerRow]:
    """The runs a cell pools: those from the method's current code where there are any, else all;
    of these, one per (draw, training seed), the newest. Two runs of one seed in one row differ in
    no setting the row's label names (at most in thread counts, which change the last digits), so
    pooling both would count that seed twice."""
    current = [row for row in rows if provenance.is_current(row)] or list(rows)
    by_seed: dict[tuple[int, int], list[LedgerRow]] = defaultdict(list)
    for row in current:
        by_seed[(row.split_seed, row.training_seed)].append(row)
    kept = {id(newest_run(group)) for group in by_seed.values()}
    return [row for row in current if id(row) in kept]


def _by_draw(rows: Iterable[LedgerRow]) -> dict[int, list[LedgerRow]]:
    draws: dict[int, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        draws[row.split_seed].append(row)
    return draws


def _cell(rows: Sequence[LedgerRow], metric: str, provenance: Provenance) -> Cell:
    return _pooled_cell(rows, lambda row: row.test(metric), provenance)


def _pooled_cell(
    rows: Sequence[LedgerRow], value: Callable[[LedgerRow], float], provenance: Provenance
) -> Cell:
    runs = pooled_runs(rows, provenance)
    draws = _by_draw(runs)
    if len(draws) > 1:
        spread = mean_and_std([float(np.mean([value(r) for r in draw])) for draw in draws.values()])
    else:
        spread = mean_and_std([value(row) for row in runs])
    return Cell(
        spread["mean"],
        spread["std"],
        len(runs),
        len(draws),
        not all(provenance.is_current(row) for row in runs),
    )


Table = tuple[str, int, str]  # (dataset, image size, validation protocol)


def budget_cells(
    rows: Sequence[LedgerRow], reference: Reference
) -> dict[Table, dict[str, dict[int, list[LedgerRow]]]]:
    """(table dataset, image size, protocol) -> row label -> budget -> its runs."""
    grouped: dict[Table, dict[str, dict[int, list[LedgerRow]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for row in rows:
        grouped[(table_dataset(row), row.image_size, protocol_label(row))][
            row_label(row, reference)
        ][row.labels_per_class].append(row)
    return grouped


def _cell_text(cell: Cell, metric: str) -> str:
    return (
        f"{format_score(cell.score(), metric)} (d={cell.draws}, n={cell.n})"
        f"{OLDER if cell.older else ''}"
    )


def _budgets(methods: Mapping[str, Mapping[int, object]]) -> list[int]:
    """Every budget any row has, in reading order (all-labelled last)."""
    return sorted({b for per_budget in methods.values() for b in per_budget}, key=budget_order)


def budget_markdown(
    rows: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    figures: Mapping[Table, str],
) -> list[str]:
    lines = []
    for (dataset, size, protocol), methods in sorted(budget_cells(rows, reference).items()):
        budgets = _budgets(methods)
        lines += [f"## {dataset}, {size} px, {protocol}", ""]
        if (dataset, size, protocol) in figures:
            lines += [f"![{dataset} by budget]({figures[(dataset, size, protocol)]})", ""]
        for metric in METRICS:
            lines += [
                f"Test {METRIC_LABELS[metric]}:",
                "",
                "| method | " + " | ".join(budget_heading(b) for b in budgets) + " |",
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
        lines += paired_markdown(methods, budgets, provenance)
    return lines


# --- paired comparisons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # over draws of each draw's mean paired difference
    low: float  # the 95 % t-interval over draws; nan with one draw
    high: float
    draws: int
    wins: int  # over the (split seed, training seed) pairs
    ties: int
    losses: int

    @property
    def claim(self) -> str:
        if self.draws < 2:
            return "no claim (one draw)"
        if self.draws < CLAIM_DRAWS:
            return f"no claim ({self.draws} draws; a claim needs {CLAIM_DRAWS})"
        if self.low > 0:
            return "ahead"
        if self.high < 0:
            return "behind"
        return "no claim (interval spans 0)"


def paired_difference(
    rows: Sequence[LedgerRow], baseline: Sequence[LedgerRow], metric: str
) -> PairedDifference | None:
    """``rows`` minus ``baseline`` on the runs both have (same split seed and training seed)."""
    base = {(r.split_seed, r.training_seed): r.test(metric) for r in baseline}
    pairs = [
        (r.split_seed, r.test(metric) - base[(r.split_seed, r.training_seed)])
        for r in rows
        if (r.split_seed, r.training_seed) in base
    ]
    if not pairs:
        return None
    per_draw: dict[int, list[float]] = defaultdict(list)
    for draw, difference in pairs:
        per_draw[draw].append(difference)
    means = np.array([np.mean(values) for values in per_draw.values()])
    mean = float(means.mean())
    low = high = float("nan")
    if len(means) > 1:
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(means) - 1) * means.std(ddof=1)
        low, high = mean - half / np.sqrt(len(means)), mean + half / np.sqrt(len(means))
    differences = [d for _, d in pairs]
    return PairedDifference(
        mean,
        low,
        high,
        len(means),
        sum(d > 0 for d in differences),
        sum(d == 0 for d in differences),
        sum(d < 0 for d in differences),
    )


def _difference_text(difference: PairedDifference, metric: str) -> str:
    scale, digits = (100.0, 1) if metric != "auc" else (1.0, 3)
    text = f"{scale * difference.mean:+.{digits}f}"
    if difference.draws > 1:
        text += f" [{scale * difference.low:+.{digits}f}, {scale * difference.high:+.{digits}f}]"
    return text


def comparisons(labels: Iterable[str]) -> list[tuple[str, str]]:
    """(row, baseline) pairs: every row against supervised_cnn, every other default row against
    each method from current practice, and a variant against its method's default row."""
    labels = set(labels)
    pairs = [(label, REFERENCE_METHOD) for label in sorted(labels) if label != REFERENCE_METHOD]
    pairs = [(label, base) for label, base in pairs if base in labels]
    pairs += [
        (label, practice)
        for practice in CURRENT_PRACTICE
        if practice in labels
        for label in sorted(labels)
        if label not in (*CURRENT_PRACTICE, REFERENCE_METHOD) and not is_variant(label)
    ]
    pairs += [
        (label, label.split(" [", 1)[0])
        for label in sorted(labels)
        if is_variant(label)
        and label.split(" [", 1)[0] in labels
        and label.split(" [", 1)[0] != REFERENCE_METHOD
    ]
    return pairs


def paired_markdown(
    methods: Mapping[str, Mapping[int, Sequence[LedgerRow]]],
    budgets: Sequence[int],
    provenance: Provenance,
) -> list[str]:
    lines: list[str] = []
    for budget in budgets:
        present = {label: per_budget[budget] for label, per_budget in methods.items()}
        present = {label: pooled_runs(runs, provenance) for label, runs in present.items() if runs}
        table = []
        claims: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for label, base in comparisons(present):
            accuracy = paired_difference(present[label], present[base], "accuracy")
            auc = paired_difference(present[label], present[base], "auc")
            if accuracy is None or auc is None:
                continue
            table.append(
                f"| {label} | {base} | {accuracy.draws} | {_difference_text(accuracy, 'accuracy')}"
                f" | {accuracy.wins} / {accuracy.ties} / {accuracy.losses} | "
                f"{_difference_text(auc, 'auc')} | {accuracy.claim} |"
            )
            if accuracy.claim in ("ahead", "behind"):
                claims[base][accuracy.claim].append(
                    f"{label} ({_difference_text(accuracy, 'accuracy')})"
                )
        if not table:
            continue
        lines += [
            best_method_sentence(present, budget, provenance),
            "",
            f"Paired differences with {budget_text(budget)} (row minus baseline, on the same "
            "draws and training seeds; mean over draws [95 % t-interval over draws]):",
            "",
            "| row | baseline | draws | Δ accuracy (points) | wins / ties / losses | Δ AUC | "
            "accuracy claim |",
            "|---|---|---|---|---|---|---|",
            *table,
            "",
        ]
        for base in (REFERENCE_METHOD, *CURRENT_PRACTICE):
            if base in present:
                lines += [_claims_sentence(base, claims[base]["ahead"], claims[base]["behind"]), ""]
    return lines


def best_method_sentence(
    present: Mapping[str, Sequence[LedgerRow]], budget: int, provenance: Provenance
) -> str:
    """Which default row has the highest mean test accuracy, and how far the runner-up trails it."""
    means = {
        label: _cell(runs, "accuracy", provenance).mean
        for label, runs in present.items()
        if not is_variant(label)
    }
    ranked = sorted(means, key=means.__getitem__, reverse=True)
    text = (
        f"**Best with {budget_text(budget)}** by mean test accuracy: **{ranked[0]}** "
        f"({100 * means[ranked[0]]:.1f} %)"
    )
    if len(ranked) < 2:
        return text + "."
    gap = paired_difference(present[ranked[0]], present[ranked[1]], "accuracy")
    if gap is None:
        return text + f"; the runner-up is {ranked[1]} ({100 * means[ranked[1]]:.1f} %)."
    verdict = "a lead the interval confirms" if gap.claim == "ahead" else gap.claim
    return (
        text + f", ahead of the runner-up {ranked[1]} by {_difference_text(gap, 'accuracy')} "
        f"points on the same draws: {verdict}."
    )


def _claims_sentence(base: str, ahead: Sequence[str], behind: Sequence[str]) -> str:
    said = []
    if ahead:
        said.append(f"ahead of {base} in accuracy: {', '.join(ahead)}")
    if behind:
        said.append(f"behind {base}: {', '.join(behind)}")
    if not said:
        return (
            f"No row's accuracy interval over {CLAIM_DRAWS} or more draws excludes zero against "
            f"{base}: no claim that any beats or trails it here."
        )
    return (
        f"Where the interval over {CLAIM_DRAWS} or more draws excludes zero: "
        + "; ".join(said)
        + ". No claim for the rest."
    )


def draw_budget_figures(
    rows: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    figures_dir: Path,
    link_prefix: str,
) -> dict[Table, str]:
    """One figure per table (accuracy and AUC by budget, default rows); their page links."""
    links = {}
    for (dataset, size, protocol), methods in sorted(budget_cells(rows, reference).items()):
        drawn = {
            label: per_budget
            for label, per_budget in methods.items()
            if not is_variant(label) or label.split(" [", 1)[0] not in methods
        }
        if not drawn:
            continue
        name = f"{_slug(dataset)}_{size}px_{_protocol_slug(protocol)}.png"
        curves = {
            metric: {
                label: [
                    (b, *_mean_std(cells, metric, provenance))
                    for b, cells in sorted(per_budget.items(), key=lambda i: budget_order(i[0]))
                ]
                for label, per_budget in drawn.items()
            }
            for metric in ("accuracy", "auc")
        }
        budget_panels_figure(curves, figures_dir / name, f"{dataset} ({size} px), {protocol}")
        links[(dataset, size, protocol)] = f"{link_prefix}/{name}"
    return links


def _protocol_slug(protocol: str) -> str:
    return {FULL_VALIDATION: "val_full", BUDGET_VALIDATION: "val_budget"}.get(
        protocol, _slug(protocol.removeprefix("validation: "))
    )


def _mean_std(
    rows: Sequence[LedgerRow], metric: str, provenance: Provenance
) -> tuple[float, float]:
    cell = _cell(rows, metric, provenance)
    return cell.mean, cell.std


def budget_panels_figure(
    curves: Mapping[str, Mapping[str, Sequence[tuple[int, float, float]]]], path: Path, title: str
) -> None:
    """Side by side, one panel per metric: a line per method over the label budget. Budgets sit
    evenly spaced in reading order, so the every-image-labelled budget (-1) gets a place too."""
    figure, axes = plots.plt.subplots(
        1, len(curves), figsize=(5.2 * len(curves), 3.8), squeeze=False
    )
    budgets = sorted(
        {b for lines in curves.values() for points in lines.values() for b, *_ in points},
        key=budget_order,
    )
    for axis, (metric, lines) in zip(axes[0], curves.items(), strict=True):
        for label, points in sorted(lines.items()):
            drawn, means, stds = zip(*points, strict=True)
            places = [budgets.index(b) for b in drawn]
            axis.errorbar(places, means, yerr=stds, marker="o", capsize=3, label=label)
        axis.set_xticks(range(len(budgets)), [budget_heading(b) for b in budgets])
        axis.set_xlim(-0.5, len(budgets) - 0.5)
        axis.set_xlabel("labelled budget")
        axis.set_ylabel(f"test {METRIC_LABELS[metric]} (mean ± std over draws)")
        axis.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    figure.suptitle(title)
    plots.save_figure(figure, path)


# --- the validation protocol's effect -------------------------------------------------------------


def protocol_effect_markdown(
    rows: Sequence[LedgerRow], reference: Reference, provenance: Provenance
) -> list[str]:
    """Where a budget was measured under both protocols: each default method's test accuracy and
    rank under each, and how far the ranking moved (Kendall's tau)."""
    cells = budget_cells(rows, reference)
    lines: list[str] = []
    for (dataset, size, protocol), realistic in sorted(cells.items()):
        official = cells.get((dataset, size, FULL_VALIDATION))
        if protocol != BUDGET_VALIDATION or official is None:
            continue
        for budget in sorted({b for per_budget in realistic.values() for b in per_budget}):
            both = {
                label: (
                    _cell(official[label][budget], "accuracy", provenance),
                    _cell(realistic[label][budget], "accuracy", provenance),
                )
                for label in realistic
                if not is_variant(label)
                and budget in realistic[label]
                and budget in official.get(label, {})
            }
            if len(both) >= 2:
                lines += _protocol_table(f"{dataset}, {size} px, {budget} labels / class", both)
    return (["## The validation protocol's effect on the ranking", ""] + lines) if lines else []


def _protocol_table(title: str, both: Mapping[str, tuple[Cell, Cell]]) -> list[str]:
    rank_full = _ranks({label: cells[0] for label, cells in both.items()})
    rank_budget = _ranks({label: cells[1] for label, cells in both.items()})
    labels = sorted(both, key=lambda label: rank_budget[label])
    tau = stats.kendalltau(
        [rank_full[label] for label in labels], [rank_budget[label] for label in labels]
    ).statistic
    moved = max(abs(rank_full[label] - rank_budget[label]) for label in labels)
    lines = [
        f"{title}: checkpoints chosen on the whole official validation split, against as many "
        f"validation labels as training ones. Kendall's tau between the two rankings {tau:.2f}; "
        f"the largest move {moved} place{'s' if moved != 1 else ''}.",
        "",
        "| method | whole val split: accuracy | rank | budget-sized val: accuracy | rank "
        "| rank change |",
        "|---|---|---|---|---|---|",
    ]
    for label in labels:
        official, realistic = both[label]
        lines.append(
            f"| {label} | {_cell_text(official, 'accuracy')} | {rank_full[label]} | "
            f"{_cell_text(realistic, 'accuracy')} | {rank_budget[label]} | "
            f"{rank_full[label] - rank_budget[label]:+d} |"
        )
    return lines + [""]


def _ranks(cells: Mapping[str, Cell]) -> dict[str, int]:
    ordered = sorted(cells, key=lambda label: (-cells[label].mean, label))
    return {label: place + 1 for place, label in enumerate(ordered)}


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
    pooled: dict[tuple[str, int, str, int], dict[tuple[Any, ...], list[LedgerRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        if row.method != method or method not in reference:
            continue
        differing = dict(_differences(row, reference))
        if set(differing) - set(keys):
            continue
        settings = {**_flatten(reference[method]), **_flatten(run_settings(row))}
        varied = tuple(settings.get(key) for key in keys)
        key = (table_dataset(row), row.image_size, protocol_label(row), row.labels_per_class)
        pooled[key][varied].append(row)
    lines = []
    for (dataset, size, protocol, budget), variants in sorted(pooled.items()):
        if len(variants) < 2:
            continue
        if not lines:
            lines = [f"## {method}: {', '.join(keys)}", ""]
        lines += [
            f"{dataset}, {size} px, {budget_text(budget)}, {protocol}:",
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
        budgets = _budgets(methods)
        lines += [
            f"## Generators: {dataset}, {size} px",
            "",
            "Fréchet distance between generated and real training images in the features "
            "stage's ResNet-20 space (not the Inception FID), mean ± std over one experiment's "
            "seeds; lower is closer. Each experiment trains its own ResNet-20: compare methods "
            "within a column, not budgets.",
            "",
            "| method | " + " | ".join(budget_heading(b) for b in budgets) + " |",
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


# --- the patch SSL-GAN on fundus photographs ----------------------------------------------------

PATCH_DATASET = "idrid"
PATCH_CLASSES = 2  # healthy and retinopathy: labels_per_class labelled images of each
# (extras key, column, how it is formatted)
PATCH_EXTRAS = (
    ("image_auc", "image AUC", "auc"),
    ("image_accuracy", "image accuracy", "accuracy"),
    ("localisation_auc", "localisation AUC", "auc"),
)
ALL_LABELLED = "all"  # results/papers.yaml's key for EVERY_IMAGE_LABELLED
PAPER_COLUMNS = ("patch_auc", "image_auc")
# (method, labelled images or "all") -> {column: (mean, std)}, as results/papers.yaml prints them
PatchPaperScores = Mapping[tuple[str, int | str], Mapping[str, tuple[float, float]]]


def load_patch_paper_scores(path: Path) -> PatchPaperScores:
    """The patch SSL-GAN paper's published scores (``idrid_patches`` in ``path``)."""
    try:
        published = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["idrid_patches"]
        return {
            (method, budget): {
                column: (float(scores[column][0]), float(scores[column][1]))
                for column in PAPER_COLUMNS
            }
            for method, budgets in published.items()
            for budget, scores in budgets.items()
        }
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as error:
        raise MedsslError(
            f"{path}: no idrid_patches scores as method -> images -> "
            f"{{patch_auc: [mean, std], image_auc: [mean, std]}} ({error!r})"
        ) from error


def labelled_images(labels_per_class: int) -> int | str:
    """Labelled training images of a patch run, as results/papers.yaml counts them."""
    return (
        ALL_LABELLED
        if labels_per_class == EVERY_IMAGE_LABELLED
        else labels_per_class * PATCH_CLASSES
    )


def _extra(key: str) -> Callable[[LedgerRow], float]:
    def value(row: LedgerRow) -> float:
        found = json.loads(row.extras).get(key)
        return float("nan") if found is None else float(found)

    return value


def _paper_score(papers: PatchPaperScores, method: str, images: int | str, column: str) -> str:
    paper = papers.get((method, images))
    if paper is None:
        return "–"
    mean, std = paper[column]
    return format_score({"mean": mean, "std": std}, "auc")


def patch_markdown(
    rows: Sequence[LedgerRow],
    reference: Reference,
    provenance: Provenance,
    papers: PatchPaperScores,
) -> list[str]:
    """The patch SSL-GAN paper's Tables 1 and 2 beside ours, with the image accuracy and the
    localisation AUC of the heatmaps (its Figure 2), for every method run on the fundus patches."""
    cells: dict[tuple[int, str], list[LedgerRow]] = defaultdict(list)
    for row in rows:
        if row.dataset == PATCH_DATASET:
            cells[(row.labels_per_class, row_label(row, reference))].append(row)
    if not cells:
        return []
    lines = [
        "## Patch SSL-GAN: IDRiD fundus photographs (the retinopathy paper's Tables 1 and 2)",
        "",
        "Test images, mean ± std over labelled draws (d; over the training seeds where there is "
        "one draw), n runs; AUCs as fractions, accuracy in %. Patch AUC is the row's test AUC; "
        "an image's score is the sum of its patches' probabilities. Localisation "
        "AUC: the pixel AUC of the patch heatmaps against the lesion maps. Checkpoints and the "
        "image threshold are chosen on the whole validation split of images, as in the paper "
        "(its 50 validation images). The paper's columns "
        "are its 5 draws out of 149 training images; this mirror has fewer (see "
        "[patch_ssgan](methods/patch_ssgan.md) for the scale and every deviation).",
        "",
        "| labelled images | method | patch AUC | "
        + " | ".join(label for _, label, _ in PATCH_EXTRAS)
        + " | paper patch AUC | paper image AUC |",
        "|" + "---|" * (3 + len(PATCH_EXTRAS) + 2),
    ]
    for (budget, label), runs in sorted(
        cells.items(), key=lambda item: (item[0][0] < 0, item[0][0], item[0][1])
    ):
        images, method = labelled_images(budget), runs[0].method
        scores = [_cell_text(_cell(runs, "auc", provenance), "auc")] + [
            _cell_text(_pooled_cell(runs, _extra(key), provenance), kind)
            for key, _, kind in PATCH_EXTRAS
        ]
        lines.append(
            f"| {images} | {label} | "
            + " | ".join(scores)
            + " | "
            + " | ".join(_paper_score(papers, method, images, c) for c in PAPER_COLUMNS)
            + " |"
        )
    return lines + [""]


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
    papers: PatchPaperScores,
) -> str:
    """The page, with the ``papers``' published scores beside ours."""
    rows = current_rows(ledger)
    if not rows:
        raise MedsslError("the ledger has no runs; add experiments with `medssl-results append`")
    figures = draw_budget_figures(rows, reference, provenance, figures_dir, link_prefix)
    lines = [
        "# Results",
        "",
        "Generated by `medssl-results render` from `results/ledger.csv`: do not edit by hand.",
        "",
        "Each cell: test score, the mean over labelled draws (split seeds) of each draw's mean "
        "over training seeds, ± the std over draws (over the training seeds where there is one "
        "draw); d draws, n runs. Where some runs of a cell are from the method's current code, "
        f"only those are pooled. Accuracies in %, macro AUC as a fraction. {OLDER}: the runs "
        "predate the method's current code. A row named [key=value] is a variant whose params "
        "differ from `params.yaml`. The validation protocol in each title is how many labelled "
        "validation images chose the checkpoints; they count in the label cost.",
        "",
    ]
    lines += protocol_effect_markdown(rows, reference, provenance)
    lines += budget_markdown(rows, reference, provenance, figures)
    for method, keys in ABLATIONS:
        lines += ablation_markdown(rows, reference, method, keys, provenance)
    lines += generator_markdown(rows, reference)
    lines += open_set_markdown(rows)
    lines += patch_markdown(rows, reference, provenance, papers)
    lines += provenance_markdown(ledger, provenance)
    return "\n".join(lines).rstrip() + "\n"


# The README's headline: test accuracy of the default methods on the two medical datasets that
# every method ran on, at each budget measured.
HEADLINE_DATASETS = (("pneumoniamnist", "PneumoniaMNIST"), ("breastmnist", "BreastMNIST"))
HEADLINE_BUDGETS = (10, 50)
HEADLINE_START, HEADLINE_END = (
    "<!-- headline: generated by medssl-results render -->",
    "<!-- /headline -->",
)


def headline_methods(enabled: Sequence[str], rows: Sequence[LedgerRow]) -> list[str]:
    """The headline's rows: the default methods, then the references from current practice, which
    run in experiments of their own, wherever the ledger has them."""
    measured = {row.method for row in rows}
    return [*enabled, *(m for m in CURRENT_PRACTICE if m in measured and m not in enabled)]


def headline_markdown(
    rows: Sequence[LedgerRow], reference: Reference, provenance: Provenance, methods: Sequence[str]
) -> str:
    """Methods x (dataset, 10 / 50 labels per class), with as many validation labels as training
    ones: test accuracy, mean ± std over draws (d draws), 28 px."""
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
            runs = cells.get((name, 28, BUDGET_VALIDATION), {}).get(method, {}).get(budget)
            values.append(_headline_cell(_cell(runs, "accuracy", provenance)) if runs else "–")
        lines.append(f"| {method} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def _headline_cell(cell: Cell) -> str:
    return (
        f"{100 * cell.mean:.1f} ± {100 * cell.std:.1f} (d={cell.draws})"
        f"{OLDER if cell.older else ''}"
    )


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
    papers: PatchPaperScores,
) -> str:
    link_prefix = (
        figures_dir.relative_to(page.parent)
        if figures_dir.is_relative_to(page.parent)
        else figures_dir
    ).as_posix()
    # the folder holds generated figures only: one no table draws any more goes
    for stale in figures_dir.glob("*.png") if figures_dir.is_dir() else ():
        stale.unlink()
    markdown = results_page(ledger, reference, provenance, figures_dir, link_prefix, papers)
    write_text(page, markdown)
    return markdown


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def reference_params(params_path: Path) -> Reference:
    """params.yaml's method sections, each with the loop settings under ``train``: what a run is
    compared with to call it a variant."""
    params = yaml.safe_load(params_path.read_text()) or {}
    loop = {LOOP_SECTION: loop_settings(params)}
    methods = params.get("methods") or {}
    return {
        name: {**section, **loop}
        for name, section in methods.items()
        if isinstance(section, Mapping)
    }
