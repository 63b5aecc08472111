"""K+1 GAN losses against values computed by hand."""

import math

import pytest
import torch

from medssl.losses import (
    feature_matching_loss,
    generated_fake_loss,
    labelled_loss,
    log_partition,
    unlabelled_real_loss,
)


def test_equal_logits_give_the_textbook_values():
    logits = torch.zeros(1, 2)  # Z = 2: D(x) = 2/3, p(fake) = 1/3
    assert log_partition(logits).item() == pytest.approx(math.log(2))
    assert unlabelled_real_loss(logits).item() == pytest.approx(-math.log(2 / 3))
    assert generated_fake_loss(logits).item() == pytest.approx(-math.log(1 / 3))


def test_losses_average_over_the_batch():
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])  # Z = 4 and Z = 2
    assert unlabelled_real_loss(logits).item() == pytest.approx((-math.log(4 / 5) - math.log(2 / 3)) / 2)
    assert generated_fake_loss(logits).item() == pytest.approx((math.log(5) + math.log(3)) / 2)


def test_labelled_loss_is_cross_entropy_over_real_classes_with_optional_weights():
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    labels = torch.tensor([1, 0])
    assert labelled_loss(logits, labels).item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)
    weighted = labelled_loss(logits, labels, weights=torch.tensor([1.0, 0.0]))
    assert weighted.item() == pytest.approx(-math.log(0.75))


def test_extreme_logits_stay_finite():
    logits = torch.tensor([[200.0, -200.0], [-200.0, -200.0]])
    for loss in (unlabelled_real_loss(logits), generated_fake_loss(logits)):
        assert torch.isfinite(loss)
    assert unlabelled_real_loss(logits[:1]).item() == pytest.approx(0.0, abs=1e-6)  # surely real
    assert generated_fake_loss(logits[1:]).item() == pytest.approx(0.0, abs=1e-6)  # surely fake


def test_feature_matching_compares_batch_means():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    generated = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert feature_matching_loss(real, generated).item() == pytest.approx((1 + 4) / 2)
    assert feature_matching_loss(real, real.flip(0)).item() == 0.0
