"""The K+1 semi-supervised GAN of Salimans et al. (2016), shared by ``ssgan``, ``plabgan`` and
``patch_ssgan``.

A discriminator with K real-class logits (the fake class's logit fixed at 0) trained on labelled
images (cross-entropy), unlabelled images (real) and generated images (fake); a generator trained by
feature matching; weight normalisation and input noise in the discriminator; predictions from an
exponential moving average (EMA) of the discriminator's weights.

    l_d = l_label + alpha * l_unlabel + beta * l_gen          (PLAB-GAN eqs. 5-8)

alpha = beta = 0.5 is exactly Salimans et al.'s weighting (their code halves both unsupervised
terms).

The labelled, unlabelled and generated batches go through the discriminator in one forward pass, so
its batch norm sees one batch statistic (separate fake-only batches would let it tell real from fake
by their batch statistics alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from medssl.core import plots
from medssl.core.config import Fraction, NonNegativeFloat, PositiveFloat, PositiveInt
from medssl.core.errors import ConfigError
from medssl.core.optim import adam
from medssl.data.prepared import TrainData
from medssl.methods.base import ConfigT
from medssl.methods.loop import (
    Batch,
    EpochSampler,
    TorchMethod,
    batch_norm_layers,
    images_to_float,
    unlabelled_pool,
)
from medssl.methods.shared.losses import (
    feature_matching_loss,
    generated_fake_loss,
    labelled_loss,
    unlabelled_real_loss,
)
from medssl.models.cnn import PlabCNN
from medssl.models.gan import PlabGenerator, SalimansMLPDiscriminator, SalimansMLPGenerator
from medssl.models.weight_norm_init import initialise_weight_norm_from_data

NETWORKS = ("plab_cnn", "salimans_mlp")
SAMPLE_GRID_SIZE = 64
WEIGHT_NORM_INIT_IMAGES = 500  # Salimans et al. initialise from one batch of 500 real images


@dataclass(frozen=True)
class SemiSupervisedGANConfig:
    iterations: PositiveInt
    batch_size: PositiveInt  # labelled, unlabelled and generated images per step
    learning_rate: PositiveFloat
    adam_beta1: Fraction
    alpha: NonNegativeFloat  # weight of l_unlabel
    beta: NonNegativeFloat  # weight of l_gen
    network: str  # plab_cnn, or salimans_mlp (the MLP of Salimans et al.'s MNIST experiment)
    latent_dim: PositiveInt
    dropout: Fraction
    input_noise: NonNegativeFloat  # std of the discriminator's input noise, images in [-1, 1]
    ema_decay: Fraction  # 0 evaluates the raw discriminator
    generator_steps: PositiveInt  # generator updates per discriminator update


class SemiSupervisedGAN(TorchMethod[ConfigT]):
    """The training step and networks; subclasses register it, and may add targets for the
    unlabelled images (PLAB-GAN's pseudo-labels), other networks or augmentation (the patch
    SSL-GAN)."""

    classifier_name = "ema"
    batch_norm_from_real_images = True
    features_in_one_pass = True  # set from the discriminator before training

    def build_networks(self) -> dict[str, nn.Module]:
        if self.config.network not in NETWORKS:
            raise ConfigError(
                f"methods.{self.name}.network is '{self.config.network}'; use one of "
                f"{', '.join(NETWORKS)}"
            )
        info, config = self.info, self.config
        if config.network == "plab_cnn":
            discriminator = PlabCNN(
                info.channels,
                info.num_classes,
                info.image_size,
                config.dropout,
                use_weight_norm=True,
                input_noise=config.input_noise,
            )
            generator = PlabGenerator(info.channels, info.image_size, config.latent_dim)
        else:
            discriminator = SalimansMLPDiscriminator(
                info.channels, info.num_classes, info.image_size
            )
            generator = SalimansMLPGenerator(info.channels, info.image_size, config.latent_dim)
        ema = AveragedModel(
            discriminator, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
        )
        return {"discriminator": discriminator, "generator": generator, "ema": ema}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.config.adam_beta1, 0.999)
        return {
            name: adam(self.networks[name].parameters(), lr=self.config.learning_rate, betas=betas)
            for name in ("discriminator", "generator")
        }

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        samplers = super().build_samplers(data, seed)
        labels, weights = self.unlabelled_targets(data)
        if not len(data.unlabelled_x) and labels is not None:
            # No pool to pseudo-label: the labelled images are already in the labelled term.
            labels, weights = data.labelled_y, np.zeros(len(data.labelled_y))
        # With every training image labelled, the labelled images are the real data of the
        # unsupervised terms, as in Salimans et al., whose unlabelled set is the whole train set.
        samplers["unlabelled"] = self.sampler(
            unlabelled_pool(data), labels, seed + 1, weights=weights
        )
        return samplers

    def initialise_from_data(self, data: TrainData) -> None:
        images = torch.from_numpy(unlabelled_pool(data)[:WEIGHT_NORM_INIT_IMAGES]).to(self.device)
        discriminator = self.networks["discriminator"]
        # Batch norm ties each row's features to the whole batch, so the generator's step must
        # then pass real and generated images together, as the discriminator's step does.
        self.features_in_one_pass = bool(batch_norm_layers(discriminator))
        initialise_weight_norm_from_data(
            discriminator,
            images_to_float(images),
            with_noise=getattr(discriminator, "initialise_with_noise", False),
        )

    def unlabelled_targets(self, data: TrainData) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(labels, weights) the unlabelled sampler carries: none for SSGAN."""
        return None, None

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """Augmentation of the real batches; none for Salimans et al.'s and PLAB-GAN's setting."""
        return images

    def noise(self, count: int) -> torch.Tensor:
        """``count`` latent vectors: this rank's share of one draw of the global batch's."""
        global_noise = torch.randn(
            count * self.ranks.world_size, self.config.latent_dim, device=self.device
        )
        return self.this_ranks_share(global_noise)

    def discriminator_terms(
        self,
        *,
        labelled: Batch,
        labelled_logits: torch.Tensor,
        unlabelled: Batch,
        unlabelled_logits: torch.Tensor,
        generated_logits: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        return {
            "l_label": labelled_loss(labelled_logits, labelled.labels),
            "l_unlabel": unlabelled_real_loss(unlabelled_logits),
            "l_gen": generated_fake_loss(generated_logits),
        }

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        discriminator, generator = self.networks["discriminator"], self.networks["generator"]
        labelled, unlabelled = self.samplers["labelled"].next(), self.samplers["unlabelled"].next()
        labelled_images, unlabelled_images = (
            self.augment(labelled.images),
            self.augment(unlabelled.images),
        )
        # One generated batch serves both updates: G does not change between them, so this is the
        # same distribution as sampling again, for one generator forward pass less.
        generated = generator(self.noise(len(unlabelled.images)))
        logits = discriminator(torch.cat([labelled_images, unlabelled_images, generated.detach()]))
        labelled_logits, unlabelled_logits, generated_logits = logits.split(
            [len(labelled.images), len(unlabelled.images), len(generated)]
        )
        terms = self.discriminator_terms(
            labelled=labelled,
            labelled_logits=labelled_logits,
            unlabelled=unlabelled,
            unlabelled_logits=unlabelled_logits,
            generated_logits=generated_logits,
        )
        d_loss = (
            terms["l_label"]
            + self.config.alpha * terms["l_unlabel"]
            + self.config.beta * terms["l_gen"]
        )
        self.optimizer_step("discriminator", d_loss)
        for generator_step in range(self.config.generator_steps):
            if generator_step:
                generated = generator(self.noise(len(unlabelled.images)))
            g_loss = self._feature_matching_step(discriminator, generated, unlabelled_images)
        self.networks["ema"].update_parameters(discriminator)
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            **{k: v.detach() for k, v in terms.items()},
        }

    def _feature_matching_step(
        self, discriminator: nn.Module, generated: torch.Tensor, real_images: torch.Tensor
    ) -> torch.Tensor:
        g_loss = feature_matching_loss(
            *self.matched_features(discriminator, real_images, generated)
        )
        self.optimizer_step("generator", g_loss)
        return g_loss

    def matched_features(
        self, discriminator: nn.Module, real_images: torch.Tensor, generated: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(real features, constants of the loss; generated features, with their graph)."""
        if self.features_in_one_pass:
            # Autograd then also backpropagates through the real rows, for nothing.
            features = discriminator.features(torch.cat([real_images, generated]))
            real_features, generated_features = features.split([len(real_images), len(generated)])
            return real_features.detach(), generated_features
        # Rows are independent: the real features need no graph (Salimans et al.'s code computes
        # them in a pass of their own too).
        with torch.no_grad():
            real_features = discriminator.features(real_images)
        return real_features, discriminator.features(generated)

    @torch.no_grad()
    def write_figures(self, directory: Path, seed: int) -> None:
        generator = self.networks["generator"].eval()
        noise = torch.randn(
            SAMPLE_GRID_SIZE, self.config.latent_dim, generator=torch.Generator().manual_seed(seed)
        ).to(self.device)
        samples = generator(noise).float().cpu().numpy()
        plots.image_grid_figure(
            samples,
            directory / f"samples_seed{seed}.png",
            f"{self.name} generator samples, {self.info.name}, seed {seed}",
        )
