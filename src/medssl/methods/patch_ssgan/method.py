"""patch_ssgan: the semi-supervised GAN on image patches (patch SSL-GAN paper, diabetic
retinopathy).

Salimans et al.'s K+1 GAN (the losses, feature matching, EMA and training step of
``methods/shared/semi_supervised_gan.py``) with the paper's networks (``models/conv_large.py``, its
Tables 3 and 4) and hyperparameters (Table 6): Adam 3e-4 / beta1 0.5, batch 100, learning rate
decaying linearly to 0 over the last sixth of the run (1000 of 1200 epochs), EMA 0.999, uniform
latent noise, random crop (shifts of up to 2 px) and horizontal flip of the real patches. The
paper's loss has no 1/2 on the unsupervised terms, so alpha = beta = 1. Feature matching is Salimans
et al.'s squared difference of the batch means (the paper prints a norm with a subscript 1 that its
cited code does not use). There is no input noise (Table 3 has none). The image-level score and the
heatmaps come from the evaluate stage (``pipeline/patch_evaluation.py``), the same for every method
trained on patches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from medssl.core.config import Fraction, NonNegativeInt, PositiveFloat
from medssl.methods.registry import register
from medssl.methods.shared.augment import random_flips, random_shifted_crops
from medssl.methods.shared.semi_supervised_gan import SemiSupervisedGAN, SemiSupervisedGANConfig
from medssl.models.conv_large import ConvLarge, PatchGenerator


@dataclass(frozen=True)
class PatchSSGANConfig(SemiSupervisedGANConfig):
    width: PositiveFloat  # channel multiplier of conv-large and the generator (1.0 = the paper's)
    crop_shift: NonNegativeInt  # random crops: shifts of up to crop_shift px
    learning_rate_decay_start: Fraction  # linear decay to 0 from this fraction of the run


@register("patch_ssgan")
class PatchSSGAN(SemiSupervisedGAN[PatchSSGANConfig]):
    config_class = PatchSSGANConfig

    def build_networks(self) -> dict[str, nn.Module]:
        info, config = self.info, self.config
        discriminator = ConvLarge(info.channels, info.num_classes, config.width)
        generator = PatchGenerator(info.channels, info.image_size, config.latent_dim, config.width)
        ema = AveragedModel(
            discriminator, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
        )
        return {"discriminator": discriminator, "generator": generator, "ema": ema}

    def noise(self, count: int) -> torch.Tensor:
        """Uniform latent noise in [-1, 1] (Table 4), one global draw sliced per rank."""
        global_noise = (
            torch.rand(count * self.ranks.world_size, self.config.latent_dim, device=self.device)
            * 2
            - 1
        )
        return self.this_ranks_share(global_noise)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return random_flips(random_shifted_crops(images, self.config.crop_shift))

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        decay_from = self.config.learning_rate_decay_start * self.config.iterations
        remaining = (self.config.iterations - step) / max(self.config.iterations - decay_from, 1.0)
        rate = self.config.learning_rate * min(1.0, max(remaining, 0.0))
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = rate
        return super().train_step(step)
