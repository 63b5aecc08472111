"""FixMatch's strong augmentation from torchvision's own ops: RandAugment (two ops, each image its
own random magnitude, as FixMatch's RandAugment variant) and then Cutout, as ``transforms.v2``'s
RandomErasing with a square grey patch.

For single-channel images the op list drops ``Color`` (a saturation change, the identity on a grey
image), so every draw is an op that changes the image. Flips are not among RandAugment's ops; the
weak augmentation's flip is a param of the method (off where left and right carry the label).
"""

from __future__ import annotations

import torch
import torchvision
from torchvision.transforms import v2

MAGNITUDE_BINS = 31  # torchvision's default: magnitude index 0..30 maps the op's range linearly
CUTOUT_FILL = 127  # FixMatch fills the cut-out square with grey


# The 14 ops of RandAugment (Cubuk et al. 2020) as torchvision names them; FixMatch's list.
RAND_AUGMENT_OPS = frozenset(
    {
        "Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
        "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize",
    }
)  # fmt: skip


def grey_augmentation_space() -> dict:
    """torchvision's op table without ``Color``. The table is private (``_AUGMENTATION_SPACE``),
    so its shape is checked: a torchvision that renames it or changes its ops stops here, in one
    line, rather than training FixMatch with other augmentations than it claims."""
    space = getattr(v2.RandAugment, "_AUGMENTATION_SPACE", None)
    if not isinstance(space, dict) or set(space) != RAND_AUGMENT_OPS:
        raise ImportError(
            f"torchvision {torchvision.__version__}: v2.RandAugment's private op table is not "
            "RandAugment's 14 ops; update fixmatch/strong_augment.py's GreyRandAugment"
        )
    return {name: op for name, op in space.items() if name != "Color"}


def rand_augment_table(channels: int) -> dict:
    """The ops RandAugment draws from for images of ``channels`` channels, with torchvision's
    magnitude ranges: (magnitudes by bin count, height and width; whether the sign is random)."""
    if channels == 1:
        return grey_augmentation_space()
    grey_augmentation_space()  # the shape check
    return dict(v2.RandAugment._AUGMENTATION_SPACE)


class GreyRandAugment(v2.RandAugment):
    """RandAugment without the colour-saturation op, which cannot change a one-channel image."""

    _AUGMENTATION_SPACE = grey_augmentation_space()


class StrongAugmentation:
    """Per image: RandAugment with ``num_ops`` ops at a uniformly drawn magnitude, then a grey
    square of up to ``cutout_area`` of the image. Draws come from torch's global RNG, which the
    training loop seeds and checkpoints."""

    def __init__(self, channels: int, num_ops: int, cutout_area: float) -> None:
        rand_augment = GreyRandAugment if channels == 1 else v2.RandAugment
        self.by_magnitude = [
            rand_augment(num_ops=num_ops, magnitude=m, num_magnitude_bins=MAGNITUDE_BINS)
            for m in range(MAGNITUDE_BINS)
        ]
        self.cutout = v2.RandomErasing(
            p=1.0, scale=(0.01, cutout_area), ratio=(1.0, 1.0), value=CUTOUT_FILL
        )

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) -> uint8 (N, C, H, W)."""
        magnitudes = torch.randint(0, MAGNITUDE_BINS, (len(images),)).tolist()
        return torch.stack(
            [
                self.cutout(self.by_magnitude[m](image))
                for image, m in zip(images.cpu(), magnitudes, strict=True)
            ]
        ).to(images.device)
