"""Generators, and the MLP discriminator of Salimans et al. (2016) for the MNIST check.

PLAB-GAN's generator (Liu, Ning & Liu 2022, Sec. 2.3): noise -> dense -> reshape to (256, s/4, s/4)
-> two blocks of a stride-2 transposed convolution, batch norm and LeakyReLU 0.01, the last one with
tanh instead, giving an s x s image. The paper reshapes to 32x32x256 for 128 px; the batch norm and
LeakyReLU after the dense layer are DCGAN's (Radford et al. 2016), which the paper does not mention.
Transposed convolutions are 4x4 with padding 1, the DCGAN kernel that exactly doubles the size.

Salimans et al.'s MNIST networks (their train_mnist_feature_matching.py): D is 784-1000-500-250-250-
250-10, every dense layer weight-normalised, Gaussian noise of std 0.3 on the input and 0.5 after every
hidden layer; G is 100-500-500-784 with softplus and batch norm, a weight-normalised output layer and
a sigmoid, here a tanh because the pipeline's images live in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from medssl.models.cnn import LEAKY_SLOPE, GaussianNoise

GENERATOR_BASE_CHANNELS = 256


class PlabGenerator(nn.Module):
    def __init__(self, out_channels: int, image_size: int, latent_dim: int = 100) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"the PLAB-GAN generator doubles the size twice: image size {image_size} must divide by 4")
        base, self.start = GENERATOR_BASE_CHANNELS, image_size // 4
        self.latent_dim = latent_dim
        self.project = nn.Linear(latent_dim, base * self.start * self.start)
        self.upsample = nn.Sequential(
            nn.BatchNorm2d(base),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.ConvTranspose2d(base, base // 2, 4, stride=2, padding=1),
            nn.BatchNorm2d(base // 2),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.ConvTranspose2d(base // 2, out_channels, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        projected = self.project(noise).view(len(noise), GENERATOR_BASE_CHANNELS, self.start, self.start)
        return self.upsample(projected)


class SalimansMLPDiscriminator(nn.Module):
    """``features`` is the last 250-unit layer, where Salimans et al. match features."""

    HIDDEN = (1000, 500, 250, 250, 250)

    def __init__(self, in_channels: int, num_classes: int, image_size: int, input_noise: float = 0.3,
                 hidden_noise: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(input_noise)]
        width = in_channels * image_size * image_size
        for hidden in self.HIDDEN:
            layers += [weight_norm(nn.Linear(width, hidden)), nn.ReLU(), GaussianNoise(hidden_noise)]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.head = weight_norm(nn.Linear(width, num_classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class SalimansMLPGenerator(nn.Module):
    def __init__(self, out_channels: int, image_size: int, latent_dim: int = 100) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.shape = (out_channels, image_size, image_size)
        self.network = nn.Sequential(
            nn.Linear(latent_dim, 500), nn.Softplus(), nn.BatchNorm1d(500),
            nn.Linear(500, 500), nn.Softplus(), nn.BatchNorm1d(500),
            weight_norm(nn.Linear(500, out_channels * image_size * image_size)), nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.network(noise).view(len(noise), *self.shape)
