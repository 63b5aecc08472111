"""Supervised baselines: a network trained on the labelled images only, on the common loop.

``supervised_cnn`` is the PLAB-GAN paper's CNN baseline (its discriminator's shape, K outputs);
``resnet`` is ResNet-18 with the small-image stem, the MedMNIST v2 reference network.
Neither sees the unlabelled pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from medssl.methods.registry import register
from medssl.models.cnn import PlabCNN
from medssl.models.resnet import small_image_resnet18
from medssl.training import LabelledCrossEntropyMethod


@dataclass(frozen=True)
class SupervisedConfig:
    iterations: int = 2000
    batch_size: int = 16
    learning_rate: float = 1e-4
    adam_beta1: float = 0.5
    weight_decay: float = 0.0


@dataclass(frozen=True)
class SupervisedCNNConfig(SupervisedConfig):
    dropout: float = 0.5


class SupervisedClassifier(LabelledCrossEntropyMethod):
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizer = torch.optim.Adam(self.classifier().parameters(), lr=self.config.learning_rate,
                                     betas=(self.config.adam_beta1, 0.999), weight_decay=self.config.weight_decay)
        return {self.classifier_name: optimizer}


@register("supervised_cnn")
class SupervisedCNN(SupervisedClassifier):
    config_class = SupervisedCNNConfig

    def build_networks(self) -> dict[str, nn.Module]:
        network = PlabCNN(self.info.channels, self.info.num_classes, self.info.image_size, self.config.dropout)
        return {self.classifier_name: network}


@register("resnet")
class ResNetBaseline(SupervisedClassifier):
    config_class = SupervisedConfig

    def build_networks(self) -> dict[str, nn.Module]:
        return {self.classifier_name: small_image_resnet18(self.info.channels, self.info.num_classes)}
