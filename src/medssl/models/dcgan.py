"""DCGAN (Radford, Metz & Chintala 2016), scaled to the pipeline's image size, optionally
conditional.

Generator: noise (+ one-hot label) -> dense -> (4c, s/4, s/4) -> batch norm, ReLU -> transposed conv
to (2c, s/2, s/2) -> batch norm, ReLU -> transposed conv to (channels, s, s) -> tanh. Discriminator:
stride-2 4x4 convolutions c -> 2c (batch norm on the second), LeakyReLU 0.2, then a dense real/fake
logit. DCGAN's 64 px networks have one more block on each side; two suffice at 28 px and the block
pattern is the same. Weights start as DCGAN's (normal, std 0.02).

Conditional use (Mirza & Osindero 2014): the label enters the generator concatenated to the noise
and the discriminator as K constant one-hot input planes. An all-zero plane stack means "label
unknown", which lets the same discriminator also judge unlabelled real images and generated images
shown without their label (the XRAY-GAN cgan_aug method trains it on the unlabelled pool that way).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medssl.models.gan import dcgan_initialise

BASE_CHANNELS = 64
LEAKY_SLOPE = 0.2  # DCGAN's


def _check_size(image_size: int) -> None:
    if image_size % 4:
        raise ValueError(
            f"the DCGAN networks halve the image twice: image size {image_size} must divide by 4"
        )


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        out_channels: int,
        image_size: int,
        latent_dim: int = 100,
        num_classes: int = 0,
        base_channels: int = BASE_CHANNELS,
    ) -> None:
        super().__init__()
        _check_size(image_size)
        self.latent_dim, self.num_classes, self.start = latent_dim, num_classes, image_size // 4
        self.width = 2 * base_channels
        self.project = nn.Linear(latent_dim + num_classes, self.width * self.start**2)
        self.upsample = nn.Sequential(
            nn.BatchNorm2d(self.width),
            nn.ReLU(),
            nn.ConvTranspose2d(self.width, base_channels, 4, stride=2, padding=1),
            nn.BatchNorm2d(base_channels),
            nn.ReLU(),
            nn.ConvTranspose2d(base_channels, out_channels, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        dcgan_initialise(self)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            noise = torch.cat([noise, F.one_hot(labels, self.num_classes).to(noise.dtype)], dim=1)
        projected = self.project(noise).view(len(noise), self.width, self.start, self.start)
        return self.upsample(projected)


class DCGANDiscriminator(nn.Module):
    """``features`` is the flattened last convolution block (AnoGAN's intermediate layer f(x))."""

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        num_classes: int = 0,
        base_channels: int = BASE_CHANNELS,
    ) -> None:
        super().__init__()
        _check_size(image_size)
        self.num_classes = num_classes
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels + num_classes, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv2d(base_channels, 2 * base_channels, 4, stride=2, padding=1),
            nn.BatchNorm2d(2 * base_channels),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * base_channels * (image_size // 4) ** 2, 1)
        dcgan_initialise(self)

    def _with_label_planes(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if not self.num_classes:
            return images
        planes = torch.zeros(
            len(images),
            self.num_classes,
            *images.shape[2:],
            dtype=images.dtype,
            device=images.device,
        )
        if labels is not None:
            known = labels >= 0  # -1: label unknown, all-zero planes
            planes[known.nonzero().squeeze(1), labels[known]] = 1.0
        return torch.cat([images, planes], dim=1)

    def features(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.trunk(self._with_label_planes(images, labels))

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The real/fake logit, shape (N,)."""
        return self.head(self.features(images, labels)).squeeze(1)
