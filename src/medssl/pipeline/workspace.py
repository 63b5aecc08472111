"""An experiment's checkout (its ``params.yaml``, ``data/prepared`` and ``data/inputs/<method>``),
opened the way its train stages open it: for benchmarks that train outside the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from medssl.core.cli import load_section
from medssl.core.config import load_params, section
from medssl.core.device import configure_threads, pick_device
from medssl.data.images import LabelledImages
from medssl.data.prepared import TrainData, load_labelled_set, load_train_data
from medssl.methods.registry import ResolvedMethod, resolve_method
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import with_loop_overrides, with_pipeline_inputs


@dataclass(frozen=True)
class Workspace:
    root: Path
    params: dict[str, Any]
    train_config: TrainConfig
    device: torch.device

    @property
    def prepared(self) -> Path:
        return self.root / "data" / "prepared"

    def inputs(self, name: str) -> Path:
        """Method ``name``'s pipeline products (the inputs stage's folder)."""
        return self.root / "data" / "inputs" / name

    def method_values(self, name: str) -> dict[str, Any]:
        return dict(section(self.params, f"methods.{name}"))

    def method(self, name: str) -> ResolvedMethod:
        """Method ``name`` with this workspace's params section."""
        return resolve_method(name, self.method_values(name))

    def method_train_config(self, name: str) -> TrainConfig:
        """``params.train`` as method ``name``'s train stage runs it: with its own loop settings."""
        return with_loop_overrides(self.method(name), self.train_config)

    def train_data(self, name: str) -> TrainData:
        """The prepared split plus the pipeline products method ``name`` reads."""
        return with_pipeline_inputs(
            self.method(name),
            load_train_data(self.prepared),
            inputs_dir=self.inputs(name),
            device=self.device,
        )

    def test_set(self) -> LabelledImages:
        return load_labelled_set(self.prepared / "test.npz")


def open_workspace(root: Path) -> Workspace:
    """The workspace at ``root``, with PyTorch's threads set as its train stages set them."""
    params_path = root / "params.yaml"
    train_config = load_section(params_path, "train", TrainConfig)
    configure_threads(train_config.num_threads)
    return Workspace(root, load_params(params_path), train_config, pick_device(train_config.device))
