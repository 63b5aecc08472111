"""Losses several methods share: the K+1-class semi-supervised GAN's (Salimans et al. 2016,
"Improved techniques for training GANs", Sec. 5; ssgan, plabgan, patch_ssgan), the standard
real/fake GAN's (cgan_aug, ucgan, anogan, mcgan) and AnoGAN's variation loss (anogan, mcgan).

The discriminator outputs K real-class logits l_1..l_K; the fake class's logit is fixed at 0, so
with Z(x) = sum_k exp(l_k):  p(fake | x) = 1 / (Z + 1)  and  D(x) = p(real | x) = Z / (Z + 1).
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


def labelled_loss(
    real_class_logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
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


def feature_matching_loss(
    real_features: torch.Tensor, generated_features: torch.Tensor
) -> torch.Tensor:
    """||E f(x) - E f(G(z))||^2 / d: the generator matches the batch mean of an intermediate
    discriminator layer on real data (Salimans et al. Sec. 3.1; mean squared, as in their code)."""
    difference = real_features.float().mean(dim=0) - generated_features.float().mean(dim=0)
    return difference.pow(2).mean()


# --- Standard (real/fake) GAN losses: DCGAN, AnoGAN/MCGAN and the XRAY-GAN methods
# -------------------------


def rejected_loss(logits: torch.Tensor) -> torch.Tensor:
    """-E log(1 - D(x)): the loss of images the discriminator should call fake."""
    return F.softplus(logits.float()).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(x) - E log(1 - D(G(z))) with D = sigmoid(logit) (Goodfellow et al. 2014, eq. 1)."""
    return F.softplus(-real_logits.float()).mean() + rejected_loss(fake_logits)


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(G(z)): the non-saturating generator loss (Goodfellow et al. 2014, Sec. 3)."""
    return F.softplus(-fake_logits.float()).mean()


# --- AnoGAN / MCGAN
# ------------------------------------------------------------------------------------


def variation_loss(
    images: torch.Tensor,
    generated: torch.Tensor,
    *,
    image_features: torch.Tensor,
    features: Callable[[torch.Tensor], torch.Tensor],
    weight: float,
) -> torch.Tensor:
    """Per image: (1 - lambda) * sum |x - G(z)| (residual, eq. 3) + lambda * sum |f(x) - f(G(z))|
    (discriminator, eq. 4), i.e. L(z) of eq. 5 and, at the searched z, the variation score V(x) of
    eq. 2."""
    residual = (images.float() - generated.float()).abs().flatten(1).sum(dim=1)
    discriminator = (
        (image_features.float() - features(generated).float()).abs().flatten(1).sum(dim=1)
    )
    return (1.0 - weight) * residual + weight * discriminator
