"""FixMatch's strong augmentation on a whole batch at once: the same draws' distribution as
``strong_augment.StrongAugmentation`` (RandAugment with two ops at one random magnitude per image,
then a grey Cutout square), computed with one tensor op per RandAugment op instead of ~6 small
torchvision calls per image.

Each op reads its magnitude from torchvision's own RandAugment table (``op_table``), and each
reproduces torchvision's uint8 arithmetic: the pixel ops bit for bit, the geometric ops through
one ``grid_sample`` over per-image matrices with torchvision's conventions (nearest neighbour,
zero fill, shears about the top-left corner, rotations and translations about the centre)
(tests/test_reference_methods.py compares each op with torchvision's per-image call). What differs
is the order of the random draws, so a seed gives other images than the per-image version.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from medssl.methods.fixmatch.strong_augment import (
    CUTOUT_FILL,
    MAGNITUDE_BINS,
    rand_augment_table,
)

# Luma weights of torchvision's rgb_to_grayscale (ITU-R 601-2).
GREY_WEIGHTS = (0.2989, 0.587, 0.114)

ImageOp = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _per_image(values: torch.Tensor) -> torch.Tensor:
    """(N,) factors as float32 (N, 1, 1, 1), the precision torchvision's python floats get."""
    return values.to(torch.float32).view(-1, 1, 1, 1)


def _blend(images: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """images * ratio + other * (1 - ratio), clamped and truncated to uint8, per image ratio."""
    blended = torch.addcmul(images.float() * _per_image(ratio), other, _per_image(1.0 - ratio))
    return blended.clamp_(0, 255).to(torch.uint8)


def _grey(images: torch.Tensor) -> torch.Tensor:
    """float (N, 1, H, W) luma of uint8 images, floored as torchvision does for integer input."""
    if images.shape[1] == 1:
        return images.float()
    r, g, b = images.float().unbind(dim=1)
    luma = r.mul(GREY_WEIGHTS[0]).add_(g, alpha=GREY_WEIGHTS[1]).add_(b, alpha=GREY_WEIGHTS[2])
    return luma.floor_().unsqueeze(1)


def brightness(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    factor = _per_image(1.0 + magnitude)
    return (images.float() * factor).clamp_(0, 255).to(torch.uint8)


def color(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    if images.shape[1] == 1:
        return images
    return _blend(images, _grey(images), 1.0 + magnitude)


def contrast(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    mean = _grey(images).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean, 1.0 + magnitude)


def sharpness(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    """Blend with a 3 x 3 smoothing (1s around a 5, over 13) inside a one-pixel border."""
    channels = images.shape[1]
    kernel = torch.full((3, 3), 1.0 / 13.0)
    kernel[1, 1] = 5.0 / 13.0
    kernel = kernel.expand(channels, 1, 3, 3).to(images.device)
    output = images.float()
    blurred = F.conv2d(output, kernel, groups=channels).round_()
    inner = output[..., 1:-1, 1:-1]
    inner.add_((blurred - inner) * _per_image(1.0 - (1.0 + magnitude)))  # 1 - factor
    return output.clamp_(0, 255).to(torch.uint8)


def posterize(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    bits = magnitude.to(torch.int64).clamp(0, 8)
    masks = ((0xFF << (8 - bits)) & 0xFF).to(torch.uint8).to(images.device)
    return images & masks.view(-1, 1, 1, 1)


def solarize(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    # torchvision compares with a python float, which PyTorch rounds to float32
    threshold = (255.0 * magnitude).to(torch.float32).to(images.device).view(-1, 1, 1, 1)
    return torch.where(images >= threshold, 255 - images, images)


def _inverse_affine(
    linear: torch.Tensor, *, centre: tuple[float, float], translate: torch.Tensor
) -> torch.Tensor:
    """(N, 2, 3) output-to-input maps, in pixels about the image centre: p = L (q - c - t) + c."""
    offset = torch.tensor(centre, dtype=torch.float64) + translate
    shift = torch.tensor(centre, dtype=torch.float64) - (linear @ offset.unsqueeze(-1)).squeeze(-1)
    return torch.cat([linear, shift.unsqueeze(-1)], dim=2)


def _warp(images: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour resampling of each image through its own inverse map, zero fill."""
    n, _, height, width = images.shape
    xs = torch.arange(width, dtype=torch.float32) - width * 0.5 + 0.5
    ys = torch.arange(height, dtype=torch.float32) - height * 0.5 + 0.5
    columns, rows = xs.expand(height, width), ys.unsqueeze(1).expand(height, width)
    base = torch.stack([columns, rows, torch.ones(height, width)], dim=-1)
    base = base.view(1, height * width, 3)
    scale = torch.tensor([0.5 * width, 0.5 * height])
    theta = inverse.to(torch.float32).transpose(1, 2) / scale
    grid = base.expand(n, -1, -1).bmm(theta).view(n, height, width, 2).to(images.device)
    warped = F.grid_sample(
        images.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False
    )
    return warped.round_().to(torch.uint8)


def _identity_linear(n: int) -> torch.Tensor:
    return torch.eye(2, dtype=torch.float64).repeat(n, 1, 1)


def _corner(images: torch.Tensor) -> tuple[float, float]:
    """The top-left corner relative to the centre: where torchvision's RandAugment shears about."""
    return (-images.shape[3] * 0.5, -images.shape[2] * 0.5)


def shear_x(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    linear = _identity_linear(len(images))
    linear[:, 0, 1] = torch.tan(torch.atan(magnitude.double()))
    zero = torch.zeros(len(images), 2, dtype=torch.float64)
    return _warp(images, _inverse_affine(linear, centre=_corner(images), translate=zero))


def shear_y(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    linear = _identity_linear(len(images))
    linear[:, 1, 0] = torch.tan(torch.atan(magnitude.double()))
    zero = torch.zeros(len(images), 2, dtype=torch.float64)
    return _warp(images, _inverse_affine(linear, centre=_corner(images), translate=zero))


def _translate(images: torch.Tensor, shift: torch.Tensor, axis: int) -> torch.Tensor:
    translate = torch.zeros(len(images), 2, dtype=torch.float64)
    translate[:, axis] = torch.trunc(shift.double())  # torchvision's int(magnitude)
    linear = _identity_linear(len(images))
    return _warp(images, _inverse_affine(linear, centre=(0.0, 0.0), translate=translate))


def translate_x(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    return _translate(images, magnitude, 0)


def translate_y(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    return _translate(images, magnitude, 1)


def rotate(images: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    """Counter-clockwise by ``magnitude`` degrees about the centre, as torchvision's rotate."""
    angle = torch.deg2rad(magnitude.double())
    cos, sin = torch.cos(angle), torch.sin(angle)
    linear = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], dim=1)
    zero = torch.zeros(len(images), 2, dtype=torch.float64)
    return _warp(images, _inverse_affine(linear, centre=(0.0, 0.0), translate=zero))


BATCHED_OPS: dict[str, ImageOp] = {
    "Identity": lambda images, magnitude: images,
    "ShearX": shear_x,
    "ShearY": shear_y,
    "TranslateX": translate_x,
    "TranslateY": translate_y,
    "Rotate": rotate,
    "Brightness": brightness,
    "Color": color,
    "Contrast": contrast,
    "Sharpness": sharpness,
    "Posterize": posterize,
    "Solarize": solarize,
    "AutoContrast": lambda images, magnitude: TF.autocontrast(images),  # per image already
    "Equalize": lambda images, magnitude: TF.equalize(images),  # per image already
}


def cutout(images: torch.Tensor, *, max_area: float, fill: int = CUTOUT_FILL) -> torch.Tensor:
    """A grey square per image, its area uniform in [1 %, max_area] of the image and its place
    uniform, as v2.RandomErasing(scale=(0.01, max_area), ratio=(1, 1)) draws it."""
    n, _, height, width = images.shape
    area = height * width * torch.empty(n, dtype=torch.float64).uniform_(0.01, max_area)
    side = torch.sqrt(area).round().to(torch.int64).clamp(max=min(height, width) - 1)
    top = (torch.rand(n, dtype=torch.float64) * (height - side + 1)).floor().to(torch.int64)
    left = (torch.rand(n, dtype=torch.float64) * (width - side + 1)).floor().to(torch.int64)
    rows = torch.arange(height).view(1, height, 1)
    columns = torch.arange(width).view(1, 1, width)
    inside = (
        (rows >= top.view(-1, 1, 1))
        & (rows < (top + side).view(-1, 1, 1))
        & (columns >= left.view(-1, 1, 1))
        & (columns < (left + side).view(-1, 1, 1))
    )
    return images.masked_fill(inside.unsqueeze(1).to(images.device), fill)


class BatchedStrongAugmentation:
    """RandAugment (``num_ops`` ops, one magnitude bin per image, each op's sign a coin flip) and
    Cutout for a uint8 (N, C, H, W) batch. Draws come from torch's global RNG, as the per-image
    version's, which the training loop seeds and checkpoints."""

    def __init__(self, channels: int, num_ops: int, cutout_area: float) -> None:
        self.ops = list(rand_augment_table(channels).items())
        self.num_ops = num_ops
        self.cutout_area = cutout_area

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) -> uint8 (N, C, H, W)."""
        n, _, height, width = images.shape
        bins = torch.randint(0, MAGNITUDE_BINS, (n,))
        for _ in range(self.num_ops):
            chosen_op = torch.randint(0, len(self.ops), (n,))
            negative = torch.rand(n) <= 0.5
            output = images.clone()
            for index, (name, (magnitudes_of, signed)) in enumerate(self.ops):
                members = torch.nonzero(chosen_op == index).flatten()
                if len(members) == 0:
                    continue
                table = magnitudes_of(MAGNITUDE_BINS, height, width)
                magnitude = (
                    torch.zeros(len(members), dtype=torch.float64)
                    if table is None
                    else table[bins[members]].to(torch.float64)
                )
                if signed:
                    magnitude = torch.where(negative[members], -magnitude, magnitude)
                output[members.to(images.device)] = BATCHED_OPS[name](
                    images[members.to(images.device)], magnitude
                )
            images = output
        return cutout(images, max_area=self.cutout_area)
