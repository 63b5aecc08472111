"""train stage: fit one method once per seed in params.train.seeds (checkpointed, resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.cli import load_raw_section, load_section, run_stage
from medssl.experiment import train_method
from medssl.training import TrainConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--method", required=True, help="a registered method name")
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--models", type=Path, required=True, help="output folder, e.g. models/<method>")
    parser.add_argument("--plots", type=Path, required=True, help="output folder, e.g. plots/train/<method>")
    parser.add_argument("--pseudo-labels", type=Path, default=None,
                        help="the cluster stage's pseudo_labels.npz, read by methods that use pseudo-labels")
    parser.add_argument("--features-model", type=Path, default=None,
                        help="the features stage's model folder, read by methods that use its ResNet-20")
    args = parser.parse_args(argv)
    train_config = load_section(args.params, "train", TrainConfig)
    method_values = load_raw_section(args.params, f"methods.{args.method}")
    train_method(args.method, method_values, train_config, args.prepared, args.models, args.plots,
                 args.pseudo_labels, args.features_model)


if __name__ == "__main__":
    run_stage(main)
