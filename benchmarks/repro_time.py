"""Wall time of a whole ``dvc repro``, stage by stage.

Runs ``dvc repro -f`` (every stage, even those up to date) in the current repository and notes when
DVC announces each stage. A stage's wall time runs from its "Running stage" line to the next stage's
line (or the end), so it includes the stage's Python start-up and DVC's own work on its outputs
(hashing, caching, the lock file). For each train stage it sets beside that the seconds the method's
manifest records for the fits themselves (their wall time, seeds in parallel counted once), so the
difference is what the stage spends around the training: imports, data loading, figures, saving.

    python benchmarks/repro_time.py --out reports/speed/repro_cpu.json
    python benchmarks/repro_time.py --no-force -- train@ssgan   # after --: dvc repro's arguments
    python benchmarks/repro_time.py --compare before.json after.json   # two --out files, as ratios

Output lines of DVC and of the stages are echoed as they come (``--quiet`` hides them).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from medssl.core.distributed import Ranks
from medssl.core.io import read_json, write_json
from medssl.pipeline.runs import MANIFEST_FILE
from medssl.pipeline.train import seed_processes
from medssl.pipeline.workspace import open_workspace

# DVC 3 logs these at INFO level, one per stage (dvc/stage/run.py, dvc/stage/__init__.py,
# dvc/stage/cache.py); an unchanged data source (a .dvc file, not a dvc.yaml stage) is announced
# without the "Stage" prefix.
STAGE_LINE = re.compile(
    r"^(?:(?:Running stage|Stage) '(?P<stage>[^']+)'(?P<rest>.*)"
    r"|'(?P<source>[^']+)'(?P<source_rest> didn't change, skipping))$"
)


def stage_intervals(timed_lines: Iterable[tuple[float, str]], end: float) -> list[dict[str, Any]]:
    """(time, line) pairs of a ``dvc repro`` log -> one row per stage: name, how it was handled
    ('ran', 'skipped' when unchanged, 'restored' from the run cache) and wall seconds until the
    next stage's line or ``end``."""
    rows: list[dict[str, Any]] = []
    starts: list[float] = []
    for moment, line in timed_lines:
        match = STAGE_LINE.match(line.strip())
        if not match:
            continue
        rest = match.group("rest") or match.group("source_rest")
        how = (
            "ran"
            if line.strip().startswith("Running stage")
            else ("restored" if "is cached" in rest else "skipped")
        )
        rows.append({"stage": match.group("stage") or match.group("source"), "how": how})
        starts.append(moment)
    for row, start, finish in zip(rows, starts, starts[1:] + [end], strict=True):
        row["seconds"] = finish - start
    return rows


def with_training_seconds(rows: list[dict[str, Any]], repo: Path) -> list[dict[str, Any]]:
    """Adds ``fit_seconds`` to every train@ stage: the wall time of its seeds' fits, from the
    manifest's per-seed seconds and how many seeds the stage trained at once (the train stage's
    own rule). Summing the seeds would count parallel fits twice, and exceed the stage's wall."""
    workspace = None
    for row in rows:
        if row["stage"].startswith("train@"):
            name = row["stage"].split("@", 1)[1]
            manifest = repo / "models" / name / MANIFEST_FILE
            if manifest.is_file():
                workspace = workspace or open_workspace(repo)
                recorded = read_json(manifest)
                at_once = seed_processes(
                    workspace.method_train_config(name),
                    torch.device(recorded["device"]),
                    Ranks(world_size=recorded.get("world_size", 1)),
                )
                row["fit_seconds"] = fits_wall_seconds(
                    list(recorded["train_seconds"].values()), at_once
                )
    return rows


def fits_wall_seconds(seed_seconds: list[float], processes: int) -> float:
    """The wall time of fits handed in order to ``processes`` workers, each taking the next seed
    when it is free (the train stage's process pool); one worker: their sum."""
    free_at = [0.0] * max(1, min(processes, len(seed_seconds)))
    for seconds in seed_seconds:
        heapq.heappush(free_at, heapq.heappop(free_at) + float(seconds))
    return max(free_at, default=0.0)


def stage_group_seconds(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Seconds per kind of stage (``train@ssgan`` and ``train@resnet`` both count as ``train``)."""
    groups: dict[str, float] = {}
    for row in rows:
        group = row["stage"].split("@", 1)[0]
        groups[group] = groups.get(group, 0.0) + row["seconds"]
    return groups


def timed_run(
    command: list[str], cwd: Path, echo: bool, clock: Callable[[], float] = time.perf_counter
) -> tuple[list[tuple[float, str]], float, int]:
    """Runs ``command``, stamping each output line (stdout and stderr merged) with ``clock``;
    returns the stamped lines, the wall seconds and the exit code."""
    # Unbuffered, so DVC's stage lines arrive when they are logged rather than when a buffer fills.
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    started = clock()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((clock() - started, line.rstrip("\n")))
            if echo:
                print(line, end="", flush=True)
        code = process.wait()
    return lines, clock() - started, code


def markdown(rows: list[dict[str, Any]], total: float) -> str:
    table = ["| stage | how | wall s | fit s (manifest) |", "|---|---|---|---|"]
    table += [
        f"| {row['stage']} | {row['how']} | {row['seconds']:.1f} | "
        + (f"{row['fit_seconds']:.1f}" if "fit_seconds" in row else "")
        + " |"
        for row in rows
    ]
    table.append(f"| **total** | | **{total:.1f}** | |")
    groups = stage_group_seconds(rows)
    table += ["", "| kind of stage | wall s | share |", "|---|---|---|"]
    table += [
        f"| {group} | {seconds:.1f} | {seconds / total:.0%} |"
        for group, seconds in sorted(groups.items(), key=lambda item: -item[1])
    ]
    return "\n".join(table)


def compare_markdown(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Two ``--out`` files side by side: wall seconds per stage and per kind of stage, and the
    ratio after / before (below 1: faster). A stage only one run has shows a dash for the other."""

    def ratio(old: float | None, new: float | None) -> str:
        return f"{new / old:.2f}×" if old and new is not None else "–"

    def seconds(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    old_stages = {row["stage"]: row["seconds"] for row in before["stages"]}
    new_stages = {row["stage"]: row["seconds"] for row in after["stages"]}
    names = list(new_stages) + [name for name in old_stages if name not in new_stages]
    table = ["| stage | before s | after s | after / before |", "|---|---|---|---|"]
    for name in names:
        old, new = old_stages.get(name), new_stages.get(name)
        table.append(f"| {name} | {seconds(old)} | {seconds(new)} | {ratio(old, new)} |")
    old_total, new_total = before["total_seconds"], after["total_seconds"]
    table.append(
        f"| **total** | **{old_total:.1f}** | **{new_total:.1f}** | "
        f"**{ratio(old_total, new_total)}** |"
    )
    old_groups = stage_group_seconds(before["stages"])
    new_groups = stage_group_seconds(after["stages"])
    table += ["", "| kind of stage | before s | after s | after / before |", "|---|---|---|---|"]
    for group in sorted(set(old_groups) | set(new_groups), key=lambda g: -old_groups.get(g, 0.0)):
        old, new = old_groups.get(group), new_groups.get(group)
        table.append(f"| {group} | {seconds(old)} | {seconds(new)} | {ratio(old, new)} |")
    return "\n".join(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repo", type=Path, default=Path("."), help="the DVC project (default: here)"
    )
    parser.add_argument(
        "--no-force", action="store_true", help="plain `dvc repro`: up-to-date stages are skipped"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not echo DVC's and the stages' output"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the timings as JSON here")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("BEFORE", "AFTER"),
        help="run nothing: print two --out files side by side, with after / before ratios",
    )
    parser.add_argument(
        "dvc_args", nargs="*", help="after --: more arguments for dvc repro (targets, ...)"
    )
    args = parser.parse_args(argv)
    if args.compare:
        print(compare_markdown(*(read_json(path) for path in args.compare)))
        return
    command = ["dvc", "repro", *([] if args.no_force else ["-f"]), *args.dvc_args]
    lines, total, code = timed_run(command, args.repo, echo=not args.quiet)
    if code != 0:
        tail = "\n".join(line for _, line in lines[-30:])
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}:\n{tail}")
    rows = with_training_seconds(stage_intervals(lines, total), args.repo)
    environment = {
        "command": " ".join(command),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "python": sys.version.split()[0],
    }
    print(json.dumps(environment))
    print(markdown(rows, total))
    if args.out:
        write_json(
            args.out,
            {
                "environment": environment,
                "total_seconds": total,
                "stages": rows,
                "stage_groups": stage_group_seconds(rows),
            },
        )


if __name__ == "__main__":
    main()
