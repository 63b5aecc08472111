"""benchmarks/timing.py: the shared harness alternates variants, keeps warm-ups out of the
comparison and compares medians."""

from __future__ import annotations

import pytest

from conftest import load_script

timing = load_script("benchmarks/timing.py")


def test_variants_alternate_after_their_warm_ups_and_medians_are_compared():
    calls: list[str] = []
    seconds = {"a": iter([2.0, 9.0, 4.0]), "b": iter([1.0, 1.5, 2.5])}

    def variant(name: str):
        def work() -> float:
            calls.append(name)
            return next(seconds[name])

        return work

    def warm_up() -> float:
        calls.append("warm a")
        return 7.0

    comparison = timing.compare(
        {"a": variant("a"), "b": variant("b")}, repeats=3, warm_up={"a": warm_up}
    )
    assert calls == ["warm a", "a", "b", "a", "b", "a", "b"]
    assert comparison.warm_up_s == {"a": 7.0}
    assert comparison.runs_s == {"a": [2.0, 9.0, 4.0], "b": [1.0, 1.5, 2.5]}
    assert comparison.median_s == {"a": 4.0, "b": 1.5}  # the slowed run (9 s) does not count
    assert comparison.ratio_to_first == {"a": 1.0, "b": pytest.approx(0.375)}


def test_timed_measures_the_work_and_compare_refuses_nothing_to_compare():
    assert timing.timed(lambda: sum(range(1000))) >= 0.0
    with pytest.raises(ValueError, match="at least one variant"):
        timing.compare({"a": lambda: 1.0}, repeats=0)
