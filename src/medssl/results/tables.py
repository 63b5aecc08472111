"""Markdown for the results page: one table helper, and how a cell, a paired difference and a
headline cell are written."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from medssl.core.metrics import format_score
from medssl.results.stats import Cell, PairedDifference

OLDER = "†"  # rerunning the cell's runs today could change their numbers
EARLIER_SELECTION = "‡"  # the cell's runs kept checkpoints by the earlier selection rule


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A header line, the separator and one line per row (no trailing blank line)."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def cell_text(cell: Cell, metric: str) -> str:
    """``81.2 ± 2.0 (d=3, n=9)``, with † when rerunning the runs could change their numbers and ‡
    when they kept checkpoints by the earlier selection rule."""
    return f"{format_score(cell.score(), metric)} (d={cell.draws}, n={cell.n}){_marks(cell)}"


def difference_text(difference: PairedDifference, metric: str) -> str:
    """``+2.9 [+2.5, +3.4]`` in points (accuracies) or in AUC units, the interval with 2+ draws."""
    scale, digits = (100.0, 1) if metric != "auc" else (1.0, 3)
    text = f"{scale * difference.mean:+.{digits}f}"
    if difference.draws > 1:
        text += f" [{scale * difference.low:+.{digits}f}, {scale * difference.high:+.{digits}f}]"
    return text


def headline_cell_text(cell: Cell, metric: str, required_draws: int = 0) -> str:
    """``81.2 ± 2.0 (d=3)`` in %, or ``0.812 ± 0.020 (d=3)`` for AUC; ``(d=3 of 10)`` below the
    ``required_draws`` the protocol asks for; marked as ``cell_text``."""
    of = f" of {required_draws}" if cell.draws < required_draws else ""
    return f"{format_score(cell.score(), metric)} (d={cell.draws}{of}){_marks(cell)}"


def _marks(cell: Cell) -> str:
    return f"{OLDER if cell.older else ''}{EARLIER_SELECTION if cell.earlier_selection else ''}"
