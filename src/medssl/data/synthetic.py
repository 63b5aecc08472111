"""A small generated dataset for unit tests: no download, a few kilobytes, and learnable.

Class k puts a bright square at angle 2*pi*k/K on a circle around the image centre, jittered by a
few pixels, on a noisy background. A working classifier separates the classes well above chance;
a broken training loop does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from medssl.core.config import PositiveInt, Range


@dataclass(frozen=True)
class SyntheticConfig:
    num_classes: Annotated[int, Range(low=2)]
    channels: PositiveInt
    train_per_class: PositiveInt
    val_per_class: PositiveInt
    test_per_class: PositiveInt
    seed: int


def synthetic_label_names(config: SyntheticConfig) -> tuple[str, ...]:
    return tuple(f"class_{k}" for k in range(config.num_classes))


def make_synthetic_arrays(config: SyntheticConfig, image_size: int) -> dict[str, np.ndarray]:
    """Arrays in the MedMNIST npz layout (``train_images``, ``train_labels``, ...)."""
    if config.num_classes < 2:
        raise ValueError("data.synthetic.num_classes must be at least 2")
    rng = np.random.default_rng(config.seed)
    arrays = {}
    for split, per_class in (
        ("train", config.train_per_class),
        ("val", config.val_per_class),
        ("test", config.test_per_class),
    ):
        labels = np.repeat(np.arange(config.num_classes), per_class)
        rng.shuffle(labels)
        arrays[f"{split}_images"] = np.stack(
            [_draw(label, config, image_size, rng) for label in labels]
        )
        arrays[f"{split}_labels"] = labels.astype(np.int64)[:, None]
    arrays["label_names"] = np.array(synthetic_label_names(config))
    return arrays


def _draw(
    label: int, config: SyntheticConfig, image_size: int, rng: np.random.Generator
) -> np.ndarray:
    image = rng.normal(0.3, 0.12, size=(config.channels, image_size, image_size))
    side = max(2, image_size // 5)
    radius = image_size / 4
    angle = 2 * np.pi * label / config.num_classes
    centre = (
        image_size / 2
        + radius * np.array([np.sin(angle), np.cos(angle)])
        + rng.integers(-2, 3, size=2)
    )
    top, left = np.clip((centre - side / 2).astype(int), 0, image_size - side)
    image[:, top : top + side, left : left + side] += 0.6
    pixels = np.clip(image, 0.0, 1.0) * 255
    # MedMNIST layout: (H, W) for one channel, (H, W, C) for colour.
    return (
        pixels[0].astype(np.uint8)
        if config.channels == 1
        else pixels.transpose(1, 2, 0).astype(np.uint8)
    )
