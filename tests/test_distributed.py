"""The common training loop under torchrun: 2 CPU ranks with gloo against one process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO_ROOT

WORKER = REPO_ROOT / "tests" / "helpers" / "data_parallel_worker.py"
# A 2-rank run averages two half-batch gradients where one process takes the mean of the whole
# batch: the same number up to float32 rounding, which 25 Adam steps may grow to ~1e-6.
TOLERANCE = 1e-5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_worker(method: str, out: Path, ranks: int) -> list[dict]:
    out.mkdir(parents=True)
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    command = [sys.executable, str(WORKER), "--method", method, "--out", str(out)]
    if ranks > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            str(ranks),
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
        ] + command[1:]
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return [torch.load(out / f"rank{rank}.pt", weights_only=True) for rank in range(ranks)]


def _assert_same_weights(first: dict, second: dict, atol: float) -> None:
    for name, state in first["weights"].items():
        for key, tensor in state.items():
            torch.testing.assert_close(
                second["weights"][name][key],
                tensor,
                rtol=0,
                atol=atol,
                msg=lambda message, key=key, name=name: f"{name}.{key}: {message}",
            )


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process(tmp_path: Path):
    (single,) = _run_worker("test_mlp", tmp_path / "single", ranks=1)
    rank0, rank1 = _run_worker("test_mlp", tmp_path / "ddp", ranks=2)
    assert rank0["world_size"] == 2
    _assert_same_weights(rank0, rank1, atol=0.0)  # replicas stay identical
    _assert_same_weights(single, rank0, atol=TOLERANCE)
    # The logged loss is the mean over ranks, i.e. the loss of the global batch.
    torch.testing.assert_close(
        torch.tensor(rank0["history"]),
        torch.tensor(single["history"]),
        rtol=0,
        atol=TOLERANCE,
        equal_nan=True,
    )


@pytest.mark.slow
def test_a_gan_trains_data_parallel_with_identical_replicas(tmp_path: Path):
    rank0, rank1 = _run_worker("ssgan", tmp_path / "ddp", ranks=2)
    _assert_same_weights(rank0, rank1, atol=0.0)
