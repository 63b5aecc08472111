"""mean_teacher: Mean Teacher (Tarvainen & Valpola, NeurIPS 2017) on supervised_cnn's network.

The student is trained on cross-entropy over the labelled batch plus a consistency cost: the mean
squared difference between its softmax and the teacher's on the labelled and unlabelled images,
each network seeing its own random view (shift, optional flip, Gaussian input noise; the network's
dropout is on for both). The teacher's weights are an exponential moving average of the student's,
and the teacher is the evaluated model.

As in the paper, the consistency weight and the learning rate rise along exp(-5 (1 - t)^2) over the
first ``rampup_fraction`` of training; the teacher's decay is ``rampup_ema_decay`` during that
ramp-up and ``ema_decay`` after it; Adam's learning rate ramps down along exp(-12.5 t^2) over the
last ``rampdown_fraction``. The squared difference is summed over classes and divided by their
number, as in the paper's reference code.

Deviation: the schedule is stated in fractions of ``iterations`` (a CPU budget, see
docs/methods/mean_teacher.md), where the paper counts epochs of a far longer training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from medssl.core.config import (
    Fraction,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from medssl.core.errors import ConfigError
from medssl.core.optim import adam
from medssl.methods.registry import register
from medssl.methods.shared.augment import random_flips, random_shifted_crops
from medssl.methods.shared.unlabelled_ratio import LabelledAndUnlabelledBatches
from medssl.models.cnn import PlabCNN


@dataclass(frozen=True)
class MeanTeacherConfig:
    iterations: PositiveInt
    batch_size: PositiveInt  # labelled images per step
    unlabelled_ratio: PositiveInt  # unlabelled images per labelled one
    learning_rate: PositiveFloat
    adam_beta1: Fraction
    adam_beta2: Fraction
    consistency_weight: NonNegativeFloat  # after the ramp-up
    rampup_fraction: Fraction
    rampdown_fraction: Fraction
    ema_decay: Fraction
    rampup_ema_decay: Fraction
    dropout: Fraction
    flip: bool
    shift: NonNegativeInt  # pixels, each way
    input_noise: NonNegativeFloat  # std of Gaussian noise on images in [-1, 1]


def sigmoid_rampup(step: int, length: int) -> float:
    """The paper's exp(-5 (1 - t)^2), t = step / length, 1 from ``length`` on."""
    if step >= length:
        return 1.0
    phase = 1.0 - step / length
    return math.exp(-5.0 * phase * phase)


def gaussian_rampdown(step: int, iterations: int, length: int) -> float:
    """The paper's exp(-12.5 t^2) over the last ``length`` steps, 1 before them."""
    remaining = iterations - step
    if length <= 0 or remaining >= length:
        return 1.0
    phase = 1.0 - remaining / length
    return math.exp(-12.5 * phase * phase)


@register("mean_teacher")
class MeanTeacher(LabelledAndUnlabelledBatches[MeanTeacherConfig]):
    config_class = MeanTeacherConfig
    classifier_name = "teacher"

    def __init__(self, config: MeanTeacherConfig, info: object) -> None:
        super().__init__(config, info)
        if config.rampup_fraction + config.rampdown_fraction > 1:
            raise ConfigError(
                "methods.mean_teacher: rampup_fraction + rampdown_fraction is "
                f"{config.rampup_fraction + config.rampdown_fraction:g}; the ramps must fit in "
                "one run (at most 1)"
            )

    def build_networks(self) -> dict[str, nn.Module]:
        info, config = self.info, self.config
        student = PlabCNN(info.channels, info.num_classes, info.image_size, config.dropout)
        teacher = PlabCNN(info.channels, info.num_classes, info.image_size, config.dropout)
        teacher.load_state_dict(student.state_dict())
        teacher.requires_grad_(False)
        return {"student": student, "teacher": teacher}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizer = adam(
            self.networks["student"].parameters(),
            lr=self.config.learning_rate,
            betas=(self.config.adam_beta1, self.config.adam_beta2),
        )
        return {"student": optimizer}

    def view(self, images: torch.Tensor) -> torch.Tensor:
        """One random view: shift, flip, Gaussian noise."""
        images = random_shifted_crops(images, self.config.shift)
        if self.config.flip:
            images = random_flips(images)
        if self.config.input_noise > 0:
            images = images + self.config.input_noise * torch.randn_like(images)
        return images

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        config = self.config
        student, teacher = self.networks["student"], self.networks["teacher"]
        rampup_length = round(config.rampup_fraction * config.iterations)
        rampup = sigmoid_rampup(step, rampup_length)
        rampdown = gaussian_rampdown(
            step, config.iterations, round(config.rampdown_fraction * config.iterations)
        )
        for group in self.optimizers["student"].param_groups:
            group["lr"] = config.learning_rate * rampup * rampdown
        labelled, unlabelled = self.samplers["labelled"].next(), self.samplers["unlabelled"].next()
        images = torch.cat([labelled.images, unlabelled.images])
        student_logits = student(self.view(images))
        with torch.no_grad():
            teacher_logits = teacher(self.view(images))
        l_label = F.cross_entropy(student_logits[: len(labelled.images)], labelled.labels)
        consistency = F.mse_loss(
            torch.softmax(student_logits.float(), dim=1),
            torch.softmax(teacher_logits.float(), dim=1),
        )  # the mean over images and classes: the paper's sum over classes / K, per image
        loss = l_label + config.consistency_weight * rampup * consistency
        self.optimizer_step("student", loss)
        decay = config.rampup_ema_decay if step < rampup_length else config.ema_decay
        self.update_teacher(min(decay, 1.0 - 1.0 / (step + 1)))
        return {
            "loss": loss.detach(),
            "l_label": l_label.detach(),
            "consistency": consistency.detach(),
        }

    @torch.no_grad()
    def update_teacher(self, decay: float) -> None:
        """Teacher weights <- their EMA with the student's. Its batch-norm statistics come from its
        own forward passes in training mode, as in the paper's reference code."""
        student, teacher = self.networks["student"], self.networks["teacher"]
        for teacher_weight, student_weight in zip(
            teacher.parameters(), student.parameters(), strict=True
        ):
            teacher_weight.lerp_(student_weight, 1.0 - decay)
