"""One ledger row for results tests: a PneumoniaMNIST 10 run with neutral values, any field
overridden."""

from __future__ import annotations

from typing import Any

from medssl.results.ledger import LedgerRow


def ledger_row(**fields: Any) -> LedgerRow:
    values: dict[str, Any] = dict(
        commit="a" * 10,
        experiment="x",
        recorded="2026-12-03T00:00:00",
        dataset="pneumoniamnist",
        image_size=28,
        open_set="",
        labels_per_class=10,
        split_seed=0,
        val_labels_per_class=10,
        training_seed=0,
        method="ssgan",
        params_hash="p",
        setup_hash="s",
        test_accuracy=0.5,
        test_balanced_accuracy=0.5,
        test_auc=0.5,
        val_accuracy=None,
        val_balanced_accuracy=None,
        val_auc=None,
        train_seconds=None,
        extras="{}",
        params="{}",
    )
    return LedgerRow(**{**values, **fields})
