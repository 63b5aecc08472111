"""benchmarks/repro_time.py: stage intervals from a DVC log, training seconds from the manifests,
and a timed run of a real subprocess. (The end-to-end pipeline test runs it on a whole `dvc repro`.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, load_script

repro_time = load_script("benchmarks/repro_time.py")

DVC_LOG = [
    (0.2, "'data/extra.dvc' didn't change, skipping"),
    (0.5, "Stage 'download' didn't change, skipping"),
    (1.0, "Running stage 'split':"),
    (1.1, "> python stages/split.py --params params.yaml"),
    (4.0, "Running stage 'train@ssgan':"),
    (9.0, "ssgan seed 0:  50%|#####     | 10/20"),
    (20.0, "Stage 'train@resnet' is cached - skipping run, checking out outputs"),
    (21.5, "Updating lock file 'dvc.lock'"),
]


def test_a_stage_lasts_until_the_next_stage_line_and_the_last_until_the_end():
    rows = repro_time.stage_intervals(DVC_LOG, end=25.0)
    assert [(row["stage"], row["how"]) for row in rows] == [
        ("data/extra.dvc", "skipped"),
        ("download", "skipped"),
        ("split", "ran"),
        ("train@ssgan", "ran"),
        ("train@resnet", "restored"),
    ]
    assert [row["seconds"] for row in rows] == pytest.approx([0.3, 0.5, 3.0, 16.0, 5.0])
    assert repro_time.stage_group_seconds(rows) == pytest.approx(
        {"data/extra.dvc": 0.3, "download": 0.5, "split": 3.0, "train": 21.0}
    )


def _params_with_seed_processes(folder: Path, processes: int) -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["train"]["seed_processes"] = processes
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


def test_train_stages_get_the_fit_seconds_their_manifest_records(tmp_path: Path):
    _params_with_seed_processes(tmp_path, 1)
    (tmp_path / "models" / "ssgan").mkdir(parents=True)
    (tmp_path / "models" / "ssgan" / "manifest.json").write_text(
        json.dumps({"device": "cpu", "train_seconds": {"0": 2.5, "1": 3.0}})
    )
    rows = repro_time.with_training_seconds(repro_time.stage_intervals(DVC_LOG, end=25.0), tmp_path)
    by_stage = {row["stage"]: row for row in rows}
    assert by_stage["train@ssgan"]["fit_seconds"] == pytest.approx(5.5)
    assert "fit_seconds" not in by_stage["split"]  # not a train stage
    assert "fit_seconds" not in by_stage["train@resnet"]  # no manifest in this folder
    table = repro_time.markdown(rows, 25.0)
    assert "| train@ssgan | ran | 16.0 | 5.5 |" in table and "| train | 21.0 | 84% |" in table


def test_seeds_trained_at_once_count_once_in_the_fit_seconds(tmp_path: Path):
    _params_with_seed_processes(tmp_path, 2)
    (tmp_path / "models" / "ssgan").mkdir(parents=True)
    (tmp_path / "models" / "ssgan" / "manifest.json").write_text(
        json.dumps({"device": "cpu", "train_seconds": {"0": 2.5, "1": 3.0, "2": 1.0}})
    )
    rows = repro_time.with_training_seconds(repro_time.stage_intervals(DVC_LOG, end=25.0), tmp_path)
    # Two workers: seeds 0 and 1 at once, seed 2 after seed 0 (2.5 + 1.0), so 3.5, not the sum 6.5.
    assert {row["stage"]: row for row in rows}["train@ssgan"]["fit_seconds"] == pytest.approx(3.5)
    assert repro_time.fits_wall_seconds([2.5, 3.0, 1.0], 1) == pytest.approx(6.5)
    assert repro_time.fits_wall_seconds([2.5, 3.0], 3) == pytest.approx(3.0)


def test_timed_run_stamps_lines_in_order_and_returns_the_exit_code(tmp_path: Path):
    script = (
        "import time; print(\"Running stage 'a':\"); time.sleep(0.3); print(\"Running stage 'b':\")"
    )
    lines, total, code = repro_time.timed_run([sys.executable, "-c", script], tmp_path, echo=False)
    assert code == 0 and [line for _, line in lines] == ["Running stage 'a':", "Running stage 'b':"]
    rows = repro_time.stage_intervals(lines, total)
    # the sleep lies between the two lines, so the lines came unbuffered
    assert rows[0]["seconds"] >= 0.25
    _, _, failed = repro_time.timed_run(
        [sys.executable, "-c", "raise SystemExit(3)"], tmp_path, echo=False
    )
    assert failed == 3


def test_compare_sets_two_runs_side_by_side_with_ratios():
    before_rows = repro_time.stage_intervals(DVC_LOG, end=25.0)
    faster = [
        dict(row, seconds=row["seconds"] / 2) for row in before_rows if row["stage"] != "split"
    ]
    faster.append({"stage": "train@ucgan", "how": "ran", "seconds": 4.0})
    table = repro_time.compare_markdown(
        {"total_seconds": 25.0, "stages": before_rows},
        {"total_seconds": 14.0, "stages": faster},
    )
    assert "| train@ssgan | 16.0 | 8.0 | 0.50× |" in table
    assert "| split | 3.0 | – | – |" in table  # only the before run has it
    assert "| train@ucgan | – | 4.0 | – |" in table  # only the after run has it
    assert "| **total** | **25.0** | **14.0** | **0.56×** |" in table
    assert "| train | 21.0 | 14.5 | 0.69× |" in table  # 16 + 5 before; 8 + 2.5 + 4 after
