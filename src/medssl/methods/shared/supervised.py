"""Supervised classifiers on the common loop: cross-entropy on the labelled images (or patches)
only, with Adam. ``supervised_cnn`` and ``resnet`` train on whole images, ``patch_convnet`` and
``patch_resnet34`` on augmented patches with optional class weighting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

import numpy as np
import torch

from medssl.core.config import (
    Fraction,
    NonNegativeFloat,
    NonNegativeInt,
    OneOf,
    PositiveFloat,
    PositiveInt,
)
from medssl.core.optim import adam
from medssl.data.prepared import TrainData
from medssl.methods.loop import EpochSampler, LabelledCrossEntropyMethod
from medssl.methods.shared.augment import random_flips, random_shifted_crops

CLASS_WEIGHTINGS = ("none", "balanced")
# none, or balanced: each class's loss weighted by 1 / its labelled share
ClassWeighting = Annotated[str, OneOf(*CLASS_WEIGHTINGS)]


@dataclass(frozen=True)
class SupervisedConfig:
    """What every supervised classifier's section sets: the steps, the batch and Adam's settings.
    A method's own config adds its fields to these."""

    iterations: PositiveInt
    batch_size: PositiveInt
    learning_rate: PositiveFloat
    adam_beta1: Fraction
    weight_decay: NonNegativeFloat


@dataclass(frozen=True)
class WeakAugmentationConfig(SupervisedConfig):
    """Whole-image classifiers: the weak augmentation fixmatch and mean_teacher give every labelled
    image (horizontal flips, shifts of up to ``shift_fraction`` of the side), so that "SSL beats
    supervised" does not partly measure augmentation (Oliver et al. 2018)."""

    flip: bool
    shift_fraction: Fraction


@dataclass(frozen=True)
class PatchConfig(SupervisedConfig):
    """A patch classifier's: shifts of up to ``crop_shift`` pixels, and the class weighting."""

    crop_shift: NonNegativeInt
    class_weighting: ClassWeighting


SupervisedT = TypeVar("SupervisedT", bound=SupervisedConfig)
WeakT = TypeVar("WeakT", bound=WeakAugmentationConfig)
PatchT = TypeVar("PatchT", bound=PatchConfig)


class SupervisedClassifier(LabelledCrossEntropyMethod[SupervisedT]):
    """Adam over the classifier: ``learning_rate``, ``adam_beta1`` and ``weight_decay`` from the
    params."""

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizer = adam(
            self.classifier().parameters(),
            lr=self.config.learning_rate,
            betas=(self.config.adam_beta1, 0.999),
            weight_decay=self.config.weight_decay,
        )
        return {self.classifier_name: optimizer}


class WeaklyAugmentedClassifier(SupervisedClassifier[WeakT]):
    """Labelled images shifted and flipped as the semi-supervised references' weak augmentation;
    with ``flip: false`` and ``shift_fraction: 0`` they are used as they are."""

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        shift = round(self.config.shift_fraction * self.info.image_size)
        shifted = random_shifted_crops(images, shift) if shift else images
        return random_flips(shifted) if self.config.flip else shifted


class PatchClassifier(SupervisedClassifier[PatchT]):
    """Labelled patches, randomly shifted (``crop_shift``) and flipped; with ``class_weighting:
    balanced`` each class's loss is weighted by the inverse of its share of the labelled patches."""

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        if self.config.class_weighting == "balanced":
            counts = np.bincount(data.labelled_y, minlength=self.info.num_classes).astype(float)
            weights = counts.sum() / np.maximum(counts, 1.0) / self.info.num_classes
            self.class_weights = torch.tensor(weights, dtype=torch.float32, device=self.device)
        return super().build_samplers(data, seed)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return random_flips(random_shifted_crops(images, self.config.crop_shift))
