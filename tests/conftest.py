"""Shared fixtures: tiny synthetic data for unit tests, and the real-data mirror for integration
tests.

Integration tests read real datasets through the download code path: from the folder in
$MEDSSL_DATA_MIRROR when it is set (CI points it at ../shared/data), else from the official URLs.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import torch

from medssl.core.config import build_config, load_params, section
from medssl.data.catalog import SYNTHETIC
from medssl.data.images import RawDataset
from medssl.data.prepared import DatasetInfo, PseudoLabels, TrainData
from medssl.data.sources import DataConfig, acquire, load_raw
from medssl.data.split import SplitConfig, make_split
from medssl.methods.base import RunContext
from medssl.models.resnet20 import ResNet20

REPO_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# The shared synthetic task: three classes of 16 px images.
SYNTHETIC_TASK = {"num_classes": 3, "train_per_class": 30, "val_per_class": 8, "test_per_class": 8}


def load_script(relative_path: str) -> Any:
    """A script of ``stages/`` or ``benchmarks/`` (not a package) imported as a module, registered
    in ``sys.modules`` so that its dataclasses can look their module up."""
    path = REPO_ROOT / relative_path
    name = f"script_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def params_section(name: str, /, **overrides: Any) -> dict[str, Any]:
    """Section ``name`` of the project's params.yaml (the one place defaults live), with
    ``overrides`` laid over it; a nested mapping is merged key by key."""
    return _merged(dict(section(load_params(REPO_ROOT / "params.yaml"), name)), overrides)


def _merged(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def config_from_params(config_class: type[T], name: str, /, **overrides: Any) -> T:
    """A config of section ``name`` as params.yaml has it, with a test's ``overrides``."""
    return build_config(config_class, params_section(name, **overrides), name)


def method_values(name: str, /, **overrides: Any) -> dict[str, Any]:
    """The params of method ``name`` with a test's settings laid over them."""
    return params_section(f"methods.{name}", **overrides)


def split_config(**overrides: Any) -> SplitConfig:
    return config_from_params(SplitConfig, "split", **overrides)


def data_config(**overrides: Any) -> DataConfig:
    return config_from_params(DataConfig, "data", **overrides)


def synthetic_config(image_size: int = 16) -> DataConfig:
    return data_config(name=SYNTHETIC, image_size=image_size, synthetic=SYNTHETIC_TASK)


@pytest.fixture
def synthetic_raw(tmp_path: Path) -> RawDataset:
    config = synthetic_config()
    acquire(config, tmp_path / "raw")
    return load_raw(config, tmp_path / "raw")


def train_data_from(
    raw: RawDataset, labels_per_class: int = 10, seed: int = 0, pseudo_label_accuracy: float = 0.8
) -> TrainData:
    """A split of ``raw`` with stand-in pseudo-labels: the true label for a seeded
    ``pseudo_label_accuracy``
    share of the pool, a wrong one elsewhere (tests may use hidden labels; training code may not).
    """
    split = make_split(raw, split_config(labels_per_class=labels_per_class, seed=seed))
    info = DatasetInfo(
        raw.name,
        raw.task,
        raw.label_names,
        raw.channels,
        raw.image_size,
        labels_per_class,
        seed,
        {"labelled": len(split.labelled), "unlabelled": len(split.unlabelled_images)},
    )
    rng = np.random.default_rng(seed)
    truth = split.unlabelled_hidden_labels
    wrong = (truth + rng.integers(1, len(raw.label_names), size=len(truth))) % len(raw.label_names)
    correct = rng.random(len(truth)) < pseudo_label_accuracy
    pseudo = PseudoLabels(
        np.where(correct, truth, wrong), np.where(correct, 0.9, 0.6), rng.random(len(truth))
    )
    # An untrained ResNet-20 stands in for the features stage's (methods use it as a fixed network).
    feature_network = ResNet20(raw.channels).eval().requires_grad_(False)
    return TrainData.from_split(split, info, pseudo_labels=pseudo, feature_network=feature_network)


@pytest.fixture
def synthetic_train_data(synthetic_raw: RawDataset) -> TrainData:
    return train_data_from(synthetic_raw)


def cpu_run(
    seed: int = 0,
    checkpoint_path: Path | None = None,
    validations: int = 4,
    checkpoint_every: int = 5,
) -> RunContext:
    return RunContext(
        seed=seed,
        device=torch.device("cpu"),
        validations=validations,
        checkpoint_every=checkpoint_every,
        log_every=5,
        eval_batch_size=64,
        selection_metric="accuracy",
        checkpoint_path=checkpoint_path,
        progress_label="test",
    )


@pytest.fixture
def data_mirror() -> str:
    """The configured mirror folder ('' means: download from the official URLs)."""
    return os.environ.get("MEDSSL_DATA_MIRROR", "")
