"""train stage: fit one method once per seed in params.train.seeds (checkpointed, resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import load_raw_section, load_section, run_stage
from medssl.methods.registry import resolve_method
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import train_method


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--method", required=True, help="a registered method name")
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument(
        "--inputs",
        type=Path,
        required=True,
        help="the inputs stage's folder for this method, e.g. data/inputs/<method>",
    )
    parser.add_argument(
        "--models", type=Path, required=True, help="output folder, e.g. models/<method>"
    )
    parser.add_argument(
        "--plots", type=Path, required=True, help="output folder, e.g. plots/train/<method>"
    )
    args = parser.parse_args(argv)
    train_config = load_section(args.params, "train", TrainConfig)
    method = resolve_method(args.method, load_raw_section(args.params, f"methods.{args.method}"))
    train_method(
        method,
        train_config=train_config,
        prepared_dir=args.prepared,
        inputs_dir=args.inputs,
        models_dir=args.models,
        plots_dir=args.plots,
    )


if __name__ == "__main__":
    run_stage(main)
