"""SSLDEC (Enguehard, O'Halloran & Gholipour, IEEE Access 2019) as a pipeline method.

The paper's Figure 2 CNN (``network.py``) with a Student-t clustering layer (``clustering.py``),
trained by Algorithm 1 (``algorithm.py``): pre-training on the labelled images, then rounds of
target distribution -> class-balanced subset -> one epoch -> retraining on the labelled images until
they are all right. The paper's MNIST augmentation, one-pixel translations, is applied to every
training batch.

Algorithm 1 is a schedule of epochs and rounds, not of steps, so this method runs it directly rather
than through the step loop of ``methods/loop.py``; it checkpoints after pre-training and after every
round, and a resumed run ends with the same weights. The paper needs no validation set ("does not
need large labeled validation sets") and takes the model at the end condition. Here every method
follows one selection rule, so SSLDEC too keeps the model with the best validation score
(``train.selection_metric`` on the labelled validation budget) among the end of pre-training and
the end of every round, the same rule as the step loop's validation points; the earlier point wins
a tie. With ``ensemble_size`` > 1 the
prediction is the mean of that many independently seeded models' cluster probabilities (the paper
uses five).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from medssl.core import plots
from medssl.core.config import Fraction, PositiveFloat, PositiveInt
from medssl.core.device import place_network, seed_everything
from medssl.core.errors import ConfigError
from medssl.core.io import torch_load, torch_save
from medssl.core.metrics import selection_key, validation_metrics
from medssl.data.prepared import TrainData
from medssl.methods.base import HistoryRow, Method, RunContext
from medssl.methods.loop import images_to_float
from medssl.methods.registry import register
from medssl.methods.ssldec.algorithm import SSLDECConfig, SSLDECTrainer, one_pixel_translation
from medssl.methods.ssldec.network import SSLDECNetwork

AUGMENTATIONS = ("translation", "none")
CHECKPOINT_FORMAT = 3  # 3: the best validation point is a key (tuple)


@dataclass(frozen=True)
class SSLDECMethodConfig(SSLDECConfig):
    width: PositiveFloat  # channel multiplier of the paper's CNN (1.0 = the paper's 128-256-512)
    dropout: Fraction  # the paper's, after every convolution
    augmentation: str  # the paper's one-pixel translations, or none
    ensemble_size: PositiveInt  # the paper averages 5 models; each costs a full Algorithm 1


def member_seed(seed: int, member: int) -> int:
    return seed * 1000 + member


@register("ssldec")
class SSLDEC(Method[SSLDECMethodConfig]):
    config_class = SSLDECMethodConfig

    def __init__(self, config: SSLDECMethodConfig, info: Any) -> None:
        super().__init__(config, info)
        if config.augmentation not in AUGMENTATIONS:
            raise ConfigError(
                f"methods.ssldec.augmentation is '{config.augmentation}'; use one of "
                f"{', '.join(AUGMENTATIONS)}"
            )
        self.device, self.channels_last = torch.device("cpu"), False
        self.members: list[SSLDECNetwork] = []
        self.val_embeddings: dict[str, np.ndarray] = {}
        self.val_labels: np.ndarray | None = None
        # the current member's best validation point (selection_key) and its weights
        self.best_key: tuple[float, ...] | None = None
        self.best_state: dict[str, torch.Tensor] | None = None

    def build_network(self) -> SSLDECNetwork:
        info, config = self.info, self.config
        return SSLDECNetwork(
            info.channels, info.num_classes, info.image_size, config.width, config.dropout
        )

    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        self.device, self.channels_last = run.device, run.channels_last
        labelled_x = images_to_float(torch.from_numpy(data.labelled_x))
        labelled_y = torch.from_numpy(data.labelled_y)
        unlabelled_x = images_to_float(torch.from_numpy(data.unlabelled_x))
        checkpoint = self._load_checkpoint(run)
        self.members, history = [], []
        for member in range(self.config.ensemble_size):
            trainer = self._trainer(run.seed, member)
            self.best_key, self.best_state = None, None
            if checkpoint and member < len(checkpoint["finished_members"]):
                trainer.model.load_state_dict(checkpoint["finished_members"][member])
                self.members.append(trainer.model)
                continue
            if checkpoint and member == len(checkpoint["finished_members"]):
                trainer.load_state_dict(checkpoint["current"])
                self.best_key = checkpoint["best_key"] and tuple(checkpoint["best_key"])
                self.best_state = checkpoint["best_state"]
                torch.set_rng_state(checkpoint["torch_rng"])  # after _trainer() has seeded its own
                print(f"{run.progress_label}: resumed model {member} from {run.checkpoint_path}")
            progress = tqdm(
                total=self.config.max_rounds,
                initial=len(trainer.history.rounds),
                leave=False,
                desc=f"{run.progress_label} model {member}",
                mininterval=1.0,
            )
            trainer.fit(
                labelled_x,
                labelled_y,
                unlabelled_x,
                after_each=lambda phase, t=trainer, m=member, p=progress: self._after_each(
                    phase, t, m, data, run, p
                ),
            )
            progress.close()
            if self.best_state is not None:
                trainer.model.load_state_dict(self.best_state)
            if member == 0:
                history = self._history_rows(trainer)
                self.val_embeddings["after"] = self._embed(trainer.model, data.val_x)
                self.val_labels = data.val_y
            self.members.append(trainer.model)
        if run.checkpoint_path:
            run.checkpoint_path.unlink(missing_ok=True)
        return history

    def _trainer(self, seed: int, member: int) -> SSLDECTrainer:
        seed_everything(member_seed(seed, member))
        network = place_network(self.build_network(), self.device, self.channels_last)
        augment = one_pixel_translation if self.config.augmentation == "translation" else None
        algorithm = SSLDECConfig(
            **{f.name: getattr(self.config, f.name) for f in dataclasses.fields(SSLDECConfig)}
        )
        return SSLDECTrainer(
            network,
            self.info.num_classes,
            algorithm,
            member_seed(seed, member),
            augment,
            self.device,
        )

    def _after_each(
        self,
        phase: str,
        trainer: SSLDECTrainer,
        member: int,
        data: TrainData,
        run: RunContext,
        progress: tqdm,
    ) -> None:
        probabilities = self._predict_with(trainer.model, data.val_x)
        validation = float(np.mean(probabilities.argmax(axis=1) == data.val_y))
        key = selection_key(run.selection_metric, validation_metrics(data.val_y, probabilities))
        if self.best_key is None or key > self.best_key:  # strict: ties keep the earlier point
            self.best_key = key
            self.best_state = copy.deepcopy(trainer.model.state_dict())
        if phase == "pretrain":
            trainer.history.pretrain_val_accuracy = validation
            if member == 0:
                self.val_embeddings["before"] = self._embed(trainer.model, data.val_x)
        else:
            trainer.history.rounds[-1]["val_accuracy"] = validation
            progress.update(1)
            progress.set_postfix(
                changed=f"{trainer.history.rounds[-1]['changed_fraction']:.3f}",
                val=f"{validation:.3f}",
                refresh=False,
            )
        if run.checkpoint_path:
            torch_save(
                run.checkpoint_path,
                {
                    "format": CHECKPOINT_FORMAT,
                    "finished_members": [network.state_dict() for network in self.members],
                    "current": trainer.state_dict(),
                    "best_key": None if self.best_key is None else list(self.best_key),
                    "best_state": self.best_state,
                    "torch_rng": torch.get_rng_state(),
                    "val_embeddings": {
                        name: torch.from_numpy(value) for name, value in self.val_embeddings.items()
                    },
                    "seconds": self.seconds_so_far(),
                },
            )

    def _load_checkpoint(self, run: RunContext) -> dict[str, Any] | None:
        if run.checkpoint_path is None or not run.checkpoint_path.is_file():
            return None
        state = torch_load(run.checkpoint_path)
        if state.get("format") != CHECKPOINT_FORMAT:
            return None
        self.val_embeddings = {
            name: value.numpy() for name, value in state["val_embeddings"].items()
        }
        self.earlier_seconds = float(state.get("seconds", 0.0))
        return state

    def _history_rows(self, trainer: SSLDECTrainer) -> list[HistoryRow]:
        rows: list[HistoryRow] = [
            {"step": float(epoch + 1), "pretrain_loss": loss}
            for epoch, loss in enumerate(trainer.history.pretrain_loss)
        ]
        if rows:
            rows[-1]["val_accuracy"] = trainer.history.pretrain_val_accuracy
        start = len(trainer.history.pretrain_loss)
        rows += [
            {"step": float(start + index + 1), **report}
            for index, report in enumerate(trainer.history.rounds)
        ]
        return rows

    @torch.no_grad()
    def _embed(
        self, network: SSLDECNetwork, images: np.ndarray, batch_size: int = 512
    ) -> np.ndarray:
        network.eval()
        return torch.cat(
            [
                network.embed(
                    images_to_float(
                        torch.from_numpy(images[start : start + batch_size]).to(self.device)
                    )
                ).cpu()
                for start in range(0, len(images), batch_size)
            ]
        ).numpy()

    @torch.no_grad()
    def _predict_with(
        self, network: SSLDECNetwork, images: np.ndarray, batch_size: int = 512
    ) -> np.ndarray:
        network.eval()
        return (
            torch.cat(
                [
                    network(
                        images_to_float(
                            torch.from_numpy(images[start : start + batch_size]).to(self.device)
                        )
                    ).cpu()
                    for start in range(0, len(images), batch_size)
                ]
            )
            .double()
            .numpy()
        )

    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        probabilities = np.mean(
            [self._predict_with(network, images, batch_size) for network in self.members], axis=0
        )
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        torch_save(
            directory / "weights.pt",
            {f"member_{index}": network.state_dict() for index, network in enumerate(self.members)},
        )

    def load(self, directory: Path, device: torch.device) -> None:
        self.device = device
        state = torch_load(directory / "weights.pt", device)
        self.members = []
        for index in range(len(state)):
            network = self.build_network().to(device)
            network.load_state_dict(state[f"member_{index}"])
            self.members.append(network)

    def write_figures(self, directory: Path, seed: int) -> None:
        """The paper's Figure 7: the validation images' embedding after pre-training and after
        SSLDEC, coloured by their true labels (validation labels, which training may see)."""
        if {"before", "after"} <= set(self.val_embeddings) and self.val_labels is not None:
            plots.embedding_before_after_figure(
                self.val_embeddings["before"],
                self.val_embeddings["after"],
                self.val_labels,
                label_names=self.info.label_names,
                path=directory / f"embedding_seed{seed}.png",
                title=f"ssldec embedding of the validation images, {self.info.name}, seed {seed}",
            )
