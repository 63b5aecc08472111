"""The results ledger: one tidy, versioned table with one row per training run (a method, a training
seed, an experiment), the one place results across experiments live.

``results/ledger.csv`` holds, per row: the commit whose code ran, the experiment's name and time,
the cell it belongs to (dataset, image size, open-set classes, labelled budget, split seed, labelled
validation images per class: 0 for the whole official validation split), the
training seed, the method, a hash of the method's params and one of the rest of the setup, the test
and validation metrics, the training seconds and the method's own numbers (``extras``, JSON).

This module is the row schema, the CSV and merging; ``ingest`` turns experiments into rows. A run
already in the ledger (same cell, seed, method, params and commit) is never added twice. A rerun of
the same cell at another commit supersedes the older row: its ``superseded_by`` names the newer
commit, and the tables read only rows that nothing supersedes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from medssl.core.errors import DataError
from medssl.core.io import write_text

# Params that change no result: left out of the setup hash, so that a rerun with another
# checkpoint interval is the same cell.
NOT_SETUP = {
    ("data", "mirror"),
    ("train", "seeds"),
    ("train", "checkpoint_every"),
    ("train", "checkpoint_dir"),
    ("train", "log_every"),
    ("train", "device"),
}


@dataclass(frozen=True)
class LedgerRow:
    commit: str
    experiment: str
    recorded: str  # the experiment's (or commit's) time, ISO 8601
    dataset: str
    image_size: int
    open_set: str  # "known 8, 3; unknown 9" for an open-set split, else ""
    labels_per_class: int
    split_seed: int
    val_labels_per_class: int  # labelled validation images per class; 0: the whole official split
    training_seed: int
    method: str
    params_hash: str
    setup_hash: str
    test_accuracy: float
    test_balanced_accuracy: float
    test_auc: float
    val_accuracy: float | None
    val_balanced_accuracy: float | None
    val_auc: float | None
    train_seconds: float | None
    extras: str  # JSON: {key: value} per seed, or {key: {mean, std}} over the experiment's seeds
    params: str  # JSON of the method's params section
    loop: str = "{}"  # JSON of the experiment's LOOP_SETTINGS; {}: not recorded (UNRECORDED_LOOP)
    # The validation images per class model selection really had ("21/50": a class ran short of
    # val_labels_per_class); "": not recorded.
    val_class_counts: str = ""
    superseded_by: str = ""

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes two rows the same run, whatever the commit."""
        return (
            self.dataset,
            self.image_size,
            self.open_set,
            self.labels_per_class,
            self.split_seed,
            self.val_labels_per_class,
            self.training_seed,
            self.method,
            self.params_hash,
            self.setup_hash,
        )

    @property
    def cell(self) -> tuple[str, int, str]:
        return (self.dataset, self.image_size, self.open_set)

    def test(self, metric: str) -> float:
        return getattr(self, f"test_{metric}")

    @property
    def earlier_selection(self) -> bool:
        """Kept by the selection rule of its time, validation accuracy every 100 steps
        (``UNRECORDED_LOOP``), which no longer exists: a run of the default method under an older
        protocol, never pooled with today's, not a variant one may still choose."""
        loop = json.loads(self.loop) or UNRECORDED_LOOP
        return all(loop.get(key) == UNRECORDED_LOOP[key] for key in EARLIER_SELECTION_KEYS)


COLUMNS = tuple(field.name for field in fields(LedgerRow))
_NUMERIC = {
    "image_size": int,
    "labels_per_class": int,
    "split_seed": int,
    "val_labels_per_class": int,
    "training_seed": int,
}
# Columns added since the first ledger, with the value an older row means.
_ADDED_COLUMNS = {"val_labels_per_class": "0", "loop": "{}", "val_class_counts": ""}
# The train settings that change a run's numbers beyond rounding (thread counts, processes and
# memory layout change the last digits only): recorded with each row, so that the results page
# tells a run under other settings from one under the defaults.
LOOP_SETTINGS = ("autocast", "eval_every", "validations", "selection_metric")
# What a row that predates the ``loop`` column ran under: the loop settings of its time.
UNRECORDED_LOOP = {"autocast": "none", "eval_every": 100, "selection_metric": "accuracy"}
# The earlier selection rule: which checkpoint a run kept, by a setting that no longer exists.
EARLIER_SELECTION_KEYS = ("eval_every", "selection_metric")


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def params_hash(method_params: Mapping[str, Any]) -> str:
    return _digest(method_params)


def setup_hash(params: Mapping[str, Any]) -> str:
    """A digest of every param besides the method's own section that can change its results: the
    dataset and its source, the split, the features and cluster stages, the loop settings. A key at
    a neutral value (0, "", [], false, absent) counts as absent, so that a knob added later at its
    neutral default leaves older runs in the same cell."""
    data = dict(params.get("data") or {})
    source = data.get("name")
    setup = {
        "data": {
            key: value
            for key, value in data.items()
            if key in ("name", "image_size")
            or key == source
            or (key == "fundus" and source == "idrid")
        },
        **{
            section: params.get(section) or {}
            for section in ("split", "features", "cluster", "train")
        },
    }
    return _digest(_without_neutral(setup, ()))


def _without_neutral(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, Mapping):
        kept = {
            key: _without_neutral(item, (*path, key))
            for key, item in value.items()
            if tuple((*path, key))[:2] not in NOT_SETUP
        }
        return {key: item for key, item in kept.items() if item not in (0, "", [], {}, None, False)}
    return value


# --- reading and writing ------------------------------------------------------------------------


def read_ledger(path: Path) -> list[LedgerRow]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        found = tuple(reader.fieldnames or ())
        missing = set(COLUMNS) - set(found)
        if found != tuple(c for c in COLUMNS if c not in missing) or not missing <= set(
            _ADDED_COLUMNS
        ):
            raise DataError(f"{path} does not have the ledger's columns ({', '.join(COLUMNS)})")
        return [_parse_row({**_ADDED_COLUMNS, **raw}) for raw in reader]


def _parse_row(raw: Mapping[str, str]) -> LedgerRow:
    values: dict[str, Any] = {}
    for field in fields(LedgerRow):
        text = raw[field.name]
        if field.name in _NUMERIC:
            values[field.name] = int(text)
        elif field.type in ("float", "float | None"):
            values[field.name] = float(text) if text != "" else None
        else:
            values[field.name] = text
    return LedgerRow(**values)


def ledger_text(rows: Iterable[LedgerRow]) -> str:
    """The CSV, rows in a fixed order (by cell, method, seed, then time): equal ledgers are equal
    files, and a new row lands beside the runs it compares with."""
    ordered = sorted(
        rows,
        key=lambda r: (
            r.dataset,
            r.image_size,
            r.open_set,
            r.labels_per_class,
            r.val_labels_per_class,
            r.method,
            r.params_hash,
            r.setup_hash,
            r.split_seed,
            r.training_seed,
            r.recorded,
            r.commit,
            r.experiment,
        ),
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in ordered:
        writer.writerow(["" if value is None else _format(value) for value in asdict(row).values()])
    return buffer.getvalue()


def _format(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def write_ledger(path: Path, rows: Iterable[LedgerRow]) -> None:
    write_text(path, ledger_text(rows))


# --- merging ------------------------------------------------------------------------------------


def merge(existing: Sequence[LedgerRow], new: Iterable[LedgerRow]) -> tuple[list[LedgerRow], int]:
    """The ledger with ``new`` rows added: a run already there (same identity and commit) is not
    added again; among the rows of one identity, the most recently recorded supersedes the others.
    Returns the rows and how many were added."""
    rows = list(existing)
    seen = {(row.identity, row.commit) for row in rows}
    added = 0
    for row in new:
        if (row.identity, row.commit) in seen:
            continue
        seen.add((row.identity, row.commit))
        rows.append(replace(row, superseded_by=""))
        added += 1
    return _mark_superseded(rows), added


def newest_run(rows: Iterable[LedgerRow]) -> LedgerRow:
    """The most recently recorded of ``rows`` (the later commit on a tie)."""
    return max(rows, key=lambda row: (row.recorded, row.commit))


def _mark_superseded(rows: Sequence[LedgerRow]) -> list[LedgerRow]:
    by_identity: dict[tuple[Any, ...], list[LedgerRow]] = {}
    for row in rows:
        by_identity.setdefault(row.identity, []).append(row)
    newest = {identity: newest_run(group) for identity, group in by_identity.items()}
    return [
        replace(
            row, superseded_by="" if newest[row.identity] is row else newest[row.identity].commit
        )
        for row in rows
    ]


def current_rows(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    """The rows no newer run supersedes: what the tables read."""
    return [row for row in rows if not row.superseded_by]


def loop_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's ``LOOP_SETTINGS`` (those its params set)."""
    train = params.get("train") or {}
    return {key: train[key] for key in LOOP_SETTINGS if key in train}
