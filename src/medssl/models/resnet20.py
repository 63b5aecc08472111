"""CIFAR-style ResNet-20 (He et al. 2016, Sec. 4.2): a 3x3 convolution with 16 channels, then three
stages of three basic blocks with 16, 32 and 64 channels (the second and third start with stride 2),
global average pooling to a 64-d feature. Shortcuts that change shape are option A of the paper
(stride-2 subsampling and zero-padded channels, no parameters), the variant He et al. used on CIFAR.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STAGE_CHANNELS = (16, 32, 64)
BLOCKS_PER_STAGE = 3
FEATURE_DIMENSION = STAGE_CHANNELS[-1]


class _BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.extra_channels == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        half = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self._shortcut(x))


class ResNet20(nn.Module):
    """``features`` gives the 64-d embedding the cluster stage uses."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        first = STAGE_CHANNELS[0]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, first, 3, padding=1, bias=False),
            nn.BatchNorm2d(first),
            nn.ReLU(),
        )
        blocks, channels = [], first
        for stage, out_channels in enumerate(STAGE_CHANNELS):
            for index in range(BLOCKS_PER_STAGE):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(_BasicBlock(channels, out_channels, stride))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(images)).mean(dim=(2, 3))

    def stage_activations(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The output of each of the three stages (16, 32, 64 channels): a loss network's layers."""
        outputs, activation = [], self.stem(images)
        for index, block in enumerate(self.blocks):
            activation = block(activation)
            if (index + 1) % BLOCKS_PER_STAGE == 0:
                outputs.append(activation)
        return outputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)
