"""``medssl``: the commands a user runs outside the pipeline.

medssl predict --models models/ssgan --images scans/ --out predictions.csv
medssl results append | render        (the same as medssl-results)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medssl.core.cli import run_stage


def predict_command(args: argparse.Namespace) -> None:
    from medssl.pipeline.predict import MEAN_ROW, predict

    rows = predict(
        args.models,
        args.prepared,
        args.images,
        out=args.out,
        heatmaps_dir=args.heatmaps,
        device=args.device,
    )
    images = [row for row in rows if row["seed"] == MEAN_ROW]
    print(
        f"{args.out}: {len(images)} images, {len(rows) - len(images)} rows by seed, "
        "and the mean over the seeds"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="medssl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="class probabilities of new images")
    predict.add_argument(
        "--models", type=Path, required=True, help="a trained method's folder, e.g. models/ssgan"
    )
    predict.add_argument(
        "--prepared",
        type=Path,
        default=Path("data/prepared"),
        help="the experiment's prepared data (its dataset_info.json)",
    )
    predict.add_argument(
        "--images", type=Path, nargs="+", required=True, help="image files or folders of them"
    )
    predict.add_argument("--out", type=Path, required=True, help="the CSV to write")
    predict.add_argument("--heatmaps", type=Path, help="patch methods: a folder for heatmaps")
    predict.add_argument("--device", default="auto")
    predict.set_defaults(run=predict_command)
    results = commands.add_parser(
        "results", help="the results ledger and page (medssl-results)", add_help=False
    )
    results.set_defaults(run=None)
    args, rest = parser.parse_known_args(argv)
    if args.command == "results":
        from medssl.results.cli import main as results_main

        results_main(rest)
        return
    parser.parse_args(argv)
    args.run(args)


def entry_point() -> None:
    run_stage(main, sys.argv[1:])


if __name__ == "__main__":
    entry_point()
