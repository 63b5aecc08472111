"""The patch SSL-GAN's networks (its Tables 3 and 4), scaled by a width factor.

Discriminator "conv-large DR" (Salimans et al.'s CIFAR-10 network): dropout 0.2 on the input; 3x3
weight-normalised convolutions 96, 96, 96 (stride 2), dropout 0.5; 192, 192, 192 (stride 2),
dropout 0.5; two 3x3 convolutions of 192 without padding, stride 2; two NiN (1x1) layers of 192;
global average pooling; a weight-normalised dense layer to the K class logits. LeakyReLU 0.2
throughout.
``features`` is the globally pooled output of the NiN layers, where the paper matches features.

Generator (Table 4), uniform latent noise of 100: dense to (512, s/16, s/16) with batch norm and
ReLU, then 5x5 transposed convolutions with stride 2 to 256, 128, 128 (batch norm, ReLU) and to the
image's channels (weight-normalised, tanh). Table 4 starts from 6 x 6, i.e. 96 px; for the 32 px
patches the start is 2 x 2, with the same four doublings.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from medssl.models.gan import dcgan_initialise

SLOPE = 0.2  # the paper's Table 6


def _width(channels: int, factor: float) -> int:
    return max(8, round(channels * factor))


class ConvLarge(nn.Module):
    def __init__(
        self,
        in_channels: int,
        num_outputs: int,
        width: float = 1.0,
        input_dropout: float = 0.2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        small, large = _width(96, width), _width(192, width)

        def conv(
            cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1
        ) -> list[nn.Module]:
            return [
                weight_norm(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding)),
                nn.LeakyReLU(SLOPE),
            ]

        self.trunk = nn.Sequential(
            nn.Dropout(input_dropout),
            *conv(in_channels, small),
            *conv(small, small),
            *conv(small, small, stride=2),
            nn.Dropout(dropout),
            *conv(small, large),
            *conv(large, large),
            *conv(large, large, stride=2),
            nn.Dropout(dropout),
            *conv(large, large, stride=2, padding=0),
            *conv(large, large, stride=2, padding=0),
            *conv(large, large, kernel=1, padding=0),
            *conv(large, large, kernel=1, padding=0),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = weight_norm(nn.Linear(large, num_outputs))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class PatchGenerator(nn.Module):
    def __init__(
        self, out_channels: int, image_size: int, latent_dim: int = 100, width: float = 1.0
    ) -> None:
        super().__init__()
        if image_size % 16:
            raise ValueError(
                "the patch generator doubles the size four times: "
                f"image size {image_size} must divide by 16"
            )
        self.latent_dim, self.start = latent_dim, image_size // 16
        widths = [_width(c, width) for c in (512, 256, 128, 128)]
        self.base = widths[0]
        self.project = nn.Sequential(nn.Linear(latent_dim, widths[0] * self.start**2))
        layers: list[nn.Module] = [nn.BatchNorm2d(widths[0]), nn.ReLU()]
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            layers += [
                nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
            ]
        layers += [
            weight_norm(
                nn.ConvTranspose2d(
                    widths[-1], out_channels, 5, stride=2, padding=2, output_padding=1
                ),
                dim=1,
            ),
            nn.Tanh(),
        ]
        self.upsample = nn.Sequential(*layers)
        dcgan_initialise(self)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.upsample(
            self.project(noise).view(len(noise), self.base, self.start, self.start)
        )
