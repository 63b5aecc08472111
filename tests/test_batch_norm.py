"""Batch-norm statistics of the evaluated classifier come from real images only."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from conftest import cpu_run, method_values
from medssl.methods.loop import (
    BATCH_NORM_IMAGES,
    batch_norm_images,
    images_to_float,
    recompute_batch_norm_statistics,
)
from medssl.methods.registry import create_method
from medssl.models.cnn import GaussianNoise


def test_recomputed_statistics_are_those_of_the_images_without_noise_or_dropout():
    torch.manual_seed(0)
    convolution = nn.Conv2d(1, 4, 3)
    network = nn.Sequential(GaussianNoise(5.0), convolution, nn.Dropout(0.9), nn.BatchNorm2d(4))
    network[3].running_mean.fill_(100.0)
    images = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8)
    recompute_batch_norm_statistics(network, images, batch_size=50)
    with torch.no_grad():
        activations = convolution(images_to_float(images))
    torch.testing.assert_close(
        network[3].running_mean, activations.mean(dim=(0, 2, 3)), rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(
        network[3].running_var,
        activations.transpose(0, 1).reshape(4, -1).var(dim=1, unbiased=True),
        rtol=1e-4,
        atol=1e-6,
    )
    assert network[3].momentum == 0.1 and not network.training


def test_calibration_images_are_real_training_images_only(synthetic_train_data):
    images = batch_norm_images(synthetic_train_data, torch.device("cpu")).numpy()
    assert len(images) == min(
        BATCH_NORM_IMAGES,
        len(synthetic_train_data.labelled_x) + len(synthetic_train_data.unlabelled_x),
    )
    np.testing.assert_array_equal(
        images[: len(synthetic_train_data.labelled_x)], synthetic_train_data.labelled_x
    )


@pytest.mark.parametrize("name", ["ssgan", "cgan_aug", "fixmatch"])
def test_a_gan_classifier_is_kept_with_real_image_statistics(name, synthetic_train_data):
    tiny = {
        "ssgan": {"iterations": 10, "batch_size": 8},
        # its EMA model: averaged statistics would not be those of the averaged weights
        "fixmatch": {"iterations": 10, "batch_size": 4, "unlabelled_ratio": 2},
        "cgan_aug": {
            "gan_iterations": 5,
            "classifier_iterations": 5,
            "batch_size": 8,
            "generated_per_class": 5,
        },
    }[name]
    method = create_method(name, method_values(name, **tiny), synthetic_train_data.info)
    method.fit(synthetic_train_data, cpu_run(validations=4))
    kept = method.classifier()
    recomputed = copy.deepcopy(kept)
    recompute_batch_norm_statistics(
        recomputed, batch_norm_images(synthetic_train_data, torch.device("cpu")), batch_size=64
    )
    layers = [m for m in kept.modules() if isinstance(m, nn.BatchNorm2d)]
    assert layers
    for name_, buffer in kept.named_buffers():
        if "running" in name_:
            torch.testing.assert_close(buffer, dict(recomputed.named_buffers())[name_])
