"""plabgan: PLAB-GAN (Liu, Ning & Liu, Sensors 2022): the K+1 semi-supervised GAN of ``ssgan`` plus
the cluster stage's pseudo-labels.

Unlabelled images whose pseudo-label confidence is at least ``pseudo_label_threshold`` also enter
l_label as labelled images, each with weight ``pseudo_label_weight``. The paper leaves out how they
enter; a class term on the pseudo-labelled images, next to their real/fake term, is what
"pseudo-labelling" means in Lee (2013), which it builds on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from medssl.core.config import Fraction, NonNegativeFloat
from medssl.core.errors import ConfigError
from medssl.data.prepared import TrainData
from medssl.methods.loop import Batch
from medssl.methods.registry import register
from medssl.methods.shared.losses import labelled_loss
from medssl.methods.shared.semi_supervised_gan import SemiSupervisedGAN, SemiSupervisedGANConfig


@dataclass(frozen=True)
class PlabGANConfig(SemiSupervisedGANConfig):
    pseudo_label_threshold: Fraction  # minimum pseudo-label confidence to join l_label
    # weight of a pseudo-labelled image in l_label (a labelled one has 1)
    pseudo_label_weight: NonNegativeFloat


@register("plabgan")
class PlabGAN(SemiSupervisedGAN[PlabGANConfig]):
    config_class = PlabGANConfig
    uses_pseudo_labels = True

    def unlabelled_targets(self, data: TrainData) -> tuple[np.ndarray | None, np.ndarray | None]:
        if data.pseudo_labels is None:
            raise ConfigError(
                "plabgan needs the cluster stage's pseudo-labels (data/pseudo_labels)"
            )
        confident = data.pseudo_labels.confidence >= self.config.pseudo_label_threshold
        return data.pseudo_labels.labels, confident * self.config.pseudo_label_weight

    def discriminator_terms(
        self,
        *,
        labelled: Batch,
        labelled_logits: torch.Tensor,
        unlabelled: Batch,
        unlabelled_logits: torch.Tensor,
        generated_logits: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        terms = super().discriminator_terms(
            labelled=labelled,
            labelled_logits=labelled_logits,
            unlabelled=unlabelled,
            unlabelled_logits=unlabelled_logits,
            generated_logits=generated_logits,
        )
        weights = torch.cat(
            [torch.ones(len(labelled.images), device=self.device), unlabelled.weights]
        )
        terms["l_label"] = labelled_loss(
            torch.cat([labelled_logits, unlabelled_logits]),
            torch.cat([labelled.labels, unlabelled.labels]),
            weights,
        )
        return terms
