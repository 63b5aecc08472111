"""torchvision's ResNet-18 with the small-image stem used for 32 px inputs (He et al. 2016, Sec. 4.2;
MedMNIST's 28 px baseline): a 3x3 stride-1 first convolution and no max-pool, so a 28 px image is
not shrunk to 7 px before the first residual stage. Trained from scratch (no ImageNet weights offline)."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18


def small_image_resnet18(in_channels: int, num_classes: int) -> nn.Module:
    network = resnet18(weights=None, num_classes=num_classes)
    network.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    network.maxpool = nn.Identity()
    return network
