"""Batch augmentations on the training device (no per-image Python work): flips, quarter turns and
shifted crops, each drawn per image from the global RNG, which the training loop seeds and
checkpoints."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_flips(images: torch.Tensor, vertical: bool = False) -> torch.Tensor:
    flip = torch.rand(len(images), device=images.device) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    if vertical:
        flip = torch.rand(len(images), device=images.device) < 0.5
        images = torch.where(flip[:, None, None, None], images.flip(-2), images)
    return images


def random_quarter_turns(images: torch.Tensor) -> torch.Tensor:
    """0, 90, 180 or 270 degrees per image (square images)."""
    turns = torch.randint(0, 4, (len(images),), device=images.device)
    out = images
    for k in (1, 2, 3):
        out = torch.where((turns == k)[:, None, None, None], images.rot90(k, dims=(-2, -1)), out)
    return out


def random_shifted_crops(images: torch.Tensor, shift: int) -> torch.Tensor:
    """Pad by ``shift`` (reflecting the border) and crop back at a random offset: shifts of up to
    ``shift`` pixels each way, as a random crop of the padded image."""
    if shift <= 0:
        return images
    size = images.shape[-1]
    padded = F.pad(images, (shift, shift, shift, shift), mode="reflect")
    offsets = torch.randint(0, 2 * shift + 1, (len(images), 2), device=images.device)
    rows = offsets[:, 0, None] + torch.arange(size, device=images.device)[None, :]  # (N, size)
    columns = offsets[:, 1, None] + torch.arange(size, device=images.device)[None, :]
    batch = torch.arange(len(images), device=images.device)[:, None, None]
    # (N, size, size, C)
    gathered = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], columns[:, None, :]]
    return gathered.permute(0, 3, 1, 2).contiguous()
