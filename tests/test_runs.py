"""The run fingerprint: a checkpoint is resumed only by the run that wrote it, code included."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import torch

from conftest import config_from_params, method_values
from medssl.methods.registry import method_config
from medssl.models.resnet20 import ResNet20
from medssl.pipeline.runs import TrainConfig, run_fingerprint


def _fingerprint(data, train_config: TrainConfig | None = None) -> str:
    config = method_config("ucgan", method_values("ucgan"))
    return run_fingerprint(
        "ucgan", config, train_config or config_from_params(TrainConfig, "train"), data=data, seed=0
    )


def test_a_change_to_loaded_code_changes_the_fingerprint(
    synthetic_train_data, tmp_path: Path, monkeypatch
):
    probe = tmp_path / "probe.py"
    probe.write_text("VALUE = 1\n")
    module = types.ModuleType("medssl._fingerprint_probe")
    module.__file__ = str(probe)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    before = _fingerprint(synthetic_train_data)
    assert _fingerprint(synthetic_train_data) == before
    probe.write_text("VALUE = 2  # a fix\n")
    assert _fingerprint(synthetic_train_data) != before


def test_another_input_model_changes_the_fingerprint(synthetic_train_data):
    torch.manual_seed(1)
    other_network = ResNet20(synthetic_train_data.info.channels).eval().requires_grad_(False)
    other = dataclasses.replace(synthetic_train_data, feature_network=other_network)
    assert _fingerprint(other) != _fingerprint(synthetic_train_data)


def test_settings_that_change_no_weight_keep_the_fingerprint(synthetic_train_data, tmp_path: Path):
    """A run interrupted and restarted with another checkpoint or log interval resumes."""
    default = config_from_params(TrainConfig, "train")
    other = dataclasses.replace(default, checkpoint_every=7, log_every=3)
    assert _fingerprint(synthetic_train_data, other) == _fingerprint(synthetic_train_data, default)
    assert _fingerprint(
        synthetic_train_data, dataclasses.replace(default, validations=4)
    ) != _fingerprint(synthetic_train_data, default)
