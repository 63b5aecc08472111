"""The common training loop for every PyTorch method.

A :class:`TorchMethod` says which networks and optimisers it has and what one step does; the loop
owns everything else: seeding, batch sampling, progress bar, loss logging, validation-based model
selection, and checkpoints that make an interrupted training resume where it stopped and end with
the same weights as an uninterrupted one (on CPU).
"""

from __future__ import annotations

import copy
import json
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from medssl.core.device import autocast, place_network, seed_everything
from medssl.core.distributed import (
    SINGLE_PROCESS,
    Ranks,
    average_gradients,
    broadcast_buffers,
    mean_over_ranks,
)
from medssl.core.io import torch_load, torch_save
from medssl.core.metrics import evenly_spaced_steps, selection_key, validation_metrics
from medssl.data.prepared import TrainData
from medssl.methods.base import ConfigT, HistoryRow, Method, RunContext

CHECKPOINT_FORMAT = 2  # 2: the best validation point is a key (tuple), not a score
# Real training images whose batch-norm statistics replace the evaluated network's (the labelled
# ones, then a seeded sample of the pool): 2048 pin the statistics to about 2 % of their spread.
BATCH_NORM_IMAGES = 2048


def images_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of a tanh generator (PLAB-GAN normalises to [-1,
    1])."""
    return images.float().div_(127.5).sub_(1.0)


def unlabelled_pool(data: TrainData) -> np.ndarray:
    """The unlabelled images, or the labelled ones when every training image is labelled (then they
    are the real data of the unsupervised terms)."""
    return data.unlabelled_x if len(data.unlabelled_x) else data.labelled_x


@dataclass(frozen=True)
class Batch:
    images: torch.Tensor  # float [-1, 1]
    labels: torch.Tensor | None = None
    weights: torch.Tensor | None = (
        None  # per-image loss weights (e.g. pseudo-label confidence masks)
    )


class EpochSampler:
    """Shuffled passes over a set of images held as uint8 tensors on the training device.

    Its state (generator, order, cursor) is checkpointed so a resumed run draws the same batches.
    Under torchrun every rank draws the same global batch and keeps rows ``rank::world_size`` of it.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        batch_size: int,
        seed: int,
        device: torch.device,
        weights: np.ndarray | None = None,
        ranks: Ranks = SINGLE_PROCESS,
    ) -> None:
        if len(images) == 0:
            raise ValueError("cannot sample batches from an empty image set")
        self.images = torch.from_numpy(images).to(device)
        self.labels = None if labels is None else torch.from_numpy(labels).to(device)
        self.weights = None if weights is None else torch.from_numpy(weights).float().to(device)
        self.batch_size = min(batch_size, len(images))
        if self.batch_size % ranks.world_size:
            raise ValueError(
                f"a batch of {self.batch_size} images does not split evenly over "
                f"{ranks.world_size} ranks; use a batch size divisible by the number of processes"
            )
        self.ranks = ranks
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long)
        self.cursor = 0

    def next(self) -> Batch:
        if self.cursor + self.batch_size > len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.generator)
            self.cursor = 0
        rows = self.order[self.cursor : self.cursor + self.batch_size][
            self.ranks.rank :: self.ranks.world_size
        ]
        rows = rows.to(self.images.device)
        self.cursor += self.batch_size
        return Batch(
            images_to_float(self.images[rows]),
            None if self.labels is None else self.labels[rows],
            None if self.weights is None else self.weights[rows],
        )

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "order": self.order, "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.order = state["order"]
        self.cursor = int(state["cursor"])


class TorchMethod(Method[ConfigT]):
    """Base of every PyTorch method. The config must have ``iterations`` and ``batch_size``."""

    classifier_name = "classifier"
    # False for methods whose prediction is too costly to validate during training (a z search per
    # image): the final weights are the model.
    validates_during_training = True
    # True for a classifier trained on batches that mix generated and real images (a GAN's
    # discriminator, a classifier on generated data): its batch-norm running statistics are partly
    # those of fakes, so before every validation they are recomputed from real training images
    # alone, and the model evaluated (and kept) normalises real images by real statistics.
    batch_norm_from_real_images = False

    def __init__(self, config: Any, info: Any) -> None:
        super().__init__(config, info)
        self.device = torch.device("cpu")
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.samplers: dict[str, EpochSampler] = {}
        self.ranks = SINGLE_PROCESS

    @abstractmethod
    def build_networks(self) -> dict[str, nn.Module]:
        """Networks by name, built from ``self.info`` and ``self.config``; one is
        ``classifier_name``."""

    @abstractmethod
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimisers by name over ``self.networks``."""

    @abstractmethod
    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        """One update; returns detached scalar losses (kept on the device: no sync per step)."""

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        """Labelled batches by default; semi-supervised methods add an unlabelled sampler."""
        return {"labelled": self.sampler(data.labelled_x, data.labelled_y, seed)}

    def sampler(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        seed: int,
        *,
        weights: np.ndarray | None = None,
    ) -> EpochSampler:
        return EpochSampler(
            images, labels, self.config.batch_size, seed, self.device, weights, self.ranks
        )

    def optimizer_step(self, name: str, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` into optimiser ``name``'s parameters only, average their gradients
        over the ranks and step. Only those: a generator's loss runs through the discriminator,
        whose weight gradients autograd would otherwise compute for nothing (the discriminator's own
        step starts from zeroed gradients), while the gradients that flow through it to the
        generator are the same."""
        optimizer = self.optimizers[name]
        parameters = [
            p for group in optimizer.param_groups for p in group["params"] if p.requires_grad
        ]
        optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=parameters)
        average_gradients(parameters, self.ranks)
        optimizer.step()

    def this_ranks_share(self, global_batch: torch.Tensor) -> torch.Tensor:
        """Rows ``rank::world_size`` of a batch drawn identically on every rank (e.g. generator
        noise)."""
        return global_batch[self.ranks.rank :: self.ranks.world_size]

    def selected_network_names(self) -> tuple[str, ...]:
        """Networks whose weights are restored to the best validation step at the end."""
        return (self.classifier_name,)

    def classifier_start_step(self) -> int:
        """Steps before the classifier starts training (a first phase that trains only a GAN):
        validation points are spread over the steps after it."""
        return 0

    def classifier(self) -> nn.Module:
        return self.networks[self.classifier_name]

    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        self.prepare(data, run)
        return TrainingLoop(self, data, run).run(self.config.iterations)

    def prepare(self, data: TrainData, run: RunContext) -> None:
        """Everything before the first step: seeding, networks, optimisers, samplers and the
        data-dependent initialisation."""
        seed_everything(run.seed)
        self.device, self.ranks = run.device, run.ranks
        self.networks = {
            name: place_network(net, self.device, run.channels_last)
            for name, net in self.build_networks().items()
        }
        self.optimizers = self.build_optimizers()
        self.samplers = self.build_samplers(data, run.seed)
        self.initialise_from_data(data)

    def initialise_from_data(self, data: TrainData) -> None:
        """Data-dependent initialisation before the first step; a resumed run then loads its
        checkpoint."""

    @torch.no_grad()
    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        network = self.classifier().eval()
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[start : start + batch_size]).to(self.device)
            outputs.append(
                torch.softmax(self.class_logits(network, images_to_float(batch)), dim=1).cpu()
            )
        return torch.cat(outputs).double().numpy()

    def class_logits(self, network: nn.Module, images: torch.Tensor) -> torch.Tensor:
        """The K real-class logits; a K+1 discriminator overrides this to drop its fake logit."""
        return network(images)

    def save(self, directory: Path) -> None:
        torch_save(
            directory / "weights.pt",
            {name: net.state_dict() for name, net in self.networks.items()},
        )

    def load(self, directory: Path, device: torch.device) -> None:
        self.device = device
        state = torch_load(directory / "weights.pt", self.device)
        self.networks = {name: net.to(self.device) for name, net in self.build_networks().items()}
        for name, network in self.networks.items():
            network.load_state_dict(state[name])


def batch_norm_images(data: TrainData, device: torch.device) -> torch.Tensor:
    """Up to BATCH_NORM_IMAGES real training images (uint8, on ``device``): every labelled image,
    then a fixed random sample of the unlabelled pool (seed 0: the same for every training seed)."""
    room = max(BATCH_NORM_IMAGES - len(data.labelled_x), 0)
    pool = data.unlabelled_x
    if len(pool) > room:
        pool = pool[np.sort(np.random.default_rng(0).choice(len(pool), size=room, replace=False))]
    return torch.from_numpy(np.concatenate([data.labelled_x, pool])).to(device)


def batch_norm_layers(network: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recompute_batch_norm_statistics(
    network: nn.Module, images: torch.Tensor, batch_size: int
) -> None:
    """Replace every batch-norm layer's running mean and variance by their average over ``images``
    (uint8), seen as at evaluation otherwise: dropout and input noise off."""
    layers = batch_norm_layers(network)
    if not layers:
        return
    network.eval()
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over the batches
        layer.train()
    for start in range(0, len(images), batch_size):
        network(images_to_float(images[start : start + batch_size]))
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum
    network.eval()


class LabelledCrossEntropyMethod(TorchMethod[ConfigT]):
    """One step = cross-entropy on a labelled batch: the supervised baselines (images or patches)
    and the features network. Subclasses may augment the batch and weight the classes."""

    class_weights: torch.Tensor | None = (
        None  # per-class loss weights; None weighs every class alike
    )

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """Augmentation of the labelled batch; none by default."""
        return images

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        batch = self.samplers["labelled"].next()
        logits = self.classifier()(self.augment(batch.images))
        loss = F.cross_entropy(logits, batch.labels, weight=self.class_weights)
        self.optimizer_step(self.classifier_name, loss)
        return {"loss": loss.detach()}


class TrainingLoop:
    def __init__(self, method: TorchMethod, data: TrainData, run: RunContext) -> None:
        self.method = method
        self.data = data
        self.context = run
        self.history: list[HistoryRow] = []
        self.best_key: tuple[float, ...] | None = None
        self.validation_steps: frozenset[int] = frozenset()
        self.best_state: dict[str, dict[str, torch.Tensor]] | None = None
        self.loss_sums: dict[str, torch.Tensor | float] = {}
        self.steps_since_log = 0
        self.batch_norm_images = (
            batch_norm_images(data, method.device) if method.batch_norm_from_real_images else None
        )

    def run(self, iterations: int) -> list[HistoryRow]:
        start = self._resume()
        self.validation_steps = frozenset(
            evenly_spaced_steps(
                first=self.method.classifier_start_step(),
                last=iterations,
                count=self.context.validations,
            )
        )
        bar = tqdm(
            range(start, iterations),
            initial=start,
            total=iterations,
            desc=self.context.progress_label,
            mininterval=1.0,
            leave=False,
            disable=not self.context.ranks.is_main,
        )
        for step in bar:
            for network in self.method.networks.values():
                network.train()
            with autocast(self.method.device, self.context.autocast):
                self._accumulate(self.method.train_step(step))
            broadcast_buffers(self.method.networks.values(), self.context.ranks)
            done = step + 1
            row: HistoryRow = {}
            if done % self.context.log_every == 0 or done == iterations:
                row.update(self._flush_losses())
            if self.method.validates_during_training and done in self.validation_steps:
                row.update(self._validate())
            if row:
                self.history.append({"step": float(done), **row})
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items()}, refresh=False)
            if (
                self.context.checkpoint_path
                and self.context.ranks.is_main
                and done % self.context.checkpoint_every == 0
                and done < iterations
            ):
                self._save_checkpoint(done)
        bar.close()
        self._restore_best()
        if self.context.checkpoint_path and self.context.ranks.is_main:
            self.context.checkpoint_path.unlink(missing_ok=True)
        return self.history

    def _accumulate(self, losses: dict[str, torch.Tensor]) -> None:
        for name, value in losses.items():
            self.loss_sums[name] = self.loss_sums.get(name, 0.0) + value.detach()
        self.steps_since_log += 1

    def _flush_losses(self) -> HistoryRow:
        means = {
            name: mean_over_ranks(float(total) / self.steps_since_log, self.context.ranks)
            for name, total in self.loss_sums.items()
        }
        self.loss_sums, self.steps_since_log = {}, 0
        return means

    def _validate(self) -> HistoryRow:
        if self.batch_norm_images is not None:
            recompute_batch_norm_statistics(
                self.method.classifier(), self.batch_norm_images, self.context.eval_batch_size
            )
        probabilities = self.method.predict_proba(self.data.val_x, self.context.eval_batch_size)
        metrics = validation_metrics(self.data.val_y, probabilities)
        key = selection_key(self.context.selection_metric, metrics)
        if self.best_key is None or key > self.best_key:  # strict: ties keep the earlier step
            self.best_key = key
            self.best_state = {
                name: copy.deepcopy(self.method.networks[name].state_dict())
                for name in self.method.selected_network_names()
            }
        return metrics

    def _restore_best(self) -> None:
        if self.best_state is not None:
            for name, state in self.best_state.items():
                self.method.networks[name].load_state_dict(state)

    def _save_checkpoint(self, done: int) -> None:
        torch_save(
            self.context.checkpoint_path,
            {
                "format": CHECKPOINT_FORMAT,
                "step": done,
                "networks": {name: net.state_dict() for name, net in self.method.networks.items()},
                "optimizers": {
                    name: opt.state_dict() for name, opt in self.method.optimizers.items()
                },
                "samplers": {
                    name: sampler.state_dict() for name, sampler in self.method.samplers.items()
                },
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "history": json.dumps(self.history),
                "best_key": None if self.best_key is None else list(self.best_key),
                "best_state": self.best_state,
                "loss_sums": {
                    name: torch.as_tensor(total) for name, total in self.loss_sums.items()
                },
                "steps_since_log": self.steps_since_log,
                "seconds": self.method.seconds_so_far(),
            },
        )

    def _resume(self) -> int:
        path = self.context.checkpoint_path
        if path is None or not path.is_file():
            return 0
        state = torch_load(path, self.method.device)
        if state.get("format") != CHECKPOINT_FORMAT:
            return 0
        for name, network in self.method.networks.items():
            network.load_state_dict(state["networks"][name])
        for name, optimizer in self.method.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, sampler in self.method.samplers.items():
            sampler.load_state_dict(state["samplers"][name])
        torch.set_rng_state(state["torch_rng"].cpu())
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        self.history = json.loads(state["history"])
        self.best_key = None if state["best_key"] is None else tuple(state["best_key"])
        self.best_state = state["best_state"]
        self.loss_sums = dict(state["loss_sums"])
        self.steps_since_log = int(state["steps_since_log"])
        self.method.earlier_seconds = float(state.get("seconds", 0.0))
        print(f"{self.context.progress_label}: resumed from {path} at step {state['step']}")
        return int(state["step"])
