"""The classification CNN of SSLDEC (Enguehard, O'Halloran & Gholipour, IEEE Access 2019, Figure 2).

Three blocks of three 3x3 'same' convolutions (128, 128, 128 | 256, 256, 256 | 512, 256, 128), each
followed by batch norm, ELU and dropout 0.25, with a 2x2 max-pool closing every block; then dense
128 and dense K, each with batch norm and ELU; then the Student-t clustering layer (K centroids in
the K-dimensional embedding). For 28 px the dense layer sees 128 x 3 x 3 = 1152 inputs, as the paper
says.

``width`` scales every convolution's channel count (1.0 is the paper's network). Its ~0.6 GMAC per
28 px image is out of reach of a two-core CPU over Algorithm 1's many epochs, so the pipeline's
default is a quarter width; the layer pattern, activations, regularisation and clustering layer are
the paper's.
"""

from __future__ import annotations

import torch
from torch import nn

from medssl.methods.ssldec.clustering import StudentTClustering

BLOCKS = ((128, 128, 128), (256, 256, 256), (512, 256, 128))
DENSE_UNITS = 128


def _conv_unit(in_channels: int, out_channels: int, dropout: float) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ELU(),
        nn.Dropout(dropout),
    ]


class SSLDECNetwork(nn.Module):
    """Maps images to the embedding z (``embed``) and to cluster probabilities q (``forward``)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        image_size: int,
        width: float = 1.0,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, size = in_channels, image_size
        for block in BLOCKS:
            for index, planned in enumerate(block):
                out_channels = max(1, round(planned * width))
                unit = _conv_unit(channels, out_channels, dropout)
                if index == len(block) - 1:  # the block's pool comes before its last dropout
                    unit.insert(3, nn.MaxPool2d(2))
                layers += unit
                channels = out_channels
            size //= 2
        if size < 1:
            raise ValueError(f"image size {image_size} is too small for three 2x2 max-pools")
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.embedding = nn.Sequential(
            nn.Linear(channels * size * size, DENSE_UNITS),
            nn.BatchNorm1d(DENSE_UNITS),
            nn.ELU(),
            nn.Linear(DENSE_UNITS, num_classes),
            nn.BatchNorm1d(num_classes),
            nn.ELU(),
        )
        self.clustering = StudentTClustering(num_classes, num_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.embedding(self.trunk(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.clustering(self.embed(images))
