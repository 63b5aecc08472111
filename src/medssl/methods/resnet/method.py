"""resnet: ResNet-18 with the small-image stem, the MedMNIST v2 reference network, trained on the
labelled images only. It never sees the unlabelled pool."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from medssl.methods.registry import register
from medssl.methods.shared.supervised import (
    WeakAugmentationConfig,
    WeaklyAugmentedClassifier,
)
from medssl.models.resnet import small_image_resnet18


@dataclass(frozen=True)
class ResNetConfig(WeakAugmentationConfig):
    """The shared whole-image fields alone: the network is fixed (ResNet-18)."""


@register("resnet")
class ResNetBaseline(WeaklyAugmentedClassifier[ResNetConfig]):
    config_class = ResNetConfig

    def build_networks(self) -> dict[str, nn.Module]:
        return {
            self.classifier_name: small_image_resnet18(self.info.channels, self.info.num_classes)
        }
