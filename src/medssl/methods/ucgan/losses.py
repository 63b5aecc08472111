"""XRAY-GAN's score regularisers (Chen & Wan, eqs. 7-9), which train ucgan's generator."""

from __future__ import annotations

import torch


def _entropy(probabilities: torch.Tensor) -> torch.Tensor:
    return -(probabilities * torch.log(probabilities.clamp_min(1e-12))).sum(dim=-1)


def inception_style_score(probabilities: torch.Tensor) -> torch.Tensor:
    """E_z KL(p(y|G(z)) || p(y)) = H(p(y)) - E_z H(p(y|G(z))) over a batch, no exponential (eq. 7).
    High when each image is confidently classified and the batch covers the classes."""
    probabilities = probabilities.float()
    return _entropy(probabilities.mean(dim=0)) - _entropy(probabilities).mean()


def gaussian_mmd(real: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 with k(a, b) = exp(-|a - b|^2) between two batches of class-probability
    vectors (eq. 8; Gretton et al. 2012). Each of the three sums is divided by its own number of
    terms; read literally, eq. 8's 1/C(N, 2) on sums over ordered pairs would double the estimate.
    """
    real, generated = real.float(), generated.float()

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(a[:, None, :] - b[None, :, :]).pow(2).sum(dim=-1))

    def within(samples: torch.Tensor) -> torch.Tensor:
        count = len(samples)
        # drops the diagonal k = 1
        return (kernel(samples, samples).sum() - count) / (count * (count - 1))

    return within(real) + within(generated) - 2 * kernel(real, generated).mean()


def gram_matrices(activations: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): phi^T phi / (C H W), Johnson et al.'s style representation."""
    batch, channels, height, width = activations.shape
    flat = activations.float().reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


def style_loss(
    generated_activations: list[torch.Tensor], real_activations: list[torch.Tensor]
) -> torch.Tensor:
    """sum over layers of |Gram(phi(I_g)) - Gram(phi(I_r))|_F^2 (eq. 9). The generated and real
    batches are unpaired, so each side's Gram matrices are averaged over its batch first: a batch
    style."""
    total = torch.zeros((), device=generated_activations[0].device)
    for generated, real in zip(generated_activations, real_activations, strict=True):
        difference = gram_matrices(generated).mean(dim=0) - gram_matrices(real).mean(dim=0)
        total = total + difference.pow(2).sum()
    return total
