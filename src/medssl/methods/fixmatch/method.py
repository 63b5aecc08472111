"""fixmatch: FixMatch (Sohn et al., NeurIPS 2020) on supervised_cnn's network.

Each step draws ``batch_size`` labelled images and ``unlabelled_ratio`` (mu) times as many
unlabelled ones. The model's prediction on a weakly augmented view of an unlabelled image (flip and
shift) becomes its hard pseudo-label where its confidence is at least ``threshold`` (tau), and the
model is trained to predict that label on a strongly augmented view (RandAugment + Cutout, see
``strong_augment``). Loss: cross-entropy on the labelled batch + ``unlabelled_weight`` (lambda_u)
times the masked cross-entropy on the unlabelled batch, averaged over all mu * B unlabelled images.
SGD with Nesterov momentum, the paper's cosine decay lr * cos(7 pi k / 16 K), weight decay on the
weights but not on biases or batch-norm parameters (its reference code), and an EMA of the weights
as the evaluated model, its batch-norm statistics recomputed from real training images.

Deviation: K is ``iterations`` (a CPU budget, see docs/methods/fixmatch.md), not the paper's 2^20.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from medssl.core.config import Fraction, NonNegativeFloat, PositiveFloat, PositiveInt
from medssl.methods.fixmatch.batched_augment import BatchedStrongAugmentation
from medssl.methods.fixmatch.strong_augment import StrongAugmentation
from medssl.methods.loop import images_to_float
from medssl.methods.registry import register
from medssl.methods.shared.augment import random_flips, random_shifted_crops
from medssl.methods.shared.unlabelled_ratio import LabelledAndUnlabelledBatches
from medssl.models.cnn import PlabCNN


@dataclass(frozen=True)
class FixMatchConfig:
    iterations: PositiveInt
    batch_size: PositiveInt  # labelled images per step (B)
    unlabelled_ratio: PositiveInt  # mu: unlabelled images per labelled one
    threshold: Fraction  # tau: confidence a pseudo-label needs
    unlabelled_weight: NonNegativeFloat  # lambda_u
    learning_rate: PositiveFloat
    momentum: Fraction
    weight_decay: NonNegativeFloat
    ema_decay: Fraction
    # the EMA's decay ramps up as min(ema_decay, 1 - 1 / (n + 1)) over its first n updates (Mean
    # Teacher's warm-up), so the first steps' random weights fade within a short CPU budget
    ema_warmup: bool
    dropout: Fraction
    flip: bool  # horizontal flips in the weak (and strong) augmentation
    shift_fraction: Fraction  # shifts of up to this fraction of the image side
    strong_ops: PositiveInt  # RandAugment ops per image
    cutout_area: Fraction  # the cut-out square's largest share of the image
    # true: the strong augmentation of a batch in one tensor op per RandAugment op
    # (batched_augment.py), the same ops and draws' distribution as torchvision's per-image calls
    batched_strong_augmentation: bool


def uint8_images(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]: exact for images that came from uint8."""
    return images.add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def cosine_learning_rate(base: float, step: int, iterations: int) -> float:
    """FixMatch's schedule: lr * cos(7 pi k / 16 K); it ends at about 0.2 lr."""
    return base * math.cos(7.0 * math.pi * step / (16.0 * iterations))


def warmed_up_ema(decay: float) -> Callable[..., None]:
    """``AveragedModel``'s multi_avg_fn for an EMA whose decay is min(decay, 1 - 1 / (n + 1))
    after n averaged updates (Tarvainen & Valpola 2017): 0.5, 0.67, ... up to ``decay``, reached
    after 1 / (1 - decay) updates. With a constant 0.999, the first step's weights still weigh
    0.999^k after k steps: 0.61 at step 500, 0.37 at step 1000."""

    @torch.no_grad()
    def update(averaged: list, current: list, num_averaged: torch.Tensor) -> None:
        step_decay = min(decay, 1.0 - 1.0 / (float(num_averaged) + 1.0))
        for average, value in zip(averaged, current, strict=True):
            if torch.is_floating_point(average):
                average.lerp_(value, 1.0 - step_decay)
            else:  # integer buffers (batch norm's step count), as torch's own EMA treats them
                average.copy_(average * step_decay + value * (1.0 - step_decay))

    return update


def decayed_and_plain_parameters(network: nn.Module) -> list[dict]:
    """Weight decay on convolution and dense weights only, as FixMatch's reference code."""
    decayed, plain = [], []
    for parameter in network.parameters():
        (decayed if parameter.ndim > 1 else plain).append(parameter)
    return [{"params": decayed}, {"params": plain, "weight_decay": 0.0}]


@register("fixmatch")
class FixMatch(LabelledAndUnlabelledBatches[FixMatchConfig]):
    config_class = FixMatchConfig
    classifier_name = "ema"
    # Averaging batch-norm running statistics alongside the weights gives statistics that do not
    # belong to the averaged weights: on PneumoniaMNIST the EMA model then called every test image
    # "normal" (37.5 %) while the student scored 80.0 %. They are recomputed for the EMA weights
    # from real training images before every validation instead (80.1 %), as for the GANs.
    batch_norm_from_real_images = True

    def __init__(self, config: FixMatchConfig, info: object) -> None:
        super().__init__(config, info)
        strong = (
            BatchedStrongAugmentation if config.batched_strong_augmentation else StrongAugmentation
        )
        self.strong = strong(info.channels, config.strong_ops, config.cutout_area)

    def build_networks(self) -> dict[str, nn.Module]:
        info, config = self.info, self.config
        student = PlabCNN(info.channels, info.num_classes, info.image_size, config.dropout)
        average = (
            warmed_up_ema(config.ema_decay)
            if config.ema_warmup
            else get_ema_multi_avg_fn(config.ema_decay)
        )
        ema = AveragedModel(student, multi_avg_fn=average, use_buffers=True)
        return {"student": student, "ema": ema}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizer = torch.optim.SGD(
            decayed_and_plain_parameters(self.networks["student"]),
            lr=self.config.learning_rate,
            momentum=self.config.momentum,
            nesterov=True,
            weight_decay=self.config.weight_decay,
        )
        return {"student": optimizer}

    def weak(self, images: torch.Tensor) -> torch.Tensor:
        shift = round(self.config.shift_fraction * self.info.image_size)
        shifted = random_shifted_crops(images, shift)
        return random_flips(shifted) if self.config.flip else shifted

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        student = self.networks["student"]
        for group in self.optimizers["student"].param_groups:
            group["lr"] = cosine_learning_rate(
                self.config.learning_rate, step, self.config.iterations
            )
        labelled, unlabelled = self.samplers["labelled"].next(), self.samplers["unlabelled"].next()
        weak = self.weak(unlabelled.images)
        strong = images_to_float(self.strong(uint8_images(self.weak(unlabelled.images))))
        # One forward pass over the three batches, as the reference code: batch norm sees them
        # together.
        logits = student(torch.cat([self.weak(labelled.images), weak, strong]))
        labelled_logits, weak_logits, strong_logits = logits.split(
            [len(labelled.images), len(weak), len(strong)]
        )
        confidence, pseudo_labels = torch.softmax(weak_logits.detach().float(), dim=1).max(dim=1)
        mask = (confidence >= self.config.threshold).float()
        l_label = F.cross_entropy(labelled_logits, labelled.labels)
        l_unlabel = (F.cross_entropy(strong_logits, pseudo_labels, reduction="none") * mask).mean()
        loss = l_label + self.config.unlabelled_weight * l_unlabel
        self.optimizer_step("student", loss)
        self.networks["ema"].update_parameters(student)
        return {
            "loss": loss.detach(),
            "l_label": l_label.detach(),
            "l_unlabel": l_unlabel.detach(),
            "mask_rate": mask.mean(),
        }
