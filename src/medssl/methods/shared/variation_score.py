"""AnoGAN's variation score (Schlegl et al. 2017), as MCGAN uses it (Motamed & Khalvati 2021, eqs.
2-5).

For a query image x, find the latent z whose generated image is closest to x by gradient descent on

    L(z) = (1 - lambda) * sum |x - G(z)| + lambda * sum |f(x) - f(G(z))|      (eq. 5, lambda = 0.2)

where f is an intermediate discriminator layer, and report V(x) = L(z*) (eq. 2). The search is the
method's cost, so it runs over a whole batch of images at once: every image has its own z, the loss
is the sum of the per-image losses (their gradients do not mix: G and D are in eval mode, so batch
norm uses running statistics and each image's loss depends on its own z only), and one Adam step
moves every z. Schlegl et al. start z from the prior and use 500 steps; both are params here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from medssl.core.optim import adam
from medssl.methods.shared.losses import variation_loss


@dataclass(frozen=True)
class SearchSettings:
    steps: int
    learning_rate: float
    weight: float  # lambda of eq. 5: the discriminator-feature term's share
    batch_size: int


def search_latents(
    generator: nn.Module,
    discriminator: nn.Module,
    images: torch.Tensor,
    *,
    settings: SearchSettings,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(V(x) per image, G(z*) per image) for float images in [-1, 1], processed ``batch_size`` at a
    time."""
    generator.eval()
    discriminator.eval()
    scores, reconstructions = [], []
    # Every image's starting z is drawn up front, so the result does not depend on the batch size:
    # the loss is a sum of per-image terms and Adam updates each coordinate on its own gradient.
    starts = torch.randn(
        len(images), generator.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    for start in range(0, len(images), settings.batch_size):
        batch = images[start : start + settings.batch_size]
        score, reconstruction = _search_batch(
            generator, discriminator, batch, settings, starts[start : start + settings.batch_size]
        )
        scores.append(score)
        reconstructions.append(reconstruction)
    return torch.cat(scores), torch.cat(reconstructions)


def _search_batch(
    generator: nn.Module,
    discriminator: nn.Module,
    images: torch.Tensor,
    settings: SearchSettings,
    start: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    parameters = [*generator.parameters(), *discriminator.parameters()]
    was_trainable = [p.requires_grad for p in parameters]
    for parameter in parameters:
        parameter.requires_grad_(False)  # only z moves; no gradient buffers for the networks
    try:
        with torch.no_grad():
            target_features = discriminator.features(images)
        latent = start.to(images.device).requires_grad_(True)
        optimizer = adam([latent], lr=settings.learning_rate)
        for _ in range(settings.steps):
            per_image = variation_loss(
                images,
                generator(latent),
                image_features=target_features,
                features=discriminator.features,
                weight=settings.weight,
            )
            optimizer.zero_grad(set_to_none=True)
            per_image.sum().backward()
            optimizer.step()
        with torch.no_grad():
            reconstruction = generator(latent)
            score = variation_loss(
                images,
                reconstruction,
                image_features=target_features,
                features=discriminator.features,
                weight=settings.weight,
            )
        return score.cpu(), reconstruction.cpu()
    finally:
        for parameter, trainable in zip(parameters, was_trainable, strict=True):
            parameter.requires_grad_(trainable)
