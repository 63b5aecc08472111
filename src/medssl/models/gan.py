"""Generators, and the MLP discriminator of Salimans et al. (2016) for the MNIST check.

PLAB-GAN's generator (Liu, Ning & Liu 2022, Sec. 2.3): noise -> dense -> reshape to (256, s/4, s/4)
-> two blocks of a stride-2 transposed convolution, batch norm and LeakyReLU 0.01, the last one with
tanh instead, giving an s x s image. The paper reshapes to 32x32x256 for 128 px; the batch norm and
LeakyReLU after the dense layer are DCGAN's (Radford et al. 2016), which the paper does not mention.
Transposed convolutions are 4x4 with padding 1, the DCGAN kernel that exactly doubles the size.
Weights start as DCGAN's do (normal, std 0.02; batch-norm scales normal around 1): with PyTorch's
default initialisation the generator's first outputs are saturated high-frequency noise that the
discriminator rejects at once, and on PneumoniaMNIST it never recovered (feature matching stalled).

Salimans et al.'s MNIST networks (their train_mnist_feature_matching.py): D is 784-1000-500-250-250-
250-10, every dense layer weight-normalised, Gaussian noise of std 0.3 on the input and 0.5 after
every hidden layer, on images in [0, 1]; G is 100-500-500-784 with softplus and batch norm, a
weight-normalised output layer and a sigmoid. The pipeline's images live in [-1, 1], so D maps its
input back to [0, 1] (the noise std keeps its meaning) and G ends in a tanh. Feature matching uses
the last 250-unit layer before its noise, as their code does (``layers[-3]``). Their
weight-normalised dense layer (nn.DenseLayer) starts its direction from N(0, 0.1) and trains its
scale only in the output layer (train_scale=False in the hidden ones), and their data-dependent
initialisation runs with the noise on (deterministic=False). All three are kept: with the scales
fixed at their noisy-init values the noise stays as large next to the activations as they intended.
With trained scales and a noise-free init, validation accuracy on MNIST at 10 labels per class
peaked at 0.85-0.88 after 1,500-3,000 steps and then fell to 0.53-0.65; with their choices it rose
steadily (0.93 at 3,000 steps, one seed).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from medssl.models.cnn import LEAKY_SLOPE, GaussianNoise

GENERATOR_BASE_CHANNELS = 256


def dcgan_initialise(network: nn.Module, std: float = 0.02) -> None:
    """Radford et al. (2016): every weight from N(0, 0.02), batch-norm scales from N(1, 0.02), zero
    biases."""
    for module in network.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)


class PlabGenerator(nn.Module):
    def __init__(self, out_channels: int, image_size: int, latent_dim: int = 100) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(
                "the PLAB-GAN generator doubles the size twice: "
                f"image size {image_size} must divide by 4"
            )
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
        dcgan_initialise(self)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        projected = self.project(noise).view(
            len(noise), GENERATOR_BASE_CHANNELS, self.start, self.start
        )
        return self.upsample(projected)


def _salimans_dense(width: int, units: int, train_scale: bool) -> nn.Module:
    """A weight-normalised dense layer as their nn.DenseLayer: direction ~ N(0, 0.1), zero bias."""
    layer = nn.Linear(width, units)
    nn.init.normal_(layer.weight, 0.0, 0.1)
    nn.init.zeros_(layer.bias)
    layer = weight_norm(layer)
    layer.parametrizations.weight.original0.requires_grad_(train_scale)
    return layer


class SalimansMLPDiscriminator(nn.Module):
    HIDDEN = (1000, 500, 250, 250, 250)
    initialise_with_noise = True  # their init pass runs with the Gaussian noise on

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        image_size: int,
        input_noise: float = 0.3,
        hidden_noise: float = 0.5,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(input_noise)]
        width = in_channels * image_size * image_size
        for index, hidden in enumerate(self.HIDDEN):
            if index:
                layers.append(GaussianNoise(hidden_noise))
            layers += [_salimans_dense(width, hidden, train_scale=False), nn.ReLU()]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.feature_noise = GaussianNoise(hidden_noise)
        self.head = _salimans_dense(width, num_classes, train_scale=True)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The last 250-unit layer, before its noise: where Salimans et al. match features."""
        return self.trunk((images + 1.0) / 2.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.feature_noise(self.features(images)))


class SalimansMLPGenerator(nn.Module):
    def __init__(self, out_channels: int, image_size: int, latent_dim: int = 100) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.shape = (out_channels, image_size, image_size)
        self.network = nn.Sequential(
            nn.Linear(latent_dim, 500),
            nn.Softplus(),
            nn.BatchNorm1d(500),
            nn.Linear(500, 500),
            nn.Softplus(),
            nn.BatchNorm1d(500),
            weight_norm(nn.Linear(500, out_channels * image_size * image_size)),
            nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.network(noise).view(len(noise), *self.shape)
