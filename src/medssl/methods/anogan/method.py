"""anogan: Motamed & Khalvati's (2021) DCGAN baseline, Schlegl et al.'s AnoGAN: one DCGAN per known
class, learning that class alone; images classified by the variation score. The machinery is
``methods/shared/per_class_gan.py``."""

from __future__ import annotations

from medssl.methods.registry import register
from medssl.methods.shared.per_class_gan import PerClassGAN


@register("anogan")
class AnoGAN(PerClassGAN):
    other_classes_as_fake = False
