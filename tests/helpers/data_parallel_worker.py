"""Trains one tiny model with the common training loop and saves every rank's final weights.

Run by tests/test_distributed.py twice: as one process, and under ``torchrun --nproc_per_node 2``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from medssl.core.config import build_config, load_params, section
from medssl.core.distributed import initialise
from medssl.core.io import torch_save
from medssl.data.images import LabelledImages, RawDataset
from medssl.data.prepared import DatasetInfo, TrainData
from medssl.data.split import SplitConfig, make_split
from medssl.data.synthetic import SyntheticConfig, make_synthetic_arrays, synthetic_label_names
from medssl.methods.base import RunContext
from medssl.methods.loop import LabelledCrossEntropyMethod
from medssl.methods.registry import create_method, register

IMAGE_SIZE = 12
PARAMS = load_params(Path(__file__).resolve().parents[2] / "params.yaml")


@dataclass(frozen=True)
class MLPConfig:
    iterations: int
    batch_size: int
    learning_rate: float


@register("test_mlp")
class DeterministicMLP(LabelledCrossEntropyMethod):
    """No batch norm, dropout or noise, so a data-parallel run can match one process to rounding."""

    config_class = MLPConfig

    def build_networks(self) -> dict[str, nn.Module]:
        width = self.info.channels * IMAGE_SIZE * IMAGE_SIZE
        return {
            self.classifier_name: nn.Sequential(
                nn.Flatten(), nn.Linear(width, 32), nn.Tanh(), nn.Linear(32, self.info.num_classes)
            )
        }

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        # Plain SGD: its update is proportional to the gradient, so float32 rounding in the
        # all-reduce stays rounding. (Adam divides by sqrt(v): for a weight whose gradient is ~0
        # that ratio turns rounding noise into an update of up to lr, which hides nothing but makes
        # weights noisy to compare.)
        return {
            self.classifier_name: torch.optim.SGD(
                self.classifier().parameters(), lr=self.config.learning_rate
            )
        }


def synthetic_train_data() -> TrainData:
    config = SyntheticConfig(
        num_classes=3, channels=1, train_per_class=30, val_per_class=8, test_per_class=8, seed=0
    )
    arrays = make_synthetic_arrays(config, IMAGE_SIZE)
    sets = {
        split: LabelledImages(
            arrays[f"{split}_images"][:, None],
            arrays[f"{split}_labels"].reshape(-1).astype(np.int64),
        )
        for split in ("train", "val", "test")
    }
    raw = RawDataset(
        "synthetic",
        "multi-class",
        synthetic_label_names(config),
        sets["train"],
        sets["val"],
        sets["test"],
        np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.uint8),
    )
    split = make_split(
        raw,
        build_config(
            SplitConfig, {**section(PARAMS, "split"), "labels_per_class": 8, "seed": 0}, "split"
        ),
    )
    info = DatasetInfo(raw.name, raw.task, raw.label_names, 1, IMAGE_SIZE, 8, 0, {})
    return TrainData.from_split(split, info)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    ranks = initialise(torch.device("cpu"))
    data = synthetic_train_data()
    values = {
        "test_mlp": {"iterations": 25, "batch_size": 8, "learning_rate": 0.1},
        "ssgan": {**section(PARAMS, "methods.ssgan"), "iterations": 10, "batch_size": 8},
    }[args.method]
    method = create_method(args.method, values, data.info)
    run = RunContext(
        seed=0,
        device=torch.device("cpu"),
        validations=4,
        checkpoint_every=1000,
        log_every=5,
        eval_batch_size=64,
        selection_metric="accuracy",
        ranks=ranks,
    )
    history = method.fit(data, run)
    torch_save(
        args.out / f"rank{ranks.rank}.pt",
        {
            "weights": {name: net.state_dict() for name, net in method.networks.items()},
            "history": [
                [float(row.get(key, float("nan"))) for key in ("step", "loss", "d_loss")]
                for row in history
            ],
            "world_size": ranks.world_size,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
