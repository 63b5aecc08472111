"""supervised_cnn: the PLAB-GAN paper's CNN baseline (its discriminator's shape, K outputs), trained
on the labelled images only. It never sees the unlabelled pool."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from medssl.core.config import Fraction
from medssl.methods.registry import register
from medssl.methods.shared.supervised import (
    WeakAugmentationConfig,
    WeaklyAugmentedClassifier,
)
from medssl.models.cnn import PlabCNN


@dataclass(frozen=True)
class SupervisedCNNConfig(WeakAugmentationConfig):
    dropout: Fraction


@register("supervised_cnn")
class SupervisedCNN(WeaklyAugmentedClassifier[SupervisedCNNConfig]):
    config_class = SupervisedCNNConfig

    def build_networks(self) -> dict[str, nn.Module]:
        network = PlabCNN(
            self.info.channels, self.info.num_classes, self.info.image_size, self.config.dropout
        )
        return {self.classifier_name: network}
