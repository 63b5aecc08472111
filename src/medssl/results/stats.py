"""Pooling and paired statistics over ledger rows: pure functions of the rows, no I/O.

A cell pools the runs of one row label at one budget: per (labelled draw, training seed) the newest
run, from the method's current code where there are any; its score is the mean over draws of each
draw's mean, ± the std over draws (over the training seeds when there is one draw).

A paired difference matches two rows' runs on (split seed, training seed): the mean difference
over draws, its t-interval over draws, and wins / ties / losses over the pairs. A claim that one
beats the other is made only where the interval, over at least ``CLAIM_DRAWS`` draws, excludes
zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from medssl.core.metrics import mean_and_std
from medssl.results.ledger import LedgerRow, newest_run
from medssl.results.provenance import Provenance

CONFIDENCE = 0.95
# Fewest labelled draws behind a claim, as a headline cell needs (issue 21). Two draws give the
# t-interval one degree of freedom, and on a 156-image test set two equal differences (one image is
# 0.64 points) give it zero width: a claim from nothing.
CLAIM_DRAWS = 3


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


def by_draw(rows: Iterable[LedgerRow]) -> dict[int, list[LedgerRow]]:
    draws: dict[int, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        draws[row.split_seed].append(row)
    return draws


def metric_cell(rows: Sequence[LedgerRow], metric: str, provenance: Provenance) -> Cell:
    """The cell of ``rows`` in a test metric."""
    return pooled_cell(rows, lambda row: row.test(metric), provenance)


def pooled_cell(
    rows: Sequence[LedgerRow], value: Callable[[LedgerRow], float], provenance: Provenance
) -> Cell:
    """The cell of ``rows`` in any per-run ``value``."""
    runs = pooled_runs(rows, provenance)
    draws = by_draw(runs)
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


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # over draws of each draw's mean paired difference
    low: float  # the t-interval over draws; nan with one draw
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


def ranks(cells: dict[str, Cell]) -> dict[str, int]:
    """1 for the highest mean, ties broken by label."""
    ordered = sorted(cells, key=lambda label: (-cells[label].mean, label))
    return {label: place + 1 for place, label in enumerate(ordered)}


def kendall_tau(first: Sequence[int], second: Sequence[int]) -> float:
    return float(stats.kendalltau(first, second).statistic)
