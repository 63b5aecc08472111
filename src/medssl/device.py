"""Device choice and seeding, in one place so no module hard-codes ``.cuda()`` or a global RNG."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes the first CUDA device if there is one, else the CPU."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"train.device is '{preference}' but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    """Seed the framework RNGs that network initialisation and dropout draw from."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def place_network(network: nn.Module, device: torch.device, channels_last: bool = False) -> nn.Module:
    """Move ``network`` to ``device``; with ``channels_last`` its 4-D weights use the NHWC layout, which
    oneDNN's CPU convolutions run faster (the arithmetic is the same; inputs need not change)."""
    network = network.to(device)
    return network.to(memory_format=torch.channels_last) if channels_last else network


def configure_threads(num_threads: int) -> None:
    """0 keeps PyTorch's default (one thread per core)."""
    if num_threads > 0:
        torch.set_num_threads(num_threads)
