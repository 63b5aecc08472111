"""Adam as every training builds it.

``fused=True`` updates all of an optimiser's parameters in one kernel. PyTorch leaves ``foreach``
off on the CPU, so the default Adam loops over the parameters in Python, a few dozen small kernels
per network and step (``benchmarks/step_time.py --variants fp32 unfused_adam`` measures the
difference). The update is Adam's, the same formula; only the last digits of the floats differ from
the loop's, and the fingerprints (``pipeline/fingerprint.py``) say whether a result moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def adam(
    parameters: Iterable[Any],
    lr: float,
    *,
    betas: tuple[float, float] = (0.9, 0.999),
    weight_decay: float = 0.0,
) -> torch.optim.Adam:
    """``torch.optim.Adam`` over ``parameters`` (tensors or parameter groups), fused."""
    return torch.optim.Adam(parameters, lr=lr, betas=betas, weight_decay=weight_decay, fused=True)
