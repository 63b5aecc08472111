"""report stage: one Markdown table and one figure comparing every enabled method."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import load_raw_section, run_stage
from medssl.pipeline.report import build_report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--detail-dir", type=Path, default=Path("metrics/detail"))
    parser.add_argument("--markdown", type=Path, default=Path("reports/summary.md"))
    parser.add_argument("--figure", type=Path, default=Path("plots/report/comparison.png"))
    parser.add_argument("--cluster-metrics", type=Path, default=Path("metrics/cluster.json"))
    args = parser.parse_args(argv)
    methods = load_raw_section(args.params, "methods")["enabled"]
    print(
        build_report(
            methods,
            detail_dir=args.detail_dir,
            markdown_path=args.markdown,
            figure_path=args.figure,
            cluster_metrics=args.cluster_metrics,
        ),
        end="",
    )


if __name__ == "__main__":
    run_stage(main)
