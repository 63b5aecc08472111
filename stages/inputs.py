"""inputs stage: copy into data/inputs/<method>/ the pipeline products that one method reads (the
cluster stage's pseudo-labels, the features stage's ResNet-20) and the digests of the code its
training runs, so its training depends on those only."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import run_stage
from medssl.pipeline.inputs import collect_inputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True, help="a registered method name")
    parser.add_argument(
        "--pseudo-labels", type=Path, default=Path("data/pseudo_labels/pseudo_labels.npz")
    )
    parser.add_argument(
        "--feature-network", type=Path, default=Path("models/features/feature_network.pt")
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output folder, e.g. data/inputs/<method>"
    )
    args = parser.parse_args(argv)
    reads = collect_inputs(
        args.method,
        pseudo_labels=args.pseudo_labels,
        feature_network=args.feature_network,
        out_dir=args.out,
        repo_root=Path(__file__).resolve().parents[1],
    )
    print(f"{args.method} reads: {', '.join(reads) or 'the prepared images only'}")


if __name__ == "__main__":
    run_stage(main)
