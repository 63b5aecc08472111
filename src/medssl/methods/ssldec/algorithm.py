"""Semi-supervised deep embedded clustering (SSLDEC; Enguehard, O'Halloran & Gholipour, IEEE Access
2019).

A network maps an input to an embedding z with one unit per class; a Student-t clustering layer with
learnable centroids mu_j turns z into soft assignments q (eq. 1, alpha = 1); the target distribution
p sharpens q and divides by cluster frequency (eq. 2); the loss is KL(P || Q) (eq. 3), which with a
one-hot P is the cross-entropy. Algorithm 1:

    pre-train on the labelled set
    repeat
        Q <- predictions on labelled + unlabelled;  P <- target_distribution(Q)
        P' <- a class-balanced random subset of P (same count per predicted class)
        train one epoch on P'
        while labelled training accuracy < threshold: train one epoch on the labelled set
    until the end condition

Where the paper is silent we follow DEC (Xie, Girshick & Farhadi 2016), which it builds on. The end
condition is DEC's: stop when fewer than ``assignment_change_tol`` of the points have changed
predicted class since the previous check. DEC checks at every target update, which comes every
T = ``assignment_change_interval`` optimiser steps (DEC's T, 140 on MNIST); an SSLDEC round is one
epoch on the balanced subset plus the labelled retraining, a handful of steps on a small set (at
most 8 on the paper's 1000-point two moons), so comparing consecutive rounds stopped runs after
15 ± 6 rounds while the boundary was still moving. Here a round's assignment is compared with the
latest one at least T steps older, as DEC's would be; ``max_rounds`` caps the rounds as a safety
net. P is computed once per round over every point, as DEC does once per target update. The
labelled-retraining loop is capped (``max_relabel_epochs``) so that a labelled set the network
cannot fit ends the loop instead of hanging it.

The clustering layer itself is ``clustering.StudentTClustering``; the pipeline method that runs this
on images is ``method.SSLDEC``, the two-moons demonstration ``benchmarks/two_moons.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medssl.core.config import Fraction, NonNegativeFloat, PositiveFloat, PositiveInt
from medssl.core.optim import adam

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij (eq. 2; normalised over
    clusters, as in DEC: the printed denominator's indices are garbled)."""
    weighted = q.pow(2) / q.sum(dim=0, keepdim=True)
    return (weighted / weighted.sum(dim=1, keepdim=True)).detach()


def kl_divergence(p: torch.Tensor, q: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """KL(P || Q) = sum_ij p_ij log(p_ij / q_ij) (eq. 3); ``mean`` divides by the number of points.
    Terms with p_ij = 0 contribute 0 (one-hot targets make this the cross-entropy)."""
    terms = torch.where(
        p > 0,
        p * (torch.log(p.clamp_min(1e-30)) - torch.log(q.clamp_min(1e-30))),
        torch.zeros_like(q),
    )
    total = terms.sum()
    return total / len(q) if reduction == "mean" else total


def balanced_subset(
    predicted: np.ndarray, num_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of a random subset with the same number of points per predicted class: as many as the
    rarest predicted class has (the paper's P'). A class nobody is predicted as gives an empty set.
    """
    members = [np.flatnonzero(predicted == label) for label in range(num_classes)]
    per_class = min(len(indices) for indices in members)
    if per_class == 0:
        return np.empty(0, dtype=np.int64)
    chosen = [rng.choice(indices, size=per_class, replace=False) for indices in members]
    return np.sort(np.concatenate(chosen))


def one_pixel_translation(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by -1, 0 or +1 pixel along height and width (the paper's MNIST
    augmentation), filling the uncovered border with the image's own edge (replicate padding)."""
    padded = F.pad(images, (1, 1, 1, 1), mode="replicate")
    offsets = torch.randint(0, 3, (len(images), 2), generator=generator).tolist()
    height, width = images.shape[-2:]
    return torch.stack(
        [padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets)]
    )


@dataclass(frozen=True)
class SSLDECConfig:
    pretrain_epochs: PositiveInt  # the paper's 100 epochs on the labelled set
    batch_size: PositiveInt  # the paper's
    pretrain_learning_rate: tuple[PositiveFloat, PositiveFloat]  # linear decay during pre-training
    learning_rate: PositiveFloat  # steady during the semi-supervised phase
    # The paper's Keras L2 kernel regulariser 1e-4 adds 1e-4 * |w|^2 to the loss, i.e. 2e-4 * w to
    # the gradient, which is what Adam's weight_decay adds; on kernels only, as Keras'
    # kernel_regularizer.
    weight_decay: NonNegativeFloat
    label_accuracy_threshold: Fraction  # the paper's 100 %
    max_relabel_epochs: PositiveInt
    max_rounds: PositiveInt
    assignment_change_tol: Fraction  # DEC's end condition: 0.1 % of points change class
    assignment_change_interval: PositiveInt  # DEC's T: compared at least this many steps apart


@dataclass
class SSLDECHistory:
    pretrain_loss: list[float] = field(default_factory=list)
    pretrain_val_accuracy: float = float("nan")  # filled in by a caller that has validation data
    rounds: list[dict[str, float]] = field(default_factory=list)


def _kernel_decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on convolution and dense kernels; none on biases, batch norm or centroids."""
    kernels, others = [], []
    for name, parameter in model.named_parameters():
        is_kernel = parameter.ndim > 1 and not name.endswith("centroids")
        (kernels if is_kernel else others).append(parameter)
    return [
        {"params": kernels, "weight_decay": weight_decay},
        {"params": others, "weight_decay": 0.0},
    ]


class SSLDECTrainer:
    """Runs Algorithm 1 on ``model``, which maps inputs to cluster probabilities q (its last module
    a Student-t clustering layer). Every random choice comes from ``seed``; :meth:`state_dict` holds
    everything needed to resume after pre-training or after any round with the same result (on CPU).
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        config: SSLDECConfig,
        seed: int,
        augment: Augment | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.model, self.num_classes, self.config = model, num_classes, config
        self.augment, self.device = augment, torch.device(device)
        self.rng = np.random.default_rng(seed)
        self.torch_generator = torch.Generator().manual_seed(seed)
        self.optimizer = adam(
            _kernel_decay_groups(model, config.weight_decay), lr=config.pretrain_learning_rate[0]
        )
        self.history = SSLDECHistory()
        self.steps = 0  # optimiser steps so far, pre-training included
        # (steps at the end of a round, that round's predicted classes) since the oldest one still
        # needed: the latest assignment at least assignment_change_interval steps back
        self.assignments: list[tuple[int, np.ndarray]] = []
        self.finished = False

    def _set_learning_rate(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = value

    def train_epoch(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """One pass in random batches, minimising KL(targets || q); returns the mean loss."""
        self.model.train()
        order = self.rng.permutation(len(inputs))
        losses = []
        for start in range(0, len(order), self.config.batch_size):
            batch = torch.as_tensor(order[start : start + self.config.batch_size])
            if len(batch) < 2 and len(order) > 1:
                continue  # batch norm cannot train on one image; it is seen again next epoch
            x = inputs[batch].to(self.device)
            if self.augment is not None:
                x = self.augment(x, self.torch_generator)
            loss = kl_divergence(targets[batch].to(self.device), self.model(x))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.steps += 1
            losses.append(loss.detach())
        return float(torch.stack(losses).mean()) if losses else float("nan")

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        self.model.eval()
        return torch.cat(
            [
                self.model(inputs[start : start + batch_size].to(self.device)).cpu()
                for start in range(0, len(inputs), batch_size)
            ]
        )

    def labelled_accuracy(self, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        return float((self.predict(inputs).argmax(dim=1) == labels).float().mean())

    def pretrain(self, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        targets = F.one_hot(labels, self.num_classes).float()
        start, end = self.config.pretrain_learning_rate
        for epoch in range(len(self.history.pretrain_loss), self.config.pretrain_epochs):
            self._set_learning_rate(
                start + (end - start) * epoch / max(self.config.pretrain_epochs - 1, 1)
            )
            self.history.pretrain_loss.append(self.train_epoch(inputs, targets))

    def semi_supervised_round(
        self, labelled_x: torch.Tensor, labelled_y: torch.Tensor, unlabelled_x: torch.Tensor
    ) -> dict[str, float]:
        """One iteration of Algorithm 1's outer loop; returns what happened in it."""
        self._set_learning_rate(self.config.learning_rate)
        every_x = torch.cat([labelled_x, unlabelled_x])
        q = self.predict(every_x)
        p = target_distribution(q)
        predicted = q.argmax(dim=1).numpy()
        changed = self._changed_since_interval(predicted)
        subset = balanced_subset(predicted, self.num_classes, self.rng)
        subset_loss = self.train_epoch(every_x[subset], p[subset]) if len(subset) else float("nan")
        labelled_targets = F.one_hot(labelled_y, self.num_classes).float()
        relabel_epochs = 0
        while (
            relabel_epochs < self.config.max_relabel_epochs
            and self.labelled_accuracy(labelled_x, labelled_y)
            < self.config.label_accuracy_threshold
        ):
            self.train_epoch(labelled_x, labelled_targets)
            relabel_epochs += 1
        report = {
            "steps": float(self.steps),
            "changed_fraction": changed,
            "subset_size": float(len(subset)),
            "subset_loss": subset_loss,
            "relabel_epochs": float(relabel_epochs),
        }
        self.history.rounds.append(report)
        self.finished = (
            len(self.history.rounds) >= self.config.max_rounds
            or changed < self.config.assignment_change_tol
        )
        return report

    def _changed_since_interval(self, predicted: np.ndarray) -> float:
        """The fraction of points whose class differs from the latest assignment made at least
        ``assignment_change_interval`` steps before this one; 1.0 (not finished) while there is
        none. Keeps the assignments a later round may still compare with."""
        self.assignments.append((self.steps, predicted))
        due = self.steps - self.config.assignment_change_interval
        earlier = [index for index, (steps, _) in enumerate(self.assignments) if steps <= due]
        if not earlier:
            return 1.0
        reference = self.assignments[earlier[-1]][1]
        self.assignments = self.assignments[earlier[-1] :]
        return float((predicted != reference).mean())

    def fit(
        self,
        labelled_x: torch.Tensor,
        labelled_y: torch.Tensor,
        unlabelled_x: torch.Tensor,
        *,
        after_each: Callable[[str], None] | None = None,
    ) -> SSLDECHistory:
        """Algorithm 1, continuing from wherever a loaded state left off. ``after_each`` is called
        with
        "pretrain" once pre-training is done and with "round" after every round (to checkpoint)."""
        if len(self.history.pretrain_loss) < self.config.pretrain_epochs:
            self.pretrain(labelled_x, labelled_y)
            if after_each:
                after_each("pretrain")
        while not self.finished:
            self.semi_supervised_round(labelled_x, labelled_y, unlabelled_x)
            if after_each:
                after_each("round")
        return self.history

    def state_dict(self) -> dict[str, Any]:
        """Tensors, numbers and strings only, so a checkpoint loads with ``weights_only``."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": json.dumps(self.rng.bit_generator.state),
            "torch_generator": self.torch_generator.get_state(),
            "history": json.dumps(dataclasses.asdict(self.history)),
            "finished": self.finished,
            "steps": self.steps,
            "assignment_steps": [steps for steps, _ in self.assignments],
            "assignments": [torch.from_numpy(labels) for _, labels in self.assignments],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = json.loads(state["rng"])
        self.torch_generator.set_state(state["torch_generator"])
        self.history = SSLDECHistory(**json.loads(state["history"]))
        self.finished = bool(state["finished"])
        self.steps = int(state["steps"])
        self.assignments = [
            (int(steps), labels.numpy())
            for steps, labels in zip(state["assignment_steps"], state["assignments"], strict=True)
        ]
