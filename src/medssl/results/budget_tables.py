"""The page's main tables: per (dataset, image size, validation protocol), each metric by labelled
budget, the paired differences at each budget with their claims, and the validation protocol's
effect on the ranking."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from medssl.core.metrics import HEADLINE_METRICS, METRIC_LABELS, budget_heading, budget_text
from medssl.results.labels import (
    BUDGET_VALIDATION,
    FULL_VALIDATION,
    Reference,
    Table,
    budget_cells,
    budgets_of,
    default_label,
    headline_table,
    is_variant,
    variant_label,
)
from medssl.results.ledger import LedgerRow
from medssl.results.provenance import Provenance
from medssl.results.settings import ResultsConfig
from medssl.results.stats import (
    ALPHA,
    CLAIM_DRAWS,
    POWER,
    Cell,
    PairedDifference,
    detectable_difference,
    earlier_runs,
    holm,
    kendall_tau,
    metric_cell,
    p_text,
    paired_difference,
    pooled_runs,
    ranks,
)
from medssl.results.tables import cell_text, difference_text, markdown_table

# one row label -> budget -> its runs
Methods = Mapping[str, Mapping[int, Sequence[LedgerRow]]]
CLAIM_METRIC = "balanced_accuracy"  # a majority-class guess cannot win it (1 / K)


def budget_markdown(
    rows: Sequence[LedgerRow],
    *,
    reference: Reference,
    provenance: Provenance,
    figures: Mapping[Table, str],
    settings: ResultsConfig,
    comparisons: Sequence[Comparison],
) -> list[str]:
    """Per table: the budget tables, the earlier code's cells and ``comparisons``
    (``all_comparisons`` of the same rows)."""
    cells = budget_cells(rows, reference)
    baseline = equal_footing_label(settings, reference)
    lines = []
    for (dataset, size, protocol), methods in sorted(cells.items()):
        budgets = budgets_of(methods)
        lines += [f"## {dataset}, {size} px, {protocol}", ""]
        if (dataset, size, protocol) in figures:
            lines += [f"![{dataset} by budget]({figures[(dataset, size, protocol)]})", ""]
        for metric in HEADLINE_METRICS:
            table = [
                [label]
                + [
                    cell_text(metric_cell(per_budget[b], metric, provenance), metric)
                    if b in per_budget
                    else "–"
                    for b in budgets
                ]
                for label, per_budget in sorted(methods.items())
            ]
            lines += [
                f"Test {METRIC_LABELS[metric]}:",
                "",
                *markdown_table(["method", *(budget_heading(b) for b in budgets)], table),
                "",
            ]
        lines += earlier_code_markdown(methods, budgets=budgets, provenance=provenance)
        lines += paired_markdown(
            methods,
            budgets=budgets,
            comparisons=[c for c in comparisons if c.table == (dataset, size, protocol)],
            provenance=provenance,
            bases=(baseline, settings.reference_method, *settings.current_practice),
        )
    return lines


def earlier_code_markdown(
    methods: Methods, *, budgets: Sequence[int], provenance: Provenance
) -> list[str]:
    """The cells of earlier code (or the earlier selection rule) that runs of today's replace
    above: on the page in their own table, never pooled with today's."""
    table = []
    for label, per_budget in sorted(methods.items()):
        earlier = {b: earlier_runs(per_budget[b], provenance) for b in budgets if b in per_budget}
        if any(earlier.values()):
            table.append(
                [label]
                + [
                    cell_text(metric_cell(earlier[b], CLAIM_METRIC, provenance), CLAIM_METRIC)
                    if earlier.get(b)
                    else "–"
                    for b in budgets
                ]
            )
    if not table:
        return []
    return [
        "Replaced above by runs of today's code, and never pooled with them: the cells of "
        "earlier code, test balanced accuracy:",
        "",
        *markdown_table(["method", *(budget_heading(b) for b in budgets)], table),
        "",
    ]


def equal_footing_label(settings: ResultsConfig, reference: Reference) -> str:
    """The row label of the equal-footing baseline: the reference method's runs with
    ``results.reference_params``."""
    return variant_label(settings.reference_method, settings.reference_params, reference)


# Holm's families: the questions the headline asks, each corrected on its own, and the rest of the
# page together. Fixed before the issue-41 grid's runs, so that no family is drawn after the data.
AGAINST_BASELINE = "headline cells, every row against the supervised baseline"
AGAINST_PRACTICE = "headline cells, seed methods against current practice"
OTHER = "every other comparison on the page"


@dataclass(frozen=True)
class Comparison:
    """One row against one baseline at one budget of one table, on the same draws and seeds, with
    its p corrected by Holm's method within its family (``family_size`` comparisons with a p)."""

    table: Table
    budget: int
    row: str
    baseline: str
    balanced: PairedDifference  # the claims' metric
    auc: PairedDifference
    family: str
    holm_p: float = math.nan
    family_size: int = 0


def all_comparisons(
    rows: Sequence[LedgerRow],
    *,
    reference: Reference,
    provenance: Provenance,
    settings: ResultsConfig,
) -> list[Comparison]:
    """Every paired comparison of the page's budget tables, once per render: the tables, the
    answer sentences and the README's headline read the same list."""
    return page_comparisons(
        budget_cells(rows, reference),
        provenance=provenance,
        settings=settings,
        baseline=equal_footing_label(settings, reference),
    )


def page_comparisons(
    cells: Mapping[Table, Methods],
    *,
    provenance: Provenance,
    settings: ResultsConfig,
    baseline: str,
) -> list[Comparison]:
    """Every paired comparison the page shows, Holm-corrected within its family (balanced
    accuracy)."""
    found = []
    for table, methods in sorted(cells.items()):
        for budget in budgets_of(methods):
            present = _pooled_at(methods, budget, provenance)
            for label, base in comparisons(present, settings, baseline):
                balanced = paired_difference(present[label], present[base], CLAIM_METRIC)
                auc = paired_difference(present[label], present[base], "auc")
                if balanced is not None and auc is not None:
                    family = comparison_family(
                        table, budget, label=label, base=base, settings=settings, baseline=baseline
                    )
                    found.append(Comparison(table, budget, label, base, balanced, auc, family))
    corrected: dict[int, Comparison] = {}
    for family in dict.fromkeys(c.family for c in found):
        indices = [i for i, c in enumerate(found) if c.family == family]
        size = sum(not math.isnan(found[i].balanced.p) for i in indices)
        adjusted = holm([found[i].balanced.p for i in indices])
        for i, holm_p in zip(indices, adjusted, strict=True):
            corrected[i] = dataclasses.replace(found[i], holm_p=holm_p, family_size=size)
    return [corrected[i] for i in range(len(found))]


def comparison_family(
    table: Table, budget: int, *, label: str, base: str, settings: ResultsConfig, baseline: str
) -> str:
    """Which of Holm's families a comparison belongs to."""
    headline = settings.headline
    in_headline = budget in headline.budgets and table in {
        headline_table(d.name, headline.image_size) for d in headline.datasets
    }
    if not in_headline or is_variant(label) and label != baseline:
        return OTHER
    if base in (baseline, settings.reference_method):
        return AGAINST_BASELINE
    return AGAINST_PRACTICE if base in settings.current_practice else OTHER


def _pooled_at(methods: Methods, budget: int, provenance: Provenance) -> dict[str, list[LedgerRow]]:
    present = {label: per_budget.get(budget, []) for label, per_budget in methods.items()}
    return {label: pooled_runs(runs, provenance) for label, runs in present.items() if runs}


def comparisons(
    labels: Iterable[str], settings: ResultsConfig, baseline: str
) -> list[tuple[str, str]]:
    """(row, baseline) pairs: every row against ``baseline``, the equal-footing reference (the
    reference method with ``results.reference_params``), or against the reference method itself
    where a cell lacks it; every other default row against each method from current practice; and
    a variant against its method's default row."""
    labels = set(labels)
    base = baseline if baseline in labels else settings.reference_method
    references = {baseline, settings.reference_method}
    practice = settings.current_practice
    pairs = [(label, base) for label in sorted(labels) if label != base and base in labels]
    pairs += [
        (label, method)
        for method in practice
        if method in labels
        for label in sorted(labels)
        if label not in (*practice, *references) and not is_variant(label)
    ]
    pairs += [
        (label, default_label(label))
        for label in sorted(labels)
        if is_variant(label)
        and label not in references
        and default_label(label) in labels
        and (label, default_label(label)) not in pairs
    ]
    return pairs


def paired_markdown(
    methods: Methods,
    *,
    budgets: Sequence[int],
    comparisons: Sequence[Comparison],
    provenance: Provenance,
    bases: Sequence[str],
) -> list[str]:
    """Per budget: the best row, the paired differences with raw and Holm-corrected p, and the
    claims that survive the correction."""
    lines: list[str] = []
    for budget in budgets:
        here = [c for c in comparisons if c.budget == budget]
        if not here:
            continue
        table, claims = [], defaultdict(lambda: defaultdict(list))
        for c in here:
            claim = c.balanced.claim(c.holm_p)
            table.append(
                [
                    c.row,
                    c.baseline,
                    str(c.balanced.draws),
                    difference_text(c.balanced, CLAIM_METRIC),
                    p_text(c.balanced.p),
                    p_text(c.holm_p),
                    f"{c.balanced.wins} / {c.balanced.ties} / {c.balanced.losses}",
                    difference_text(c.auc, "auc"),
                    claim,
                ]
            )
            if claim in ("ahead", "behind"):
                claims[c.baseline][claim].append(
                    f"{c.row} ({difference_text(c.balanced, CLAIM_METRIC)}, Holm p "
                    f"{p_text(c.holm_p)})"
                )
        header = [
            "row", "baseline", "draws", "Δ balanced accuracy (points)", "p", "Holm p",
            "wins / ties / losses", "Δ AUC", "claim",
        ]  # fmt: skip
        lines += [
            best_method_sentence(
                _pooled_at(methods, budget, provenance), budget=budget, provenance=provenance
            ),
            "",
            f"Paired differences with {budget_text(budget)} (row minus baseline, on the same "
            "draws and training seeds; mean over draws [95 % t-interval over draws]; p two-sided, "
            "Holm p corrected within the comparison's family: "
            + "; ".join(
                f"{family}, {size} comparisons"
                for family, size in dict.fromkeys((c.family, c.family_size) for c in here)
            )
            + "):",
            "",
            *markdown_table(header, table),
            "",
        ]
        for base in dict.fromkeys(bases):
            if any(c.baseline == base for c in here):
                lines += [claims_sentence(base, claims[base]["ahead"], claims[base]["behind"]), ""]
        base = next((b for b in dict.fromkeys(bases) if any(c.baseline == b for c in here)), None)
        against = [c for c in here if c.baseline == base]
        power = base and power_sentence(
            [c.balanced for c in against],
            baseline=base,
            budget=budget,
            family_size=max(c.family_size for c in against),
        )
        lines += [power, ""] if power else []
    return lines


def power_sentence(
    differences: Sequence[PairedDifference], *, baseline: str, budget: int, family_size: int
) -> str:
    """The cell's power line: with its draws and the median spread of the per-draw differences to
    ``baseline``, the smallest true difference the paired test finds with probability POWER,
    uncorrected and at Holm's strictest step over its family; so that "no claim" reads "no
    difference larger than X". The draws are the count most of the comparisons have (the more on
    a tie), so that a side row with fewer draws does not understate the grid's power."""
    spread = [d for d in differences if d.draws >= CLAIM_DRAWS and d.sd > 0]
    if not spread:
        return ""
    counts = Counter(d.draws for d in spread)
    draws = max(counts, key=lambda n: (counts[n], n))
    sd = float(np.median([d.sd for d in spread if d.draws == draws]))
    others = (
        f" ({counts[draws]} of its {len(spread)} comparisons have that many; fewer draws have less "
        "power)"
        if counts[draws] < len(spread)
        else ""
    )
    uncorrected = detectable_difference(sd, draws, alpha=ALPHA)
    strictest = detectable_difference(sd, draws, alpha=ALPHA / max(family_size, 1))
    often, level = f"{100 * POWER:.0f} %", f"{100 * ALPHA:.0f} %"
    text = (
        f"Power with {budget_text(budget)}: over {draws} draws{others}, with the median std of the "
        f"per-draw differences to {baseline} ({100 * sd:.1f} points), a true difference of "
        f"{100 * uncorrected:.1f} points in balanced accuracy is found {often} of the time at an "
        f"uncorrected {level} level, and one of {100 * strictest:.1f} points under Holm's "
        f"correction over the {family_size} comparisons of its family (its strictest step, "
        f"{ALPHA:g} / {family_size})."
    )
    if strictest >= 1.0:
        return text + (
            " No difference balanced accuracy can take is that large: at these draws and this "
            "family, a claim needs per-draw differences far steadier than the median."
        )
    return text + (
        f' A "no claim" against {baseline} here reads: no difference of '
        f"{100 * strictest:.1f} points or more, which these draws would find {often} of the time."
    )


def best_method_sentence(
    present: Mapping[str, Sequence[LedgerRow]], *, budget: int, provenance: Provenance
) -> str:
    """Which default row has the highest mean test balanced accuracy, and how far the runner-up
    trails it: described, not claimed (that comparison is outside the corrected family)."""
    means = {
        label: metric_cell(runs, CLAIM_METRIC, provenance).mean
        for label, runs in present.items()
        if not is_variant(label)
    }
    ranked = sorted(means, key=means.__getitem__, reverse=True)
    text = (
        f"**Best with {budget_text(budget)}** by mean test balanced accuracy: **{ranked[0]}** "
        f"({100 * means[ranked[0]]:.1f} %)"
    )
    if len(ranked) < 2:
        return text + "."
    gap = paired_difference(present[ranked[0]], present[ranked[1]], CLAIM_METRIC)
    if gap is None:
        return text + f"; the runner-up is {ranked[1]} ({100 * means[ranked[1]]:.1f} %)."
    return (
        text + f", ahead of the runner-up {ranked[1]} by {difference_text(gap, CLAIM_METRIC)} "
        f"points on the same draws (uncorrected p {p_text(gap.p)}; a description, not a claim)."
    )


def claims_sentence(base: str, ahead: Sequence[str], behind: Sequence[str]) -> str:
    said = []
    if ahead:
        said.append(f"ahead of {base} in balanced accuracy: {', '.join(ahead)}")
    if behind:
        said.append(f"behind {base}: {', '.join(behind)}")
    if not said:
        return (
            f"No row's difference to {base} survives Holm's correction over {CLAIM_DRAWS} or more "
            "draws: no claim that any beats or trails it here."
        )
    return (
        f"Surviving Holm's correction, over {CLAIM_DRAWS} or more draws: "
        + "; ".join(said)
        + ". No claim for the rest."
    )


def protocol_effect_markdown(
    rows: Sequence[LedgerRow], *, reference: Reference, provenance: Provenance
) -> list[str]:
    """Where a budget was measured under both protocols at one code version: each default method's
    test balanced accuracy and rank under each, and how far the ranking moved (Kendall's tau). A
    method whose two cells come from different commits is left out and named: its difference
    would partly measure code changes."""
    cells = budget_cells(rows, reference)
    lines: list[str] = []
    for (dataset, size, protocol), realistic in sorted(cells.items()):
        official = cells.get((dataset, size, FULL_VALIDATION))
        if protocol != BUDGET_VALIDATION or official is None:
            continue
        for budget in sorted({b for per_budget in realistic.values() for b in per_budget}):
            both, other_code = {}, []
            for label in sorted(realistic):
                if is_variant(label) or budget not in official.get(label, {}):
                    continue
                if budget not in realistic[label]:
                    continue
                pair = (official[label][budget], realistic[label][budget])
                commits = [{r.commit for r in pooled_runs(runs, provenance)} for runs in pair]
                if len(commits[0]) != 1 or commits[0] != commits[1]:
                    other_code.append(label)
                    continue
                both[label] = tuple(metric_cell(runs, CLAIM_METRIC, provenance) for runs in pair)
            title = f"{dataset}, {size} px, {budget} labels / class"
            if len(both) >= 2:
                lines += _protocol_table(title, both)
            if other_code:
                lines += [
                    f"{title}: left out, their two protocols' runs are from different commits: "
                    f"{', '.join(other_code)}.",
                    "",
                ]
    return (["## The validation protocol's effect on the ranking", ""] + lines) if lines else []


def _protocol_table(title: str, both: Mapping[str, tuple[Cell, Cell]]) -> list[str]:
    rank_full = ranks({label: cells[0] for label, cells in both.items()})
    rank_budget = ranks({label: cells[1] for label, cells in both.items()})
    labels = sorted(both, key=lambda label: rank_budget[label])
    tau = kendall_tau(
        [rank_full[label] for label in labels], [rank_budget[label] for label in labels]
    )
    moved = max(abs(rank_full[label] - rank_budget[label]) for label in labels)
    header = [
        "method", "whole val split", "rank", "budget-sized val", "rank",
        "rank change",
    ]  # fmt: skip
    table = [
        [
            label,
            cell_text(both[label][0], CLAIM_METRIC),
            str(rank_full[label]),
            cell_text(both[label][1], CLAIM_METRIC),
            str(rank_budget[label]),
            f"{rank_full[label] - rank_budget[label]:+d}",
        ]
        for label in labels
    ]
    return [
        f"{title}: checkpoints chosen on the whole official validation split, against as many "
        f"validation labels as training ones, each method's two cells from one commit; test "
        f"balanced accuracy. Kendall's tau between the two rankings {tau:.2f}; the largest move "
        f"{moved} place{'s' if moved != 1 else ''}.",
        "",
        *markdown_table(header, table),
        "",
    ]
