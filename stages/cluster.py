"""cluster stage: pseudo-labels for the unlabelled pool (nearest weighted class centre, constrained
k-means)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import load_section, run_stage
from medssl.pipeline.cluster import ClusterConfig, make_pseudo_labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument(
        "--features",
        type=Path,
        default=Path("data/features/features.npz"),
        help="the features stage's embeddings",
    )
    parser.add_argument("--out", type=Path, default=Path("data/pseudo_labels"))
    args = parser.parse_args(argv)
    make_pseudo_labels(
        load_section(args.params, "cluster", ClusterConfig),
        prepared_dir=args.prepared,
        features_path=args.features,
        out_dir=args.out,
    )


if __name__ == "__main__":
    run_stage(main)
