"""mcgan: Motamed & Khalvati's MCGAN (2021): one DCGAN per known class, whose discriminator D_k also
sees real images of the other known classes, labelled fake (their Figure 1). The machinery is
``methods/shared/per_class_gan.py``."""

from __future__ import annotations

from medssl.methods.registry import register
from medssl.methods.shared.per_class_gan import PerClassGAN


@register("mcgan")
class MCGAN(PerClassGAN):
    other_classes_as_fake = True
