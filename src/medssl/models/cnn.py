"""The small CNN of the PLAB-GAN paper's discriminator (Liu, Ning & Liu, Sensors 2022, Sec. 2.3).

Three 3x3 stride-2 convolutions (32, 64, 128 channels), batch norm after the second and third,
LeakyReLU with slope 0.01, then flatten, dropout and one dense layer. The paper's 128 px input gives
16x16x128 before the dense layer; here the spatial size follows the image size (28 px -> 4x4).
The supervised baseline uses it with K outputs; the semi-supervised GANs reuse the same trunk.
"""

from __future__ import annotations

import torch
from torch import nn

LEAKY_SLOPE = 0.01  # the paper's LeakyReLU slope
CHANNELS = (32, 64, 128)


def conv_output_size(image_size: int, stride_two_layers: int = 3) -> int:
    size = image_size
    for _ in range(stride_two_layers):
        size = (size + 2 * 1 - 3) // 2 + 1  # 3x3 kernel, padding 1, stride 2
    return size


class PlabCNN(nn.Module):
    def __init__(self, in_channels: int, num_outputs: int, image_size: int, dropout: float = 0.5) -> None:
        super().__init__()
        first, second, third = CHANNELS
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, first, 3, stride=2, padding=1),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv2d(first, second, 3, stride=2, padding=1),
            nn.BatchNorm2d(second),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv2d(second, third, 3, stride=2, padding=1),
            nn.BatchNorm2d(third),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(third * conv_output_size(image_size) ** 2, num_outputs)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The flattened activations before dropout and the dense layer."""
        return self.trunk(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images)))
