"""The patch SSL-GAN paper's supervised baselines, trained on the labelled patches only.

``patch_convnet``: "a shallow CNN with architecture similar to the GAN": the conv-large discriminator
(``models/conv_large.py``) with K outputs, the same width, augmentation and Adam settings as
``patch_ssgan``. ``patch_resnet34``: torchvision's ResNet-34 with the small-image stem, from scratch,
with the paper's Table 5 settings where they fit the step loop: Adam 1e-5 / beta1 0.9, batch 32,
class-balanced cross-entropy, flips both ways, quarter turns and shifts (the paper rotates by any
angle and shifts by up to 30 %; its early stopping and plateau schedule become model selection on
the validation patches every ``eval_every`` steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medssl.augment import random_flips, random_quarter_turns, random_shifted_crops
from medssl.data.prepared import TrainData
from medssl.methods.registry import register
from medssl.models.conv_large import ConvLarge
from medssl.models.resnet import small_image_resnet
from medssl.training import EpochSampler, TorchMethod


@dataclass(frozen=True)
class PatchConvNetConfig:
    iterations: int = 3000
    batch_size: int = 100
    learning_rate: float = 3e-4
    adam_beta1: float = 0.5
    width: float = 0.25
    crop_shift: int = 2
    class_weighting: str = "none"  # or balanced: each class's loss weighted by 1 / its labelled share


@dataclass(frozen=True)
class PatchResNet34Config:
    iterations: int = 3000
    batch_size: int = 32  # the paper's Table 5
    learning_rate: float = 1e-5
    adam_beta1: float = 0.9
    crop_shift: int = 4
    class_weighting: str = "balanced"  # the paper's balanced class weighting


class PatchClassifier(TorchMethod):
    """Cross-entropy on augmented labelled patches, optionally class-balanced."""

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        if self.config.class_weighting not in ("none", "balanced"):
            raise ValueError(f"methods.{self.name}.class_weighting must be none or balanced")
        counts = np.bincount(data.labelled_y, minlength=self.info.num_classes).astype(float)
        weights = counts.sum() / np.maximum(counts, 1.0) / self.info.num_classes
        self.class_weights = torch.tensor(weights if self.config.class_weighting == "balanced"
                                          else np.ones_like(weights), dtype=torch.float32, device=self.device)
        return super().build_samplers(data, seed)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {self.classifier_name: torch.optim.Adam(self.classifier().parameters(), lr=self.config.learning_rate,
                                                       betas=(self.config.adam_beta1, 0.999))}

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return random_flips(random_shifted_crops(images, self.config.crop_shift))

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        batch = self.samplers["labelled"].next()
        loss = F.cross_entropy(self.classifier()(self.augment(batch.images)), batch.labels, weight=self.class_weights)
        self.optimizer_step(self.classifier_name, loss)
        return {"loss": loss.detach()}


@register("patch_convnet")
class PatchConvNet(PatchClassifier):
    config_class = PatchConvNetConfig

    def build_networks(self) -> dict[str, nn.Module]:
        return {self.classifier_name: ConvLarge(self.info.channels, self.info.num_classes, self.config.width)}


@register("patch_resnet34")
class PatchResNet34(PatchClassifier):
    config_class = PatchResNet34Config

    def build_networks(self) -> dict[str, nn.Module]:
        return {self.classifier_name: small_image_resnet(34, self.info.channels, self.info.num_classes)}

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return random_quarter_turns(random_flips(random_shifted_crops(images, self.config.crop_shift), vertical=True))
