"""torchvision's ResNet-18 with the small-image stem used for 32 px inputs (He et al. 2016, Sec.
4.2; MedMNIST's 28 px baseline): a 3x3 stride-1 first convolution and no max-pool, so a 28 px image
is not shrunk to 7 px before the first residual stage. Trained from scratch (no ImageNet weights
offline)."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18, resnet34

_BUILDERS = {18: resnet18, 34: resnet34}


def small_image_resnet(depth: int, in_channels: int, num_classes: int) -> nn.Module:
    """ResNet-18 or -34 (the patch paper's baseline) with the small-image stem."""
    network = _BUILDERS[depth](weights=None, num_classes=num_classes)
    network.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    network.maxpool = nn.Identity()
    return network


def small_image_resnet18(in_channels: int, num_classes: int) -> nn.Module:
    return small_image_resnet(18, in_channels, num_classes)
