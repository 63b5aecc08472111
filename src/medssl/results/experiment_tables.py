"""Tables read from particular experiments: the ablations (runs that changed the studied params
and nothing else), the generators' Fréchet distances, and MCGAN's open-set tables."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from medssl.core.metrics import (
    HEADLINE_METRICS,
    METRIC_LABELS,
    budget_heading,
    budget_text,
    format_score,
    mean_and_std,
    metric_slug,
)
from medssl.results.labels import (
    Reference,
    budgets_of,
    differences,
    flatten,
    protocol_label,
    row_label,
    run_settings,
    table_dataset,
)
from medssl.results.ledger import LedgerRow
from medssl.results.provenance import Provenance
from medssl.results.settings import Ablation
from medssl.results.stats import metric_cell
from medssl.results.tables import cell_text, markdown_table

GENERATOR_DISTANCE = "generator_fd_resnet20"
OPEN_SET_COLUMNS = (
    ("unknown_auc", "unknown vs known AUC"),
    ("unknown_accuracy", "step 1 accuracy"),
    ("known_accuracy_after_step_1", "step 2 accuracy"),
    ("three_way_accuracy", "three-way accuracy"),
)


def ablation_markdown(
    rows: Sequence[LedgerRow], *, ablation: Ablation, reference: Reference, provenance: Provenance
) -> list[str]:
    """The runs of the ablation's method that differ from params.yaml in its params alone (or not
    at all), per budget: each combination of values, mean ± std (n). A budget with one combination
    is left out."""
    method, keys = ablation.method, ablation.params
    pooled: dict[tuple[str, int, str, int], dict[tuple[Any, ...], list[LedgerRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        if row.method != method or method not in reference:
            continue
        if set(dict(differences(row, reference))) - set(keys):
            continue
        settings = {**flatten(reference[method]), **flatten(run_settings(row))}
        varied = tuple(settings.get(key) for key in keys)
        key = (table_dataset(row), row.image_size, protocol_label(row), row.labels_per_class)
        pooled[key][varied].append(row)
    lines = []
    for (dataset, size, protocol, budget), variants in sorted(pooled.items()):
        if len(variants) < 2:
            continue
        if not lines:
            lines = [f"## {method}: {', '.join(keys)}", ""]
        table = [
            [str(v) for v in varied]
            + [cell_text(metric_cell(runs, m, provenance), m) for m in HEADLINE_METRICS]
            for varied, runs in sorted(variants.items(), key=lambda item: json.dumps(item[0]))
        ]
        header = [*keys, *(f"test {METRIC_LABELS[m]}" for m in HEADLINE_METRICS)]
        lines += [
            f"{dataset}, {size} px, {budget_text(budget)}, {protocol}:",
            "",
            *markdown_table(header, table),
            "",
        ]
    return lines


def experiment_extras(runs: Sequence[LedgerRow]) -> dict[str, dict[str, float]]:
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


def by_experiment(rows: Iterable[LedgerRow]) -> dict[tuple[Any, ...], list[LedgerRow]]:
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
    for runs in by_experiment(rows).values():
        extras = experiment_extras(runs)
        if GENERATOR_DISTANCE in extras:
            row = runs[0]
            cells[(table_dataset(row), row.image_size)][row_label(row, reference)].setdefault(
                row.labels_per_class, extras[GENERATOR_DISTANCE]
            )
    lines = []
    for (dataset, size), methods in sorted(cells.items()):
        budgets = budgets_of(methods)
        table = [
            [method]
            + [
                f"{per_budget[b]['mean']:.2f} ± {per_budget[b]['std']:.2f}"
                if b in per_budget
                else "–"
                for b in budgets
            ]
            for method, per_budget in sorted(methods.items())
        ]
        lines += [
            f"## Generators: {dataset}, {size} px",
            "",
            "Fréchet distance between generated and real training images in the features "
            "stage's ResNet-20 space (not the Inception FID), mean ± std over one experiment's "
            "seeds; lower is closer. Each experiment trains its own ResNet-20: compare methods "
            "within a column, not budgets.",
            "",
            *markdown_table(["method", *(budget_heading(b) for b in budgets)], table),
            "",
        ]
    return lines


def open_set_markdown(rows: Sequence[LedgerRow]) -> list[str]:
    """The MCGAN paper's Table 1 (each known class's GAN: AUC for its class against the other) and
    Table 2 (unknown vs known, then the known classes), one row per open-set experiment."""
    experiments = [
        runs
        for runs in by_experiment(r for r in rows if r.open_set).values()
        if any(key.startswith("auc_") for key in experiment_extras(runs))
    ]
    if not experiments:
        return []
    table = []
    for runs in sorted(
        experiments,
        key=lambda r: (table_dataset(r[0]), r[0].labels_per_class, r[0].method, r[0].recorded),
    ):
        row, extras = runs[0], experiment_extras(runs)
        known = row.open_set.split(";")[0].removeprefix("known ").split(", ")
        gan_aucs = " / ".join(_fraction(extras, f"auc_{metric_slug(name)}_gan") for name in known)
        table.append(
            [table_dataset(row), str(row.labels_per_class), row.method, gan_aucs]
            + [_fraction(extras, key) for key, _ in OPEN_SET_COLUMNS]
            + [str(len(runs))]
        )
    header = [
        "dataset", "labels / class", "method", "GAN AUCs",
        *(label for _, label in OPEN_SET_COLUMNS), "n",
    ]  # fmt: skip
    return [
        "## Open-set experiments (MCGAN paper, Tables 1 and 2)",
        "",
        "Test split, mean ± std over the training seeds (n). GAN AUCs in the order of the known "
        "classes; steps as in the paper's Figure 4, thresholds chosen on the validation split.",
        "",
        *markdown_table(header, table),
        "",
    ]


def _fraction(extras: Mapping[str, Mapping[str, float]], key: str) -> str:
    return format_score(extras[key], "auc") if key in extras else "–"
