"""The answer the benchmark exists to give: which method, at the smallest headline budget, on each
headline dataset, in one sentence each, as far as the paired comparisons against the equal-footing
baseline (Holm-corrected within their family) allow. Where none survives, the sentence bounds
what was missed instead: no method's 95 % interval reaches beyond +X points."""

from __future__ import annotations

from collections.abc import Sequence

from medssl.core.metrics import budget_text
from medssl.results.budget_tables import Comparison, equal_footing_label
from medssl.results.labels import Reference, headline_table, is_variant
from medssl.results.settings import HeadlineDataset, ResultsConfig
from medssl.results.stats import CLAIM_DRAWS, p_text
from medssl.results.tables import difference_text

METRIC = "balanced_accuracy"


def answer_sentences(
    comparisons: Sequence[Comparison], *, reference: Reference, settings: ResultsConfig
) -> list[str]:
    """One sentence per headline dataset at the smallest headline budget, from ``comparisons``
    (``budget_tables.all_comparisons``)."""
    baseline = equal_footing_label(settings, reference)
    budget = min(settings.headline.budgets)
    return [
        _sentence(
            dataset,
            budget=budget,
            required=settings.headline.required_draws(budget),
            here=[
                c
                for c in comparisons
                if c.table == headline_table(dataset.name, settings.headline.image_size)
                and c.budget == budget
            ],
            bases=(baseline, settings.reference_method),
        )
        for dataset in settings.headline.datasets
    ]


def _sentence(
    dataset: HeadlineDataset,
    *,
    budget: int,
    required: int,
    here: Sequence[Comparison],
    bases: Sequence[str],
) -> str:
    opening = f"**{dataset.title}, {budget_text(budget)}:**"
    base = next((b for b in bases if any(c.baseline == b for c in here)), None)
    against = [c for c in here if c.baseline == base and not is_variant(c.row)]
    if base is None or not against:
        return f"{opening} not measured against {bases[0]} yet."
    claimable = [c for c in against if c.balanced.draws >= CLAIM_DRAWS]
    if not claimable:
        most = max(c.balanced.draws for c in against)
        return f"{opening} no claim yet (d={most} of {required}; a claim needs {CLAIM_DRAWS})."
    draws = min(c.balanced.draws for c in claimable)
    evidence = f"d={draws}" + (f" of {required}" if draws < required else "")
    fewer = sorted(c.row for c in against if c not in claimable)
    if fewer:
        evidence += f"; {', '.join(fewer)} left out, with fewer draws"
    ahead = [c for c in claimable if c.balanced.claim(c.holm_p) == "ahead"]
    if ahead:
        named = ", ".join(
            f"{c.row} ({difference_text(c.balanced, METRIC)} points, Holm p {p_text(c.holm_p)})"
            for c in sorted(ahead, key=lambda c: -c.balanced.mean)
        )
        return (
            f"{opening} ahead of {base} in balanced accuracy, surviving Holm's correction "
            f"({evidence}): {named}."
        )
    widest = max(claimable, key=lambda c: c.balanced.high)
    return (
        f"{opening} no method beats {base} by a margin that survives Holm's correction "
        f"({evidence}); no method's 95 % interval reaches beyond "
        f"{100 * widest.balanced.high:+.1f} points ({widest.row})."
    )
