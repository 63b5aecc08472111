"""ssgan: Salimans et al.'s K+1 semi-supervised GAN (2016) with the PLAB-GAN paper's networks, as
that paper's SSGAN baseline. The training itself is ``methods/shared/semi_supervised_gan.py``."""

from __future__ import annotations

from medssl.methods.registry import register
from medssl.methods.shared.semi_supervised_gan import SemiSupervisedGAN, SemiSupervisedGANConfig


@register("ssgan")
class SSGAN(SemiSupervisedGAN[SemiSupervisedGANConfig]):
    config_class = SemiSupervisedGANConfig
