"""``medssl-results``: keep the results ledger and generate the results page from it.

medssl-results append                    # finished experiments of `dvc exp show --json`
medssl-results append --rev COMMIT       # ... of experiments queued at an earlier COMMIT
medssl-results append --exp-show old.json   # or saved exports (older ones too)
medssl-results render                    # docs/results.md and its figures, from the ledger
medssl-results fingerprint               # results/fingerprints.json, after a change of numbers
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from medssl.core.cli import run_stage
from medssl.core.config import load_params
from medssl.core.errors import MedsslError
from medssl.core.io import read_json, write_json, write_text
from medssl.results.answer import answer_sentences
from medssl.results.budget_tables import all_comparisons, equal_footing_label
from medssl.results.headline import headline_markdown, headline_methods, with_headline
from medssl.results.ingest import rows_from_exp_show
from medssl.results.labels import reference_params
from medssl.results.ledger import current_rows, merge, read_ledger, write_ledger
from medssl.results.page import PageInputs, write_results_page
from medssl.results.patch_tables import load_patch_paper_scores
from medssl.results.provenance import git_provenance
from medssl.results.settings import load_results_config

LEDGER = Path("results/ledger.csv")


def _exp_show(source: str | None, revision: str | None) -> list[Any]:
    if source is None:
        # experiments queued at an earlier commit are listed only when asked for by that baseline
        command = ["dvc", "exp", "show", "--json", *(["--rev", revision] if revision else [])]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise MedsslError(f"{' '.join(command)} failed: {completed.stderr.strip()}")
        return json.loads(completed.stdout)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def append(args: argparse.Namespace) -> None:
    existing = read_ledger(args.ledger)
    if args.exp_show and args.rev:
        raise MedsslError("--rev reads `dvc exp show`; it cannot be given with --exp-show files")
    sources = args.exp_show or [None] * max(len(args.rev or []), 1)
    revisions = args.rev or [None] * len(sources)
    new = [
        row
        for source, revision in zip(sources, revisions, strict=True)
        for row in rows_from_exp_show(_exp_show(source, revision))
    ]
    rows, added = merge(existing, new)
    write_ledger(args.ledger, rows)
    superseded = sum(1 for row in rows if row.superseded_by)
    print(
        f"{args.ledger}: {added} runs added ({len(new) - added} already there), "
        f"{len(rows)} in all, {superseded} superseded by a newer run of the same cell"
    )


def render(args: argparse.Namespace) -> None:
    settings = load_results_config(args.params)  # checked before any page is written
    ledger = read_ledger(args.ledger)
    if not ledger:
        raise MedsslError(
            f"{args.ledger} has no runs; add experiments with `medssl-results append`"
        )
    reference = reference_params(args.params)
    methods = headline_methods(
        load_params(args.params)["methods"]["enabled"],
        ledger,
        settings.current_practice,
        baseline=equal_footing_label(settings, reference),
    )
    inputs = PageInputs(
        reference=reference,
        provenance=git_provenance(ledger, repo=Path.cwd()),
        settings=settings,
        papers=load_patch_paper_scores(args.papers),
        headline_methods=tuple(methods),
    )
    comparisons = all_comparisons(
        current_rows(ledger), reference=reference, provenance=inputs.provenance, settings=settings
    )
    write_results_page(ledger, inputs, comparisons, page=args.page, figures_dir=args.figures)
    headline = headline_markdown(
        current_rows(ledger),
        reference=inputs.reference,
        provenance=inputs.provenance,
        methods=methods,
        headline=settings.headline,
        answer=answer_sentences(comparisons, reference=reference, settings=settings),
    )
    write_text(args.readme, with_headline(args.readme.read_text(encoding="utf-8"), headline))
    print(f"{args.page}, its figures and {args.readme}'s headline: from {len(ledger)} runs")


def fingerprint(args: argparse.Namespace) -> None:
    """Recompute every link's fingerprint with the settings the committed file records."""
    from medssl.pipeline.fingerprint import changed_links, compute_fingerprints

    recorded = read_json(args.out) if args.out.is_file() else None
    computed = compute_fingerprints(load_params(args.params), recorded)
    changed = changed_links(recorded or {}, computed)
    write_json(args.out, computed)
    if recorded is None:
        summary = "written; runs from commits before it are judged by the earlier rule"
    elif changed:
        summary = f"numbers changed for {', '.join(changed)}; their earlier runs are now stale"
    else:
        summary = "no link computes other numbers"
    print(f"{args.out}: {summary}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("append", help="add finished experiments to the ledger")
    add.add_argument(
        "--exp-show",
        nargs="+",
        metavar="FILE",
        help="saved `dvc exp show --json` outputs; default: run it",
    )
    add.add_argument(
        "--rev",
        nargs="+",
        metavar="COMMIT",
        help="the experiments whose baseline is COMMIT (queued before a later commit); "
        "default: HEAD's",
    )
    add.set_defaults(run=append)
    page = commands.add_parser("render", help="write the results page from the ledger")
    page.add_argument("--params", type=Path, default=Path("params.yaml"))
    page.add_argument(
        "--papers", type=Path, default=Path("results/papers.yaml"), help="published scores"
    )
    page.add_argument("--page", type=Path, default=Path("docs/results.md"))
    page.add_argument("--figures", type=Path, default=Path("docs/figures/results"))
    page.add_argument("--readme", type=Path, default=Path("README.md"))
    page.set_defaults(run=render)
    prints = commands.add_parser(
        "fingerprint", help="recompute results/fingerprints.json (what marks runs stale)"
    )
    prints.add_argument("--params", type=Path, default=Path("params.yaml"))
    prints.add_argument("--out", type=Path, default=Path("results/fingerprints.json"))
    prints.set_defaults(run=fingerprint)
    args = parser.parse_args(argv)
    args.run(args)


def entry_point() -> None:
    run_stage(main, sys.argv[1:])


if __name__ == "__main__":
    entry_point()
