"""evaluate_cluster stage: pseudo-label accuracy against the unlabelled pool's hidden labels, with
plots.

Evaluation only: the one stage besides split that reads data/hidden.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import run_stage
from medssl.pipeline.cluster_report import evaluate_pseudo_labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--features", type=Path, default=Path("data/features/features.npz"))
    parser.add_argument(
        "--pseudo-labels", type=Path, default=Path("data/pseudo_labels/pseudo_labels.npz")
    )
    parser.add_argument("--hidden", type=Path, default=Path("data/hidden"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/cluster.json"))
    parser.add_argument("--plots", type=Path, default=Path("plots/cluster"))
    args = parser.parse_args(argv)
    evaluate_pseudo_labels(
        prepared_dir=args.prepared,
        features_path=args.features,
        pseudo_labels_path=args.pseudo_labels,
        hidden_dir=args.hidden,
        metrics_path=args.metrics,
        plots_dir=args.plots,
    )


if __name__ == "__main__":
    run_stage(main)
