"""What a ledger row is called on the page: its table (dataset, image size, validation protocol)
and its row label.

A run whose method params differ from ``params.yaml`` is a variant: it gets its own row, named by
what differs (``plabgan [alpha=0.1, beta=0.9]``), and is never pooled with the method's default; so
is a run under other loop settings (the ledger's ``loop``: ``ssgan [train.autocast=bf16]``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medssl.core.config import load_params
from medssl.core.metrics import budget_order
from medssl.results.ledger import (
    EARLIER_SELECTION_KEYS,
    UNRECORDED_LOOP,
    LedgerRow,
    loop_settings,
)

# params.yaml's method sections, each with the loop settings under LOOP_SECTION
Reference = Mapping[str, Mapping[str, Any]]
LOOP_SECTION = "train"  # a row's loop settings, beside its method params: train.autocast=bf16
FULL_VALIDATION = "validation: the whole official split"
BUDGET_VALIDATION = "validation: as many labels as training"
Table = tuple[str, int, str]  # (table dataset, image size, validation protocol)


def reference_params(params_path: Path) -> Reference:
    """params.yaml's method sections, each with the loop settings under ``train``: what a run is
    compared with to call it a variant."""
    params = load_params(params_path)
    loop = {LOOP_SECTION: loop_settings(params)}
    methods = params.get("methods") or {}
    return {
        name: {**section, **loop}
        for name, section in methods.items()
        if isinstance(section, Mapping)
    }


def differences(row: LedgerRow, reference: Reference) -> list[tuple[str, Any]]:
    """(dotted key, the row's value) of each setting where the row differs from ``reference``."""
    if row.method not in reference:
        return []
    expected, actual = flatten(reference[row.method]), flatten(run_settings(row))
    return [(key, value) for key, value in sorted(actual.items()) if expected.get(key) != value]


def run_settings(row: LedgerRow) -> dict[str, Any]:
    """The method's params, and under ``train`` the loop settings the row records."""
    loop = dict(json.loads(row.loop) or UNRECORDED_LOOP)
    if row.earlier_selection:
        # the protocol of its time, not a variant: labelled as the default method, marked by the
        # tables instead (‡), and never pooled with today's runs (stats.pooled_runs)
        for key in EARLIER_SELECTION_KEYS:
            loop.pop(key)
    return {**json.loads(row.params), LOOP_SECTION: loop}


def flatten(section: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one mapping of dotted keys, values as JSON would round-trip them."""
    flat: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.loads(json.dumps(value))
    return flat


def row_label(row: LedgerRow, reference: Reference) -> str:
    """The method, with what differs from params.yaml when anything does."""
    return _label(row.method, differences(row, reference))


def variant_label(method: str, params: Mapping[str, Any], reference: Reference) -> str:
    """The label of a run of ``method`` whose params are params.yaml's with ``params`` laid over
    them, as ``row_label`` would name it."""
    expected = flatten(reference.get(method, {}))
    actual = {**expected, **flatten(params)}
    return _label(method, [(k, v) for k, v in sorted(actual.items()) if expected.get(k) != v])


def _label(method: str, found: Sequence[tuple[str, Any]]) -> str:
    if not found:
        return method
    return f"{method} [{', '.join(f'{key}={value}' for key, value in found)}]"


def is_variant(label: str) -> bool:
    return label.endswith("]") and " [" in label


def default_label(label: str) -> str:
    """The method a (variant) label belongs to."""
    return label.split(" [", 1)[0]


def table_dataset(row: LedgerRow) -> str:
    return f"{row.dataset} ({row.open_set})" if row.open_set else row.dataset


def protocol_label(row: LedgerRow) -> str:
    """How the run's checkpoints were chosen: its labelled validation budget."""
    if row.val_labels_per_class == 0:
        return FULL_VALIDATION
    if row.val_labels_per_class == row.labels_per_class:
        return BUDGET_VALIDATION
    return f"validation: {row.val_labels_per_class} labels / class"


def headline_table(dataset: str, image_size: int) -> Table:
    """The table of a README headline dataset: validation labels as many as training ones."""
    return (dataset, image_size, BUDGET_VALIDATION)


def table_of(row: LedgerRow) -> Table:
    return (table_dataset(row), row.image_size, protocol_label(row))


def budget_cells(
    rows: Sequence[LedgerRow], reference: Reference
) -> dict[Table, dict[str, dict[int, list[LedgerRow]]]]:
    """(table dataset, image size, protocol) -> row label -> budget -> its runs."""
    grouped: dict[Table, dict[str, dict[int, list[LedgerRow]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for row in rows:
        grouped[table_of(row)][row_label(row, reference)][row.labels_per_class].append(row)
    return grouped


def budgets_of(methods: Mapping[str, Mapping[int, object]]) -> list[int]:
    """Every budget any row has, in reading order (all-labelled last)."""
    return sorted({b for per_budget in methods.values() for b in per_budget}, key=budget_order)
