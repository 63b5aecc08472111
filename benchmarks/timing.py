"""The timing harness every speed benchmark shares: variants of the same work, each warmed up once
where asked, then run in turn ``repeats`` times alternating, and their medians compared as ratios
to the first variant. Alternating puts a load that comes and goes on the machine on every variant
alike; the median drops the odd run that a neighbour slowed.

A variant is a callable that does the work once and returns the seconds it took: most time
themselves (``timed`` wraps one that does not), so set-up outside the timed part stays out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


def timed(work: Callable[[], Any]) -> float:
    """Seconds ``work()`` takes."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@dataclass(frozen=True)
class Comparison:
    runs_s: dict[Hashable, list[float]]  # every timed run, in the order they ran
    warm_up_s: dict[Hashable, float]

    @property
    def median_s(self) -> dict[Hashable, float]:
        return {variant: float(np.median(runs)) for variant, runs in self.runs_s.items()}

    @property
    def ratio_to_first(self) -> dict[Hashable, float]:
        medians = self.median_s
        first = medians[next(iter(medians))]
        return {variant: median / first for variant, median in medians.items()}


def compare(
    variants: Mapping[Hashable, Callable[[], float]],
    *,
    repeats: int,
    warm_up: Mapping[Hashable, Callable[[], float]] | None = None,
    report: Callable[[Hashable, float], None] | None = None,
) -> Comparison:
    """The variants ``warm_up`` names run its callable once, untimed for the comparison (the
    allocator, oneDNN's kernels, a compilation: pass ``variants`` itself to warm up on the work);
    then all variants run in turn ``repeats`` times. ``report`` hears each timed run as it ends."""
    if not variants or repeats < 1:
        raise ValueError("compare needs at least one variant and one repeat")
    warm_up_s = {name: work() for name, work in (warm_up or {}).items()}
    runs: dict[Hashable, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, work in variants.items():
            runs[name].append(work())
            if report:
                report(name, runs[name][-1])
    return Comparison(runs, warm_up_s)
