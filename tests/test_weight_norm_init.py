"""Data-dependent initialisation of weight-normalised layers, and the weight-norm choices of
Salimans et al.'s MNIST discriminator that depend on it."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from medssl.models.gan import SalimansMLPDiscriminator
from medssl.models.weight_norm_init import initialise_weight_norm_from_data


def _images(count: int = 200, seed: int = 0) -> torch.Tensor:
    """Images in [-1, 1] with a little structure: a random bright square on a dark background."""
    generator = torch.Generator().manual_seed(seed)
    images = -torch.ones(count, 1, 8, 8)
    corners = torch.randint(0, 5, (count, 2), generator=generator)
    for image, (row, column) in zip(images, corners.tolist(), strict=True):
        image[0, row : row + 4, column : column + 4] = 1.0
    return images


@torch.no_grad()
def _first_layer_output(
    discriminator: SalimansMLPDiscriminator, images: torch.Tensor
) -> torch.Tensor:
    """The first dense layer's pre-activation on clean images."""
    return discriminator.trunk[2](((images + 1.0) / 2.0).flatten(1))


def test_clean_initialisation_standardises_every_unit_on_the_batch() -> None:
    torch.manual_seed(0)
    network = nn.Sequential(weight_norm(nn.Linear(64, 7)), nn.ReLU(), weight_norm(nn.Linear(7, 3)))
    images = _images().flatten(1)
    assert initialise_weight_norm_from_data(network, images) == 2
    first = network[0](images).detach()
    torch.testing.assert_close(first.mean(dim=0), torch.zeros(7), atol=1e-5, rtol=0)
    torch.testing.assert_close(first.std(dim=0), torch.ones(7), atol=1e-4, rtol=0)
    second = network(images)
    torch.testing.assert_close(second.detach().std(dim=0), torch.ones(3), atol=1e-4, rtol=0)


def test_noisy_initialisation_counts_the_noise_and_is_reproducible() -> None:
    images = _images()
    clean_std, noisy_std = [], []
    for with_noise, stds in ((False, clean_std), (True, noisy_std)):
        for _ in range(2):
            torch.manual_seed(1)
            discriminator = SalimansMLPDiscriminator(1, 3, 8)
            torch.manual_seed(2)
            initialise_weight_norm_from_data(discriminator, images, with_noise=with_noise)
            assert discriminator.training  # the init pass restores the mode it found
            stds.append(_first_layer_output(discriminator, images).std(dim=0))
    torch.testing.assert_close(clean_std[0], torch.ones(1000), atol=1e-3, rtol=0)
    # The input noise (std 0.3 on 64 pixels) takes part of each unit's unit variance, so the clean
    # signal's share is smaller; the same seed gives the same scales.
    assert float(noisy_std[0].mean()) < 0.9
    assert torch.equal(noisy_std[0], noisy_std[1])


def test_salimans_discriminator_trains_only_the_output_layers_scale() -> None:
    discriminator = SalimansMLPDiscriminator(1, 10, 8)
    hidden = [module for module in discriminator.trunk if isinstance(module, nn.Linear)]
    assert len(hidden) == len(SalimansMLPDiscriminator.HIDDEN)
    for layer in hidden:
        assert not layer.parametrizations.weight.original0.requires_grad
        assert layer.parametrizations.weight.original1.requires_grad and layer.bias.requires_grad
    assert discriminator.head.parametrizations.weight.original0.requires_grad
