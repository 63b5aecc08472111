"""One GAN per known class, images classified by AnoGAN's variation score: ``anogan`` and ``mcgan``.

Motamed & Khalvati (2021). ``anogan`` (their DCGAN baseline, Schlegl et al.'s AnoGAN): for each
known class k a DCGAN learns class k alone. ``mcgan``: the same, but D_k also sees real images of
the other known classes, labelled fake (their Figure 1); every step draws a fresh random batch of
them, which is how the paper handles imbalanced classes. D_k's loss is then the sum of three terms,
one per input:
-log D(real k) - log(1 - D(G(z))) - log(1 - D(other class)).

An image x gets a variation score V_k(x) from every class's GAN
(``medssl.methods.shared.variation_score``): low when G_k can reproduce x. With two known classes
the paper classifies with one GAN's score, the one that separates the classes better; here that
choice, and the score threshold, are made on the validation split, and the class probability is
sigmoid((threshold - V_k) / spread). With more known classes the probabilities are softmax(-V /
spread). The open-set step (an unknown class never seen in training, scored by the sum of both GANs'
V) and the paper's tables are in :meth:`evaluation_extras`.

No validation runs during training (each would need a z search per image): the GANs' final weights
are the model, as in the paper.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from medssl.core import plots
from medssl.core.config import Fraction, PositiveFloat, PositiveInt
from medssl.core.io import read_json, read_npz, write_json, write_npz
from medssl.core.metrics import best_threshold, binary_auc
from medssl.core.optim import adam
from medssl.data.images import LabelledImages, balanced_subset
from medssl.data.prepared import TrainData
from medssl.methods.base import HistoryRow, RunContext
from medssl.methods.loop import EpochSampler, TorchMethod, images_to_float
from medssl.methods.shared.losses import discriminator_loss, generator_loss, rejected_loss
from medssl.methods.shared.open_set import open_set_evaluation
from medssl.methods.shared.variation_score import SearchSettings, search_latents
from medssl.models.dcgan import DCGANDiscriminator, DCGANGenerator

CALIBRATION_FILE = "calibration.json"
# The validation scores the calibration used, kept with the weights so that evaluation's step 1
# (which scores the same seeded validation subset) does not repeat their z search.
SCORES_FILE = "scores.npz"


@dataclass(frozen=True)
class PerClassGANConfig:
    iterations: PositiveInt
    batch_size: PositiveInt
    learning_rate: PositiveFloat
    adam_beta1: Fraction
    latent_dim: PositiveInt
    score_steps: PositiveInt  # z-search steps per image (Schlegl et al. use 500)
    score_learning_rate: PositiveFloat
    score_weight: Fraction  # lambda of eqs. 2 and 5
    score_batch_size: PositiveInt  # images searched at once
    # a seeded balanced subset of val, for the choices made on val
    validation_images_per_class: PositiveInt


def _digest(images: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(images).tobytes(), digest_size=16).hexdigest()


class PerClassGAN(TorchMethod[PerClassGANConfig]):
    """Subclasses register it and say whether D_k sees the other known classes as fake."""

    config_class = PerClassGANConfig
    validates_during_training = False
    other_classes_as_fake: bool

    def __init__(self, config: PerClassGANConfig, info: Any) -> None:
        super().__init__(config, info)
        self.calibration: dict[str, Any] = {}
        self._score_cache: dict[str, np.ndarray] = {}
        self.seed = 0

    @property
    def classes(self) -> range:
        return range(self.info.num_classes)

    def build_networks(self) -> dict[str, nn.Module]:
        info, networks = self.info, {}
        for k in self.classes:
            networks[f"generator_{k}"] = DCGANGenerator(
                info.channels, info.image_size, self.config.latent_dim
            )
            networks[f"discriminator_{k}"] = DCGANDiscriminator(info.channels, info.image_size)
        return networks

    def classifier(self) -> nn.Module:  # no single classifier network: predictions come from scores
        return self.networks["discriminator_0"]

    def selected_network_names(self) -> tuple[str, ...]:
        return ()

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.config.adam_beta1, 0.999)
        return {
            name: adam(network.parameters(), lr=self.config.learning_rate, betas=betas)
            for name, network in self.networks.items()
        }

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        self.seed = seed
        samplers = {}
        for k in self.classes:
            rows = data.labelled_y == k
            samplers[f"class_{k}"] = self.sampler(data.labelled_x[rows], None, seed + 1 + k)
            if self.other_classes_as_fake:
                samplers[f"not_class_{k}"] = self.sampler(
                    data.labelled_x[~rows], None, seed + 101 + k
                )
        return samplers

    def noise(self, count: int) -> torch.Tensor:
        global_noise = torch.randn(
            count * self.ranks.world_size, self.config.latent_dim, device=self.device
        )
        return self.this_ranks_share(global_noise)

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        losses = {}
        for k in self.classes:
            d_loss, g_loss = self._gan_step(k)
            losses[f"d_loss_{k}"], losses[f"g_loss_{k}"] = d_loss, g_loss
        return losses

    def _gan_step(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator, discriminator = (
            self.networks[f"generator_{k}"],
            self.networks[f"discriminator_{k}"],
        )
        real = self.samplers[f"class_{k}"].next().images
        fake = generator(self.noise(len(real)))
        parts = [real, fake.detach()]
        if self.other_classes_as_fake:
            parts.append(self.samplers[f"not_class_{k}"].next().images)
        logits = discriminator(torch.cat(parts)).split([len(part) for part in parts])
        d_loss = discriminator_loss(logits[0], logits[1])
        if self.other_classes_as_fake:
            d_loss = d_loss + rejected_loss(logits[2])  # - log(1 - D(other known class))
        self.optimizer_step(f"discriminator_{k}", d_loss)
        # Real and generated images through D together, as in D's update: batch norm sees one batch.
        g_loss = generator_loss(discriminator(torch.cat([real, fake]))[len(real) :])
        self.optimizer_step(f"generator_{k}", g_loss)
        return d_loss.detach(), g_loss.detach()

    # --- scores
    # ------------------------------------------------------------------------------------------

    def settings(self) -> SearchSettings:
        config = self.config
        return SearchSettings(
            config.score_steps,
            config.score_learning_rate,
            config.score_weight,
            config.score_batch_size,
        )

    def scores(self, images: np.ndarray) -> np.ndarray:
        """(N, K) variation scores, V_k(x) from class k's GAN; cached per image set."""
        key = _digest(images)
        if key not in self._score_cache:
            floats = images_to_float(torch.from_numpy(images).to(self.device))
            self._score_cache[key] = np.stack(
                [
                    search_latents(
                        self.networks[f"generator_{k}"],
                        self.networks[f"discriminator_{k}"],
                        floats,
                        settings=self.settings(),
                        seed=self.seed,
                    )[0]
                    .double()
                    .numpy()
                    for k in self.classes
                ],
                axis=1,
            )
        return self._score_cache[key]

    def reconstructions(self, images: np.ndarray, k: int) -> np.ndarray:
        floats = images_to_float(torch.from_numpy(images).to(self.device))
        _, generated = search_latents(
            self.networks[f"generator_{k}"],
            self.networks[f"discriminator_{k}"],
            floats,
            settings=self.settings(),
            seed=self.seed,
        )
        return generated.float().numpy()

    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        history = super().fit(data, run)
        self._calibrate(
            balanced_subset(
                LabelledImages(data.val_x, data.val_y),
                self.config.validation_images_per_class,
                run.seed,
            )
        )
        return history

    def _calibrate(self, val: LabelledImages) -> None:
        """On validation images: each GAN's AUC for its class against the rest (lower V = its
        class), the better GAN and its accuracy-maximising threshold (binary), and the scores'
        spread."""
        scores = self.scores(val.images)
        aucs = [binary_auc(val.labels == k, -scores[:, k]) for k in self.classes]
        selected = int(np.argmax(aucs))
        threshold, _ = best_threshold(val.labels == selected, -scores[:, selected])
        self.calibration = {
            "val_auc_per_gan": aucs,
            "selected_gan": selected,
            "threshold": -threshold,
            "spread": float(np.std(scores) + 1e-12),
            "search_seed": self.seed,
        }

    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        scores, calibration = self.scores(images), self.calibration
        if self.info.num_classes == 2:
            selected = calibration["selected_gan"]
            is_selected = 1.0 / (
                1.0
                + np.exp(-(calibration["threshold"] - scores[:, selected]) / calibration["spread"])
            )
            probabilities = np.empty((len(images), 2))
            probabilities[:, selected], probabilities[:, 1 - selected] = (
                is_selected,
                1.0 - is_selected,
            )
            return probabilities
        logits = -scores / calibration["spread"]
        logits -= logits.max(axis=1, keepdims=True)
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        super().save(directory)
        write_json(directory / CALIBRATION_FILE, self.calibration)
        write_npz(directory / SCORES_FILE, **self._score_cache)

    def load(self, directory: Path, device: torch.device) -> None:
        super().load(directory, device)
        self.calibration = read_json(directory / CALIBRATION_FILE)
        # Test images are then searched from the same seeded starting points as the calibration's.
        self.seed = int(self.calibration.get("search_seed", 0))
        if (directory / SCORES_FILE).is_file():
            self._score_cache = read_npz(directory / SCORES_FILE)

    @torch.no_grad()
    def write_figures(self, directory: Path, seed: int) -> None:
        rows = []
        for k in self.classes:
            noise = torch.randn(
                8, self.config.latent_dim, generator=torch.Generator().manual_seed(seed + k)
            )
            rows.append(
                self.networks[f"generator_{k}"].eval()(noise.to(self.device)).float().cpu().numpy()
            )
        plots.image_grid_figure(
            np.concatenate(rows),
            directory / f"samples_seed{seed}.png",
            f"{self.name}: one row per class's generator ({', '.join(self.info.label_names)}), "
            f"seed {seed}",
        )

    # --- the paper's tables
    # ---------------------------------------------------------------------------

    def evaluation_extras(
        self,
        test: LabelledImages,
        val: LabelledImages,
        *,
        test_unknown: LabelledImages,
        val_unknown: LabelledImages,
        plots_dir: Path,
        seed: int,
    ) -> dict[str, float]:
        """Table 1 (each GAN's AUC, known classes) and, with an unknown class, Table 2's steps."""
        return open_set_evaluation(
            self,
            test,
            val,
            test_unknown=test_unknown,
            val_unknown=val_unknown,
            plots_dir=plots_dir,
            seed=seed,
        )
