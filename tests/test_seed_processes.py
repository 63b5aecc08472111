"""Seeds trained in parallel processes give what one process training them in turn gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import config_from_params, method_values, split_config
from medssl.data.split import make_split, write_split
from medssl.methods.registry import resolve_method
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import threads_per_process, train_method


@pytest.fixture(autouse=True)
def _threads_restored():
    """train_method sets this process's thread count; later tests keep the suite's."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def prepared(synthetic_raw, tmp_path: Path) -> Path:
    split = split_config(labels_per_class=10)
    write_split(
        make_split(synthetic_raw, split),
        synthetic_raw,
        split,
        prepared_dir=tmp_path / "prepared",
        hidden_dir=tmp_path / "h",
    )
    return tmp_path / "prepared"


def _train(prepared: Path, root: Path, seed_processes: int) -> Path:
    train = config_from_params(
        TrainConfig,
        "train",
        seeds=[0, 1],
        num_threads=1,
        seed_processes=seed_processes,
        validations=4,
        checkpoint_dir=str(root / "checkpoints"),
    )
    (root / "inputs").mkdir(parents=True)
    manifest = train_method(
        resolve_method("ssgan", method_values("ssgan", iterations=6, batch_size=8)),
        train_config=train,
        prepared_dir=prepared,
        inputs_dir=root / "inputs",
        models_dir=root / "models",
        plots_dir=root / "plots",
    )
    assert set(manifest["train_seconds"]) == {"seed_0", "seed_1"}
    return root


def test_parallel_seeds_are_bit_identical_to_sequential_ones(prepared: Path, tmp_path: Path):
    sequential = _train(prepared, tmp_path / "sequential", seed_processes=1)
    parallel = _train(prepared, tmp_path / "parallel", seed_processes=2)
    for seed in (0, 1):
        weights = [
            torch.load(root / "models" / f"seed_{seed}" / "weights.pt", weights_only=True)
            for root in (sequential, parallel)
        ]
        for network, state in weights[0].items():
            for key, tensor in state.items():
                torch.testing.assert_close(weights[1][network][key], tensor, rtol=0, atol=0)
        for history in (f"train_seed{seed}.csv", f"val_seed{seed}.csv"):
            assert (sequential / "plots" / history).read_text() == (
                parallel / "plots" / history
            ).read_text()
    assert (parallel / "plots" / "curves.png").is_file()


def test_threads_are_shared_out_only_when_not_set():
    train = config_from_params(TrainConfig, "train", num_threads=0)
    assert threads_per_process(train, 1) == 0  # PyTorch's default
    assert threads_per_process(train, 64) == 1
    assert threads_per_process(config_from_params(TrainConfig, "train", num_threads=3), 2) == 3
