"""K+1 GAN losses against values computed by hand."""

import math

import pytest
import torch

from medssl.methods.shared.losses import (
    discriminator_loss,
    feature_matching_loss,
    generated_fake_loss,
    generator_loss,
    labelled_loss,
    log_partition,
    unlabelled_real_loss,
)
from medssl.methods.ucgan.losses import (
    gaussian_mmd,
    gram_matrices,
    inception_style_score,
    style_loss,
)


def test_equal_logits_give_the_textbook_values():
    logits = torch.zeros(1, 2)  # Z = 2: D(x) = 2/3, p(fake) = 1/3
    assert log_partition(logits).item() == pytest.approx(math.log(2))
    assert unlabelled_real_loss(logits).item() == pytest.approx(-math.log(2 / 3))
    assert generated_fake_loss(logits).item() == pytest.approx(-math.log(1 / 3))


def test_losses_average_over_the_batch():
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])  # Z = 4 and Z = 2
    assert unlabelled_real_loss(logits).item() == pytest.approx(
        (-math.log(4 / 5) - math.log(2 / 3)) / 2
    )
    assert generated_fake_loss(logits).item() == pytest.approx((math.log(5) + math.log(3)) / 2)


def test_labelled_loss_is_cross_entropy_over_real_classes_with_optional_weights():
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    labels = torch.tensor([1, 0])
    assert labelled_loss(logits, labels).item() == pytest.approx(
        (-math.log(0.75) - math.log(0.5)) / 2
    )
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


def test_gan_losses_match_the_binary_cross_entropy_by_hand():
    real, fake = torch.tensor([0.0, math.log(3.0)]), torch.tensor([0.0])
    # D(real) = 1/2 and 3/4, D(fake) = 1/2
    expected = (-math.log(0.5) - math.log(0.75)) / 2 - math.log(0.5)
    assert discriminator_loss(real, fake).item() == pytest.approx(expected)
    assert generator_loss(torch.tensor([math.log(3.0)])).item() == pytest.approx(-math.log(0.75))


def test_inception_style_score_is_the_entropy_gap():
    confident_and_diverse = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert inception_style_score(confident_and_diverse).item() == pytest.approx(math.log(2))
    assert inception_style_score(torch.tensor([[1.0, 0.0], [1.0, 0.0]])).item() == pytest.approx(
        0.0, abs=1e-6
    )
    assert inception_style_score(torch.full((3, 2), 0.5)).item() == pytest.approx(0.0, abs=1e-6)


def test_gaussian_mmd_by_hand():
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # a, b
    generated = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # a, c
    k_ab, k_ac, k_bc = math.exp(-2.0), math.exp(-1.0), math.exp(-1.0)
    within_real, within_generated = k_ab, k_ac  # each batch has one pair i != i'
    cross = (1.0 + k_ac + k_ab + k_bc) / 4  # k(a,a), k(a,c), k(b,a), k(b,c)
    assert gaussian_mmd(real, generated).item() == pytest.approx(
        within_real + within_generated - 2 * cross
    )
    assert gaussian_mmd(real, real.flip(0)).item() == pytest.approx(
        2 * k_ab - 2 * (2 + 2 * k_ab) / 4
    )


def test_gram_matrices_and_style_loss_by_hand():
    activations = torch.tensor([[[[1.0, 2.0]], [[0.0, 1.0]]]])  # one image, 2 channels of 1x2
    gram = gram_matrices(activations)[0]
    assert torch.allclose(gram, torch.tensor([[5.0, 2.0], [2.0, 1.0]]) / 4)
    assert style_loss([activations], [activations]).item() == 0.0
    assert style_loss([activations], [torch.zeros_like(activations)]).item() == pytest.approx(
        (25 + 4 + 4 + 1) / 16
    )
