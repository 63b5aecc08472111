"""Atomic writes: every output is written to a temporary file beside it and renamed into place,
so an interrupted stage never leaves a half-written file that a later stage would trust."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medssl.core.errors import OutputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(destination: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the destination's folder; rename it over the destination on
    success."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(temporary_path, destination)
    finally:
        temporary_path.unlink(missing_ok=True)


def ensure_writable(*folders: str | Path) -> None:
    """Create ``folders`` and prove that each takes a file, so that a stage fails before its work,
    not after it, when an output cannot be written."""
    for folder in map(Path, folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise OutputError(f"{folder}: cannot write there ({error.strerror or error})") from None


def write_bytes(destination: str | Path, payload: bytes) -> None:
    with atomic_path(destination) as temporary:
        temporary.write_bytes(payload)


def write_text(destination: str | Path, text: str) -> None:
    write_bytes(destination, text.encode("utf-8"))


def write_json(destination: str | Path, payload: Any) -> None:
    """JSON has no NaN: an undefined number (a NaN or an infinity) is written as ``null``, and the
    writer says why beside it (e.g. evaluate's ``undefined``)."""
    text = json.dumps(
        _finite(payload), indent=2, sort_keys=False, default=_json_default, allow_nan=False
    )
    write_text(destination, text + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def read_json(source: str | Path) -> Any:
    with Path(source).open(encoding="utf-8") as handle:
        return json.load(handle)


def write_npz(destination: str | Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes(destination, buffer.getvalue())


def read_npz(source: str | Path) -> dict[str, np.ndarray]:
    with np.load(source, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def torch_save(destination: str | Path, payload: Any) -> None:
    """Saved through memory: written to a file, torch's archive is named after the file, and the
    temporary file's random name would make equal weights give files DVC sees as different."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes(destination, buffer.getvalue())


def torch_load(source: str | Path, device: torch.device | str = "cpu") -> Any:
    # weights_only: checkpoints hold tensors, numbers and strings; never unpickle arbitrary objects.
    return torch.load(source, map_location=device, weights_only=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_csv(destination: str | Path, rows: list[dict[str, Any]]) -> None:
    """Rows as CSV; columns are the union of keys in first-seen order, blank if a row lacks one."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(destination, buffer.getvalue())
