"""Data-dependent initialisation of weight-normalised layers (Salimans & Kingma 2016, Sec. 3).

Salimans et al.'s semi-supervised GAN code initialises every weight-normalised layer from one batch
of real images before training: each unit's pre-activation is made zero-mean and unit-variance on
that batch by setting its scale g and bias b. Here a forward hook on each weight-normalised layer
rescales its output in place of the layer's own, so later layers are initialised on the already
normalised activations, in one forward pass.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


def _is_weight_normalised(module: nn.Module) -> bool:
    # Transposed convolutions are left out: PyTorch's weight_norm normalises them over input
    # channels.
    return isinstance(module, (nn.Linear, nn.Conv2d)) and parametrize.is_parametrized(
        module, "weight"
    )


@torch.no_grad()
def initialise_weight_norm_from_data(
    network: nn.Module, images: torch.Tensor, forward: str = "forward", *, with_noise: bool = False
) -> int:
    """Set g and b of every weight-normalised layer of ``network`` from ``images``; returns how
    many.

    By default runs in eval mode (no input noise or dropout), so it draws no random numbers.
    ``with_noise`` runs it in training mode, as Salimans et al.'s MNIST code does, so every unit is
    standardised with the noise included; it draws from the seeded global generator, so a seeded run
    stays reproducible (meant for networks without batch norm, whose running statistics it would
    move). ``forward`` names the method to call (``features`` initialises the trunk only).
    """
    handles = [
        module.register_forward_hook(_standardise_output)
        for module in network.modules()
        if _is_weight_normalised(module)
    ]
    was_training = network.training
    network.train(with_noise)
    try:
        getattr(network, forward)(images)
    finally:
        for handle in handles:
            handle.remove()
        network.train(was_training)
    return len(handles)


def _standardise_output(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    unit_axis = 1  # Linear: (N, out); Conv: (N, out, H, W)
    reduce_axes = [axis for axis in range(output.ndim) if axis != unit_axis]
    mean = output.mean(dim=reduce_axes)
    std = output.std(dim=reduce_axes).clamp_min(1e-6)
    # g, shaped to broadcast over the weight's other axes
    scale = module.parametrizations.weight.original0
    scale.div_(std.view(-1, *([1] * (scale.ndim - 1))))
    if module.bias is not None:
        module.bias.sub_(mean).div_(std)
    shape = [1] * output.ndim
    shape[unit_axis] = -1
    return (output - mean.view(shape)) / std.view(shape)
