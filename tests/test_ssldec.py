"""SSLDEC as a pipeline method: Algorithm 1's schedule, the ensemble, and resuming after an
interruption."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, cpu_run, method_values
from medssl.methods.registry import create_method
from medssl.methods.ssldec.algorithm import SSLDECConfig, SSLDECTrainer

TINY = {
    "pretrain_epochs": 3,
    "max_rounds": 3,
    "batch_size": 16,
    "width": 0.125,
    "max_relabel_epochs": 2,
    "assignment_change_tol": 0.0,
    "assignment_change_interval": 1,
}


def test_history_has_every_pretrain_epoch_then_every_round(synthetic_train_data):
    method = create_method("ssldec", method_values("ssldec", **TINY), synthetic_train_data.info)
    history = method.fit(synthetic_train_data, cpu_run())
    pretrain = [row for row in history if "pretrain_loss" in row]
    rounds = [row for row in history if "changed_fraction" in row]
    assert [row["step"] for row in pretrain] == [1.0, 2.0, 3.0]
    assert [row["step"] for row in rounds] == [4.0, 5.0, 6.0]
    assert all(0.0 <= row["val_accuracy"] <= 1.0 for row in rounds)
    # nothing to compare the first round's assignments with
    assert rounds[0]["changed_fraction"] == 1.0


@pytest.mark.slow
def test_an_ensemble_averages_its_members(synthetic_train_data):
    method = create_method(
        "ssldec", method_values("ssldec", **TINY, ensemble_size=2), synthetic_train_data.info
    )
    method.fit(synthetic_train_data, cpu_run())
    assert len(method.members) == 2
    each = [method._predict_with(member, synthetic_train_data.val_x) for member in method.members]
    np.testing.assert_allclose(
        method.predict_proba(synthetic_train_data.val_x), (each[0] + each[1]) / 2, atol=1e-9
    )


class _Interrupted(Exception):
    pass


@pytest.mark.slow
@pytest.mark.parametrize("ensemble_size, crash_at_call", [(1, 2), (2, 4)])
def test_an_interrupted_run_resumes_to_the_same_weights(
    synthetic_train_data, tmp_path: Path, monkeypatch, ensemble_size: int, crash_at_call: int
):
    values = method_values("ssldec", **TINY, ensemble_size=ensemble_size)
    straight = create_method("ssldec", values, synthetic_train_data.info)
    straight.fit(synthetic_train_data, cpu_run(seed=3, checkpoint_path=tmp_path / "straight.pt"))

    checkpoint = tmp_path / "interrupted.pt"
    original = SSLDECTrainer.semi_supervised_round
    calls = []

    def crash(self, *args):
        calls.append(1)
        if len(calls) == crash_at_call:
            raise _Interrupted
        return original(self, *args)

    monkeypatch.setattr(SSLDECTrainer, "semi_supervised_round", crash)
    with pytest.raises(_Interrupted):
        create_method("ssldec", values, synthetic_train_data.info).fit(
            synthetic_train_data, cpu_run(seed=3, checkpoint_path=checkpoint)
        )
    assert checkpoint.is_file()
    monkeypatch.setattr(SSLDECTrainer, "semi_supervised_round", original)

    resumed = create_method("ssldec", values, synthetic_train_data.info)
    resumed.fit(synthetic_train_data, cpu_run(seed=3, checkpoint_path=checkpoint))
    assert not checkpoint.exists()
    assert 0 < resumed.earlier_seconds < resumed.seconds_so_far()
    for expected, actual in zip(straight.members, resumed.members, strict=True):
        for key, tensor in expected.state_dict().items():
            torch.testing.assert_close(actual.state_dict()[key], tensor, rtol=0, atol=0)


def test_the_model_kept_is_the_best_validation_point(synthetic_train_data):
    """The one selection rule of every method: the best validation score over the end of
    pre-training and every round, the earlier on a tie."""
    method = create_method("ssldec", method_values("ssldec", **TINY), synthetic_train_data.info)
    history = method.fit(synthetic_train_data, cpu_run())
    scores = [row["val_accuracy"] for row in history if "val_accuracy" in row]
    assert len(scores) == 1 + TINY["max_rounds"]
    kept = float(
        np.mean(
            method.predict_proba(synthetic_train_data.val_x).argmax(axis=1)
            == synthetic_train_data.val_y
        )
    )
    assert kept == max(scores)


def test_the_two_moons_benchmark_offers_every_numeric_setting_as_a_flag():
    """Its per-setting flags come from SSLDECConfig's annotations, which are strings and Annotated
    ranges: compared as text they matched nothing and no flag existed."""
    shown = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "two_moons.py"), "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for flag in ("--max-rounds", "--assignment-change-tol", "--pretrain-epochs", "--batch-size"):
        assert flag in shown


def _trainer_at(steps: list[int], interval: int) -> SSLDECTrainer:
    config = SSLDECConfig(
        pretrain_epochs=1,
        batch_size=4,
        pretrain_learning_rate=(1e-3, 1e-3),
        learning_rate=1e-3,
        weight_decay=0.0,
        label_accuracy_threshold=1.0,
        max_relabel_epochs=1,
        max_rounds=100,
        assignment_change_tol=0.01,
        assignment_change_interval=interval,
    )
    return SSLDECTrainer(torch.nn.Linear(2, 2), 2, config, seed=0)


def test_the_end_condition_compares_with_the_assignment_an_interval_of_steps_back():
    trainer = _trainer_at([], interval=10)
    first, second = np.zeros(100, dtype=np.int64), np.zeros(100, dtype=np.int64)
    second[:5] = 1  # 5 % changed
    changes = []
    for steps, labels in [(4, first), (8, first), (12, second), (16, second), (22, second)]:
        trainer.steps = steps
        changes.append(trainer._changed_since_interval(labels))
    # Steps 4, 8 and 12 have no assignment 10 steps back (none at step <= 2);
    # 16 compares with step 4 (first): 5 %; 22 compares with step 12 (second): 0 %.
    assert changes == [1.0, 1.0, 1.0, 0.05, 0.0]
    assert [steps for steps, _ in trainer.assignments] == [12, 16, 22]
