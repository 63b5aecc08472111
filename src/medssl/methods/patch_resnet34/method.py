"""patch_resnet34: the patch SSL-GAN paper's ResNet-34 baseline, torchvision's ResNet-34 with the
small-image stem, from scratch, trained on the labelled patches with the paper's Table 5 settings
where they fit the step loop: Adam 1e-5 / beta1 0.9, batch 32, class-balanced cross-entropy, flips
both ways, quarter turns and shifts (the paper rotates by any angle and shifts by up to 30 %; its
early stopping and plateau schedule become model selection on the validation patches at
``train.validations`` evenly spaced steps)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from medssl.methods.registry import register
from medssl.methods.shared.augment import random_flips, random_quarter_turns, random_shifted_crops
from medssl.methods.shared.supervised import PatchClassifier, PatchConfig
from medssl.models.resnet import small_image_resnet


@dataclass(frozen=True)
class PatchResNet34Config(PatchConfig):
    """The shared patch fields alone: the network is fixed (ResNet-34)."""


@register("patch_resnet34")
class PatchResNet34(PatchClassifier[PatchResNet34Config]):
    config_class = PatchResNet34Config

    def build_networks(self) -> dict[str, nn.Module]:
        return {
            self.classifier_name: small_image_resnet(34, self.info.channels, self.info.num_classes)
        }

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return random_quarter_turns(
            random_flips(random_shifted_crops(images, self.config.crop_shift), vertical=True)
        )
