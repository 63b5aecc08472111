"""download stage: fetch the dataset's official files (mirror folder first, then HTTPS) into
data/raw, MD5-verified."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import load_section, run_stage
from medssl.data.sources import DataConfig, acquire


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument(
        "--out", type=Path, default=Path("data/raw"), help="folder for the verified files"
    )
    args = parser.parse_args(argv)
    config = load_section(args.params, "data", DataConfig)
    for path in acquire(config, args.out):
        print(f"ready: {path}")


if __name__ == "__main__":
    run_stage(main)
