"""Pooling and paired statistics over ledger rows: pure functions of the rows, no I/O.

A cell pools the runs of one row label at one budget: per (labelled draw, training seed) the newest
run, from the method's current code where there are any; its score is the mean over draws of each
draw's mean, ± the std over draws (over the training seeds when there is one draw).

A paired difference matches two rows' runs on (split seed, training seed): the mean difference
over draws, its t-interval and two-sided p over draws (scipy's one-sample t-test of the per-draw
differences), and wins / ties / losses over the pairs. A claim that one beats the other is made only
where, over at least ``CLAIM_DRAWS`` draws, the p corrected by Holm's method over every comparison
on the page is below ``ALPHA``.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from medssl.core.metrics import mean_and_std
from medssl.results.ledger import LedgerRow, newest_run
from medssl.results.provenance import Provenance

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE  # the family-wise error rate Holm's correction keeps claims under
# Fewest labelled draws behind a claim, as a headline cell needs (issue 21). Two draws give the
# t-interval one degree of freedom, and on a 156-image test set two equal differences (one image is
# 0.64 points) give it zero width: a claim from nothing.
CLAIM_DRAWS = 3
POWER = 0.8  # the power line: the difference a cell's draws would find this often


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float  # over draws; over the training seeds of the one draw when there is one
    n: int  # runs
    draws: int  # distinct labelled draws (split seeds)
    older: bool  # some run predates the method's current code
    earlier_selection: bool = False  # its runs kept checkpoints by the earlier selection rule

    def score(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}


def pooled_runs(rows: Sequence[LedgerRow], provenance: Provenance) -> list[LedgerRow]:
    """The runs a cell pools: those from the method's current code and today's selection rule
    where there are any, else those of one earlier code version and rule, never a mixture: today's
    rule first, then the version with the most labelled draws, then the newest. Of these, one per
    (draw, training seed), the newest. Two runs of one seed in one row differ in no setting the
    row's label names (at most in thread counts, which change the last digits), so pooling both
    would count that seed twice."""
    current = [row for row in rows if provenance.is_current(row) and not row.earlier_selection]
    if not current and rows:
        versions: dict[tuple[bool, str | None], list[LedgerRow]] = defaultdict(list)
        for row in rows:
            versions[(row.earlier_selection, provenance.version(row))].append(row)
        current = max(
            versions.values(),
            key=lambda runs: (
                not runs[0].earlier_selection,
                len({r.split_seed for r in runs}),
                newest_run(runs).recorded,
            ),
        )
    by_seed: dict[tuple[int, int], list[LedgerRow]] = defaultdict(list)
    for row in current:
        by_seed[(row.split_seed, row.training_seed)].append(row)
    kept = {id(newest_run(group)) for group in by_seed.values()}
    return [row for row in current if id(row) in kept]


def earlier_runs(rows: Sequence[LedgerRow], provenance: Provenance) -> list[LedgerRow]:
    """The runs of an earlier code version or selection rule that a cell's current runs replace
    (as ``pooled_runs`` would choose among them alone); none when the cell has no current runs,
    since then the earlier runs are the cell."""
    current = {id(r) for r in rows if provenance.is_current(r) and not r.earlier_selection}
    if not current:
        return []
    return pooled_runs([r for r in rows if id(r) not in current], provenance)


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
        not all(provenance.is_current(row) and not row.earlier_selection for row in runs),
        any(row.earlier_selection for row in runs),
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
    p: float = math.nan  # two-sided, of a zero mean difference; nan with one draw
    sd: float = math.nan  # of the per-draw differences; nan with one draw

    def claim(self, corrected_p: float) -> str:
        """``ahead`` or ``behind`` where the draws are enough and ``corrected_p`` (Holm's, over
        every comparison on the page) is below ALPHA; otherwise why not."""
        if self.draws < 2:
            return "no claim (one draw)"
        if self.draws < CLAIM_DRAWS:
            return f"no claim ({self.draws} draws; a claim needs {CLAIM_DRAWS})"
        if corrected_p < ALPHA:
            return "ahead" if self.mean > 0 else "behind"
        return f"no claim (Holm p {p_text(corrected_p)})"


def p_text(p: float) -> str:
    """A p-value as the tables write it."""
    if math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def zero_difference_test(differences: Sequence[float]) -> tuple[float, float, float, float]:
    """(mean, low, high, two-sided p) of the one-sample t-test that ``differences`` average zero,
    with its ``CONFIDENCE`` interval: the one interval every paired comparison here uses. Below two
    values the interval and p are nan; when every difference is equal scipy warns and answers
    exactly, and all-zero differences give p = 1 (no evidence either way)."""
    values = np.asarray(differences, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_1samp(values, 0.0)
        interval = test.confidence_interval(CONFIDENCE)
    p = 1.0 if math.isnan(test.pvalue) else float(test.pvalue)
    return mean, float(interval.low), float(interval.high), p


def detectable_difference(sd: float, draws: int, *, alpha: float, power: float = POWER) -> float:
    """The smallest true mean difference that a two-sided paired t-test at level ``alpha`` over
    ``draws`` draws finds with probability ``power``, when per-draw differences have standard
    deviation ``sd`` (exact, by the noncentral t); nan below two draws or without spread."""
    if draws < 2 or not sd > 0:
        return math.nan
    freedom = draws - 1
    critical = stats.t.ppf(1 - alpha / 2, freedom)

    def shortfall(difference: float) -> float:
        shift = difference * math.sqrt(draws) / sd
        wrong_sign = stats.nct.cdf(-critical, freedom, shift)
        # scipy answers nan for some far-tail values of the wrong-sign rejection, which are
        # below 1e-9 wherever that happens
        found = stats.nct.sf(critical, freedom, shift) + np.nan_to_num(wrong_sign)
        return float(found) - power

    upper = sd
    while shortfall(upper) < 0:
        upper *= 2
    return float(optimize.brentq(shortfall, 0.0, upper, xtol=1e-6 * sd))


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
    means = [float(np.mean(values)) for values in per_draw.values()]
    mean, low, high, p = zero_difference_test(means)
    differences = [d for _, d in pairs]
    return PairedDifference(
        mean,
        low,
        high,
        len(means),
        sum(d > 0 for d in differences),
        sum(d == 0 for d in differences),
        sum(d < 0 for d in differences),
        p,
        float(np.std(means, ddof=1)) if len(means) > 1 else math.nan,
    )


def draw_means(rows: Sequence[LedgerRow], metric: str, provenance: Provenance) -> list[float]:
    """A cell's per-draw means (each draw's mean over its training seeds), pooled as a cell is."""
    draws = by_draw(pooled_runs(rows, provenance))
    return [float(np.mean([row.test(metric) for row in runs])) for runs in draws.values()]


def above_chance(values: Sequence[float], chance: float) -> tuple[float, float]:
    """(mean minus chance, two-sided p of a zero difference over ``values``); p nan below two
    values, 1 when every value is chance."""
    mean, _, _, p = zero_difference_test(np.asarray(values, dtype=float) - chance)
    return mean, p


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order (nan stays nan and is not counted
    in the family): the i-th smallest of m is scaled by m - i + 1, kept monotone, capped at 1."""
    ranked = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(ranked):
        running = max(running, min(1.0, (len(ranked) - rank) * p))
        adjusted[index] = running
    return adjusted


def ranks(cells: dict[str, Cell]) -> dict[str, int]:
    """1 for the highest mean, ties broken by label."""
    ordered = sorted(cells, key=lambda label: (-cells[label].mean, label))
    return {label: place + 1 for place, label in enumerate(ordered)}


def kendall_tau(first: Sequence[int], second: Sequence[int]) -> float:
    return float(stats.kendalltau(first, second).statistic)
