"""The Student-t clustering layer of DEC (Xie, Girshick & Farhadi 2016), used by SSLDEC (eq. 1)."""

from __future__ import annotations

import torch
from torch import nn


class StudentTClustering(nn.Module):
    """q_ij = (1 + |z_i - mu_j|^2 / a)^(-(a+1)/2), normalised over j (eq. 1); a = 1 in the paper."""

    def __init__(self, num_clusters: int, dimension: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        # The paper initialises the centroids at random and trains them during pre-training.
        self.centroids = nn.Parameter(torch.randn(num_clusters, dimension))

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        # Explicit differences rather than torch.cdist, whose gradient is undefined at zero
        # distance.
        squared_distances = (
            (embedding.float()[:, None, :] - self.centroids.float()[None, :, :]).pow(2).sum(dim=2)
        )
        kernel = (1.0 + squared_distances / self.alpha).pow(-(self.alpha + 1.0) / 2.0)
        return kernel / kernel.sum(dim=1, keepdim=True)
