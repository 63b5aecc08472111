"""The small CNN of the PLAB-GAN paper's discriminator (Liu, Ning & Liu, Sensors 2022, Sec. 2.3).

Three 3x3 stride-2 convolutions (32, 64, 128 channels), batch norm after the second and third,
LeakyReLU with slope 0.01, then flatten, dropout and one dense layer. The paper's 128 px input gives
16x16x128 before the dense layer; here the spatial size follows the image size (28 px -> 4x4).
The supervised baseline uses it with K outputs; the semi-supervised GANs reuse it as their
discriminator with the two stabilisers of Salimans et al. (2016) switched on: weight normalisation
of every convolution and of the dense layer, and Gaussian noise added to the input during training.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

LEAKY_SLOPE = 0.01  # the paper's LeakyReLU slope
CHANNELS = (32, 64, 128)


def conv_output_size(image_size: int, stride_two_layers: int = 3) -> int:
    size = image_size
    for _ in range(stride_two_layers):
        size = (size + 2 * 1 - 3) // 2 + 1  # 3x3 kernel, padding 1, stride 2
    return size


class GaussianNoise(nn.Module):
    """Adds N(0, sigma^2) noise in training mode only."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.sigma > 0:
            return x + self.sigma * torch.randn_like(x)
        return x


def maybe_weight_norm(module: nn.Module, enabled: bool) -> nn.Module:
    return weight_norm(module) if enabled else module


class PlabCNN(nn.Module):
    def __init__(
        self,
        in_channels: int,
        num_outputs: int,
        image_size: int,
        dropout: float = 0.5,
        use_weight_norm: bool = False,
        input_noise: float = 0.0,
    ) -> None:
        super().__init__()
        first, second, third = CHANNELS

        def conv(cin: int, cout: int) -> nn.Module:
            return maybe_weight_norm(nn.Conv2d(cin, cout, 3, stride=2, padding=1), use_weight_norm)

        # parameter-free: state-dict keys stay the baseline's
        self.input_noise = GaussianNoise(input_noise)
        self.trunk = nn.Sequential(
            conv(in_channels, first),
            nn.LeakyReLU(LEAKY_SLOPE),
            conv(first, second),
            nn.BatchNorm2d(second),
            nn.LeakyReLU(LEAKY_SLOPE),
            conv(second, third),
            nn.BatchNorm2d(third),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = maybe_weight_norm(
            nn.Linear(third * conv_output_size(image_size) ** 2, num_outputs), use_weight_norm
        )

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The flattened activations before dropout and the dense layer (the feature-matching
        layer)."""
        return self.trunk(self.input_noise(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images)))
