"""patch_convnet: the patch SSL-GAN paper's ConvNet baseline, "a shallow CNN with architecture
similar to the GAN": the conv-large discriminator (``models/conv_large.py``) with K outputs, the
same width, augmentation and Adam settings as ``patch_ssgan``, trained on the labelled patches only.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from medssl.core.config import (
    PositiveFloat,
)
from medssl.methods.registry import register
from medssl.methods.shared.supervised import PatchClassifier, PatchConfig
from medssl.models.conv_large import ConvLarge


@dataclass(frozen=True)
class PatchConvNetConfig(PatchConfig):
    width: PositiveFloat


@register("patch_convnet")
class PatchConvNet(PatchClassifier[PatchConvNetConfig]):
    config_class = PatchConvNetConfig

    def build_networks(self) -> dict[str, nn.Module]:
        return {
            self.classifier_name: ConvLarge(
                self.info.channels, self.info.num_classes, self.config.width
            )
        }
