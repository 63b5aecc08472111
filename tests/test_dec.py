"""SSLDEC's pieces against the paper's equations on tiny hand-sized examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medssl.methods.ssldec.algorithm import (
    balanced_subset,
    kl_divergence,
    one_pixel_translation,
    target_distribution,
)
from medssl.methods.ssldec.clustering import StudentTClustering


def test_student_t_assignments_match_eq1_by_hand():
    layer = StudentTClustering(2, 1)
    with torch.no_grad():
        layer.centroids.copy_(torch.tensor([[0.0], [2.0]]))
    q = layer(torch.tensor([[1.0], [0.0]]))
    # z = 1: both centroids at distance 1 -> 1/2 each; z = 0: kernels 1 and 1/5 -> 5/6, 1/6.
    assert torch.allclose(q, torch.tensor([[0.5, 0.5], [5 / 6, 1 / 6]]))


def test_target_distribution_matches_eq2_by_hand():
    q = torch.tensor([[0.75, 0.25], [0.5, 0.5]])
    # cluster frequencies f = q.sum(dim=0) = (1.25, 0.75)
    first = torch.tensor([0.75**2 / 1.25, 0.25**2 / 0.75])
    second = torch.tensor([0.25 / 1.25, 0.25 / 0.75])
    expected = torch.stack([first / first.sum(), second / second.sum()])
    assert torch.allclose(target_distribution(q), expected)
    assert torch.allclose(target_distribution(q).sum(dim=1), torch.ones(2))


def test_autograd_gradients_match_eq4():
    torch.manual_seed(0)
    layer = StudentTClustering(3, 2).double()
    z = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    q = layer(z)
    p = target_distribution(q)
    kl_divergence(p, q, reduction="sum").backward()
    difference = z.detach()[:, None, :] - layer.centroids.detach()[None, :, :]  # (i, j, d)
    kernel = 1.0 / (1.0 + difference.pow(2).sum(-1))  # (1 + |z_i - mu_j|^2)^-1
    weight = (kernel * (p - q.detach()))[..., None]
    expected_z = 2 * (weight * difference).sum(dim=1)
    expected_mu = -2 * (weight * difference).sum(dim=0)
    assert torch.allclose(z.grad, expected_z) and torch.allclose(layer.centroids.grad, expected_mu)


def test_kl_with_one_hot_targets_is_the_cross_entropy():
    q = torch.softmax(torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]]), dim=1)
    labels = torch.tensor([1, 2])
    assert torch.allclose(
        kl_divergence(F.one_hot(labels, 3).float(), q), F.nll_loss(q.log(), labels)
    )


def test_balanced_subset_takes_the_rarest_class_count_of_each_class():
    predicted = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    chosen = balanced_subset(predicted, 3, np.random.default_rng(0))
    assert np.bincount(predicted[chosen], minlength=3).tolist() == [2, 2, 2]
    assert balanced_subset(np.array([0, 0, 1]), 3, np.random.default_rng(0)).size == 0


def test_one_pixel_translation_shifts_by_at_most_one_pixel():
    image = torch.zeros(1, 1, 5, 5)
    image[0, 0, 2, 2] = 1.0
    shifted = one_pixel_translation(image.repeat(50, 1, 1, 1), torch.Generator().manual_seed(0))
    positions = {tuple(torch.nonzero(s[0])[0].tolist()) for s in shifted}
    assert positions <= {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)} and len(positions) > 1
    assert torch.all(shifted.sum(dim=(1, 2, 3)) == 1.0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_kl_of_a_distribution_with_itself_is_zero(reduction):
    q = torch.softmax(torch.randn(5, 4, generator=torch.Generator().manual_seed(1)), dim=1)
    assert kl_divergence(q, q, reduction).abs() < 1e-6
