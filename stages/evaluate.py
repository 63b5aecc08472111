"""evaluate stage: test-split metrics of one method, mean ± std over its seeds, with ROC and
confusion plots: a headline (the DVC metric) and the detail (per seed, per class, validation)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import run_stage
from medssl.core.metrics import HEADLINE_METRICS
from medssl.pipeline.evaluate import evaluate_method


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument(
        "--metrics", type=Path, required=True, help="headline JSON: metrics/methods/<method>.json"
    )
    parser.add_argument(
        "--detail", type=Path, required=True, help="detail JSON: metrics/detail/<method>.json"
    )
    parser.add_argument(
        "--plots", type=Path, required=True, help="output folder, e.g. plots/eval/<method>"
    )
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    detail = evaluate_method(
        args.method,
        models_dir=args.models,
        prepared_dir=args.prepared,
        metrics_path=args.metrics,
        detail_path=args.detail,
        plots_dir=args.plots,
        device=args.device,
    )
    scores = (
        f"test {m} {detail['test'][m]['mean']:.4f} ± {detail['test'][m]['std']:.4f}"
        for m in HEADLINE_METRICS
    )
    print(f"{args.method}: " + ", ".join(scores))


if __name__ == "__main__":
    run_stage(main)
