"""The one small interface every method implements: fit, predict_proba, save, load."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import torch

from medssl.core.distributed import Ranks
from medssl.data.prepared import DatasetInfo, TrainData

# One row of a training history: "step" plus named values (losses, validation scores).
HistoryRow = dict[str, float]
# A method's config: the frozen dataclass its params section is built into (``config_class``).
ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class RunContext:
    """Where and how one (method, seed) training runs; built by the train stage from
    ``params.train``."""

    seed: int
    device: torch.device
    validations: int  # evenly spaced validation points to choose the kept weights from
    checkpoint_every: int
    log_every: int
    eval_batch_size: int
    selection_metric: str
    checkpoint_path: Path | None = None  # resumable state; None disables checkpoints
    progress_label: str = ""
    channels_last: bool = False  # convolution weights in NHWC memory layout (see TrainConfig)
    ranks: Ranks = Ranks()  # this process's place under torchrun; one rank otherwise
    autocast: str = "none"  # "bf16": forward passes of training steps in bfloat16 autocast


class Method(ABC, Generic[ConfigT]):
    """A few-label classifier. Subclasses set ``name`` (by registering) and ``config_class``, and
    name that class as their type parameter (``Method[PcaSvmConfig]``), so ``self.config`` is
    typed."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type]
    # True for methods that read the cluster stage's pseudo-labels (TrainData.pseudo_labels).
    uses_pseudo_labels: ClassVar[bool] = False
    # True for methods that read the features stage's ResNet-20 (TrainData.feature_network).
    uses_feature_network: ClassVar[bool] = False

    def __init__(self, config: ConfigT, info: DatasetInfo) -> None:
        self.config: ConfigT = config
        self.info = info
        # Numbers a method measures while training (e.g. its generator's Fréchet distance): written
        # to the training manifest per seed and summarised, mean ± std, by the evaluate stage.
        self.training_metrics: dict[str, float] = {}
        # Seconds this run spent in earlier, interrupted processes (restored with its checkpoint),
        # so that a resumed training's recorded time counts every segment, not only the last.
        self.earlier_seconds = 0.0
        self._segment_started = time.perf_counter()

    def seconds_so_far(self) -> float:
        """Training seconds of this run: earlier segments plus this process's since it was built."""
        return self.earlier_seconds + time.perf_counter() - self._segment_started

    @abstractmethod
    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        """Train on ``data`` (never the unlabelled pool's labels) and return its history."""

    @abstractmethod
    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, K) for uint8 (N, C, H, W) images."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the fitted model under ``directory``."""

    @abstractmethod
    def load(self, directory: Path, device: torch.device) -> None:
        """Restore a model written by :meth:`save`, ready to predict on ``device``."""

    def write_figures(self, directory: Path, seed: int) -> None:
        """Method-specific figures after training (e.g. a GAN's sample grid); none by default."""
        return

    def evaluation_extras(
        self,
        test: Any,
        val: Any,
        *,
        test_unknown: Any,
        val_unknown: Any,
        plots_dir: Path,
        seed: int,
    ) -> dict[str, float]:
        """Method-specific test metrics beyond the standard ones (e.g. MCGAN's open-set steps) and
        their figures, for one seed; the evaluate stage summarises them over seeds. None by default.
        """
        return {}
