"""The results page's figures: per table, test accuracy and AUC by labelled budget, one line per
default row. The data (``budget_curves``) is computed apart from the drawing, so that a test can
compare it without comparing image bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from medssl.core import plots
from medssl.core.metrics import METRIC_LABELS, budget_heading, budget_order
from medssl.results.labels import (
    BUDGET_VALIDATION,
    FULL_VALIDATION,
    Reference,
    Table,
    budget_cells,
    default_label,
    is_variant,
)
from medssl.results.ledger import LedgerRow
from medssl.results.provenance import Provenance
from medssl.results.stats import metric_cell

FIGURE_METRICS = ("accuracy", "auc")
# Beside the figures: every figure's points, which the golden test compares instead of PNG bytes.
CURVES_FILE = "budget_curves.json"
# metric -> row label -> [(budget, mean, std)]
Curves = Mapping[str, Mapping[str, Sequence[tuple[int, float, float]]]]


def budget_curves(
    rows: Sequence[LedgerRow], reference: Reference, provenance: Provenance
) -> dict[Table, Curves]:
    """Per table, the points its figure draws: each default row (and each variant whose default
    has no row there), at each budget, mean ± std over draws."""
    curves = {}
    for table, methods in sorted(budget_cells(rows, reference).items()):
        drawn = {
            label: per_budget
            for label, per_budget in methods.items()
            if not is_variant(label) or default_label(label) not in methods
        }
        if not drawn:
            continue
        curves[table] = {
            metric: {
                label: [
                    (budget, cell.mean, cell.std)
                    for budget, runs in sorted(per_budget.items(), key=lambda i: budget_order(i[0]))
                    for cell in [metric_cell(runs, metric, provenance)]
                ]
                for label, per_budget in drawn.items()
            }
            for metric in FIGURE_METRICS
        }
    return curves


def draw_budget_figures(
    curves: Mapping[Table, Curves], *, figures_dir: Path, link_prefix: str
) -> dict[Table, str]:
    """One figure per table; their links from the page."""
    links = {}
    for (dataset, size, protocol), table_curves in curves.items():
        name = figure_name((dataset, size, protocol))
        budget_panels_figure(table_curves, figures_dir / name, f"{dataset} ({size} px), {protocol}")
        links[(dataset, size, protocol)] = f"{link_prefix}/{name}"
    return links


def figure_name(table: Table) -> str:
    dataset, size, protocol = table
    return f"{slug(dataset)}_{size}px_{_protocol_slug(protocol)}.png"


def curves_json(curves: Mapping[Table, Curves]) -> str:
    """Every figure's points by figure file name, floats written exactly (repr)."""
    by_name = {
        figure_name(table): {
            metric: {label: [list(point) for point in points] for label, points in lines.items()}
            for metric, lines in table_curves.items()
        }
        for table, table_curves in curves.items()
    }
    return json.dumps(by_name, indent=1, sort_keys=True) + "\n"


def _protocol_slug(protocol: str) -> str:
    return {FULL_VALIDATION: "val_full", BUDGET_VALIDATION: "val_budget"}.get(
        protocol, slug(protocol.removeprefix("validation: "))
    )


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def budget_panels_figure(curves: Curves, path: Path, title: str) -> None:
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
