"""Losses of the K+1-class semi-supervised GAN (Salimans et al. 2016, "Improved techniques for
training GANs", Sec. 5; used by the PLAB-GAN and patch SSL-GAN papers).

The discriminator outputs K real-class logits l_1..l_K; the fake class's logit is fixed at 0, so with
Z(x) = sum_k exp(l_k):  p(fake | x) = 1 / (Z + 1)  and  D(x) = p(real | x) = Z / (Z + 1).
Everything is written with logsumexp and softplus, never exp/log by hand, so it is stable in fp32
(and under autocast, where the logsumexp is taken in fp32).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def log_partition(real_class_logits: torch.Tensor) -> torch.Tensor:
    """log Z(x) = logsumexp of the K real-class logits, per image, in fp32."""
    return torch.logsumexp(real_class_logits.float(), dim=1)


def labelled_loss(real_class_logits: torch.Tensor, labels: torch.Tensor,
                  weights: torch.Tensor | None = None) -> torch.Tensor:
    """-E log p(y | x, y <= K): cross-entropy over the K real classes (PLAB-GAN eq. 5).

    ``weights`` (per image) lets pseudo-labelled images count less than true labels.
    """
    per_image = F.cross_entropy(real_class_logits.float(), labels, reduction="none")
    if weights is None:
        return per_image.mean()
    return (per_image * weights).sum() / weights.sum().clamp_min(1e-12)


def unlabelled_real_loss(real_class_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(x) on real unlabelled images = E[softplus(log Z) - log Z] (PLAB-GAN eq. 6)."""
    log_z = log_partition(real_class_logits)
    return (F.softplus(log_z) - log_z).mean()


def generated_fake_loss(real_class_logits: torch.Tensor) -> torch.Tensor:
    """-E log p(fake | G(z)) on generated images = E[softplus(log Z)] (PLAB-GAN eq. 7)."""
    return F.softplus(log_partition(real_class_logits)).mean()


def feature_matching_loss(real_features: torch.Tensor, generated_features: torch.Tensor) -> torch.Tensor:
    """||E f(x) - E f(G(z))||^2 / d: the generator matches the batch mean of an intermediate
    discriminator layer on real data (Salimans et al. Sec. 3.1; mean squared, as in their code)."""
    difference = real_features.float().mean(dim=0) - generated_features.float().mean(dim=0)
    return difference.pow(2).mean()


# --- Standard (real/fake) GAN losses: DCGAN, AnoGAN/MCGAN and the XRAY-GAN methods -------------------------

def rejected_loss(logits: torch.Tensor) -> torch.Tensor:
    """-E log(1 - D(x)): the loss of images the discriminator should call fake."""
    return F.softplus(logits.float()).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(x) - E log(1 - D(G(z))) with D = sigmoid(logit) (Goodfellow et al. 2014, eq. 1)."""
    return F.softplus(-real_logits.float()).mean() + rejected_loss(fake_logits)


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(G(z)): the non-saturating generator loss (Goodfellow et al. 2014, Sec. 3)."""
    return F.softplus(-fake_logits.float()).mean()


# --- XRAY-GAN's score regularisers (Chen & Wan, eqs. 7-9) -------------------------------------------------

def _entropy(probabilities: torch.Tensor) -> torch.Tensor:
    return -(probabilities * torch.log(probabilities.clamp_min(1e-12))).sum(dim=-1)


def inception_style_score(probabilities: torch.Tensor) -> torch.Tensor:
    """E_z KL(p(y|G(z)) || p(y)) = H(p(y)) - E_z H(p(y|G(z))) over a batch, no exponential (eq. 7).
    High when each image is confidently classified and the batch covers the classes."""
    probabilities = probabilities.float()
    return _entropy(probabilities.mean(dim=0)) - _entropy(probabilities).mean()


def gaussian_mmd(real: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 with k(a, b) = exp(-|a - b|^2) between two batches of class-probability vectors
    (eq. 8; Gretton et al. 2012). Each of the three sums is divided by its own number of terms; read
    literally, eq. 8's 1/C(N, 2) on sums over ordered pairs would double the estimate."""
    real, generated = real.float(), generated.float()

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(a[:, None, :] - b[None, :, :]).pow(2).sum(dim=-1))

    def within(samples: torch.Tensor) -> torch.Tensor:
        count = len(samples)
        return (kernel(samples, samples).sum() - count) / (count * (count - 1))  # drops the diagonal k = 1

    return within(real) + within(generated) - 2 * kernel(real, generated).mean()


def gram_matrices(activations: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): phi^T phi / (C H W), Johnson et al.'s style representation."""
    batch, channels, height, width = activations.shape
    flat = activations.float().reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


def style_loss(generated_activations: list[torch.Tensor], real_activations: list[torch.Tensor]) -> torch.Tensor:
    """sum over layers of |Gram(phi(I_g)) - Gram(phi(I_r))|_F^2 (eq. 9). The generated and real batches
    are unpaired, so each side's Gram matrices are averaged over its batch first: a batch style."""
    total = torch.zeros((), device=generated_activations[0].device)
    for generated, real in zip(generated_activations, real_activations, strict=True):
        difference = gram_matrices(generated).mean(dim=0) - gram_matrices(real).mean(dim=0)
        total = total + difference.pow(2).sum()
    return total


# --- AnoGAN / MCGAN ------------------------------------------------------------------------------------

def variation_loss(images: torch.Tensor, generated: torch.Tensor, image_features: torch.Tensor,
                   features: Callable[[torch.Tensor], torch.Tensor], weight: float) -> torch.Tensor:
    """Per image: (1 - lambda) * sum |x - G(z)| (residual, eq. 3) + lambda * sum |f(x) - f(G(z))|
    (discriminator, eq. 4), i.e. L(z) of eq. 5 and, at the searched z, the variation score V(x) of eq. 2."""
    residual = (images.float() - generated.float()).abs().flatten(1).sum(dim=1)
    discriminator = (image_features.float() - features(generated).float()).abs().flatten(1).sum(dim=1)
    return (1.0 - weight) * residual + weight * discriminator
