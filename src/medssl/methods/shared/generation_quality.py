"""How close a generator's images are to the real ones, in the pipeline's own feature space.

The Fréchet distance of the Inception network (FID) needs ImageNet weights, which are not available
offline and know nothing of X-rays. Here the same formula is taken in the 64-d embedding of the
features stage's ResNet-20, trained on this experiment's labelled images: call it FD-ResNet20. It
ranks generators on one experiment; it is not comparable with published FIDs or across experiments.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from medssl.core.metrics import frechet_distance
from medssl.data.prepared import TrainData
from medssl.methods.loop import images_to_float

QUALITY_IMAGES = 2000  # per side; enough for a stable 64x64 covariance
GENERATOR_DISTANCE = "generator_fd_resnet20"  # the training metric's name, as the ledger keeps it


def generator_quality(
    data: TrainData, sample: Callable[[int], torch.Tensor], seed: int
) -> dict[str, float]:
    """``{GENERATOR_DISTANCE: FD-ResNet20}`` of a trained generator against every training image
    (labelled and unlabelled); empty when the method was given no features network."""
    if data.feature_network is None:
        return {}
    real = np.concatenate([data.labelled_x, data.unlabelled_x])
    return {
        GENERATOR_DISTANCE: frechet_distance_resnet20(data.feature_network, real, sample, seed=seed)
    }


@torch.no_grad()
def embed(feature_network: nn.Module, images: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """Float images in [-1, 1] -> (N, 64) embeddings."""
    feature_network.eval()
    return torch.cat(
        [
            feature_network.features(images[start : start + batch_size]).float().cpu()
            for start in range(0, len(images), batch_size)
        ]
    ).numpy()


@torch.no_grad()
def frechet_distance_resnet20(
    feature_network: nn.Module,
    real_uint8: np.ndarray,
    sample: Callable[[int], torch.Tensor],
    *,
    seed: int,
    count: int = QUALITY_IMAGES,
) -> float:
    """FD-ResNet20 between ``count`` real training images (seeded subset) and ``count`` samples."""
    device = next(feature_network.parameters()).device
    rows = np.random.default_rng(seed).choice(
        len(real_uint8), size=min(count, len(real_uint8)), replace=False
    )
    real = images_to_float(torch.from_numpy(real_uint8[np.sort(rows)]).to(device))
    generated = torch.cat([sample(min(500, count - start)) for start in range(0, count, 500)]).to(
        device
    )
    return frechet_distance(embed(feature_network, real), embed(feature_network, generated.float()))
