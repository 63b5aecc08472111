"""Wall time of one train stage with its seeds one after another against one process per seed.

Trains ``--method`` for ``--seeds`` through ``medssl.pipeline.train.train_method`` on a prepared
split (the ``--workspace`` of a ``dvc repro``: its ``data/prepared`` and ``data/inputs/<method>``),
with ``--iterations`` overriding the method's, for each of the ``--processes`` settings in turn,
``--repeats`` times alternating. Reports the median walls, their ratios to the first setting, and
whether every setting wrote the same weights as the first.

    python benchmarks/seed_processes.py --workspace ../pn10 --method ssgan --iterations 300 \\
        --processes 1 3 --threads 0 --repeats 2 --out reports/speed/seed_processes.json
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from timing import compare

from medssl.core.io import write_json
from medssl.methods.registry import resolve_method
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import train_method
from medssl.pipeline.workspace import Workspace, open_workspace


def timed_stage(
    workspace: Workspace, method: str, values: dict[str, Any], train: TrainConfig, out: Path
) -> float:
    started = time.perf_counter()
    train_method(
        resolve_method(method, values),
        train_config=dataclasses.replace(train, checkpoint_dir=str(out / "checkpoints")),
        prepared_dir=workspace.prepared,
        inputs_dir=workspace.inputs(method),
        models_dir=out / "models",
        plots_dir=out / "plots",
    )
    return time.perf_counter() - started


def same_weights(first: Path, other: Path, seeds: list[int]) -> bool:
    for seed in seeds:
        a, b = (
            torch.load(root / "models" / f"seed_{seed}" / "weights.pt", weights_only=True)
            for root in (first, other)
        )
        for network, state in a.items():
            if any(not torch.equal(tensor, b[network][key]) for key, tensor in state.items()):
                return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--threads", type=int, default=0, help="train.num_threads")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    workspace = open_workspace(args.workspace)
    values = {**workspace.method_values(args.method), "iterations": args.iterations}
    base = workspace.train_config
    identical = {}
    with tempfile.TemporaryDirectory() as scratch:
        repeat_of = dict.fromkeys(args.processes, 0)

        def stage_with(processes: int) -> Callable[[], float]:
            def work() -> float:
                train = dataclasses.replace(
                    base,
                    seeds=tuple(args.seeds),
                    num_threads=args.threads,
                    seed_processes=processes,
                )
                out = Path(scratch) / f"p{processes}_r{repeat_of[processes]}"
                repeat_of[processes] += 1
                return timed_stage(workspace, args.method, values, train, out)

            return work

        # no warm-up: each run is a whole train stage in fresh worker processes
        comparison = compare(
            {processes: stage_with(processes) for processes in args.processes},
            repeats=args.repeats,
            report=lambda processes, seconds: print(
                f"{processes} process(es): {seconds:.1f} s", flush=True
            ),
        )
        first = args.processes[0]
        for processes in args.processes[1:]:
            identical[processes] = same_weights(
                Path(scratch) / f"p{first}_r0", Path(scratch) / f"p{processes}_r0", args.seeds
            )
    report = {
        "method": args.method,
        "iterations": args.iterations,
        "seeds": args.seeds,
        "threads": args.threads,
        "cores": torch.get_num_threads(),
        "wall_s": comparison.runs_s,
        "median_s": comparison.median_s,
        "ratio_to_first": comparison.ratio_to_first,
        "same_weights_as_first": identical,
    }
    print(report)
    if args.out:
        write_json(args.out, report)


if __name__ == "__main__":
    main()
