"""features stage: train the ResNet-20 on the labelled images (PLAB-GAN eq. 1 objective), embed
every image."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import load_section, run_stage
from medssl.pipeline.features import FeaturesConfig, train_feature_extractor
from medssl.pipeline.runs import TrainConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--models", type=Path, default=Path("models/features"))
    parser.add_argument("--out", type=Path, default=Path("data/features"))
    parser.add_argument("--plots", type=Path, default=Path("plots/features"))
    args = parser.parse_args(argv)
    config = load_section(args.params, "features", FeaturesConfig)
    train_config = load_section(args.params, "train", TrainConfig)
    train_feature_extractor(
        config,
        train_config,
        prepared_dir=args.prepared,
        models_dir=args.models,
        features_dir=args.out,
        plots_dir=args.plots,
    )


if __name__ == "__main__":
    run_stage(main)
