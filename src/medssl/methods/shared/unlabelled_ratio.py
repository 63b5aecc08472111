"""Batches of the reference methods from current practice (FixMatch, Mean Teacher): B labelled
images and mu * B unlabelled ones per step (their config's ``batch_size`` and
``unlabelled_ratio``)."""

from __future__ import annotations

from medssl.data.prepared import TrainData
from medssl.methods.base import ConfigT
from medssl.methods.loop import EpochSampler, TorchMethod, unlabelled_pool


class LabelledAndUnlabelledBatches(TorchMethod[ConfigT]):
    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        samplers = super().build_samplers(data, seed)
        samplers["unlabelled"] = EpochSampler(
            unlabelled_pool(data),
            None,
            self.config.batch_size * self.config.unlabelled_ratio,
            seed + 1,
            self.device,
            ranks=self.ranks,
        )
        return samplers
