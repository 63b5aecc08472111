"""cgan_aug: conditional-GAN augmentation (XRAY-GAN, Chen & Wan, Sec. 4.1; Mirza & Osindero 2014).

Phase 1 (``gan_iterations`` steps): a conditional DCGAN on the labelled images. The label enters G
with the noise and D as one-hot input planes. With ``use_unlabelled`` the unlabelled pool trains the
same discriminator too, with its label planes all zero ("label unknown"), against generated images
also shown without their label: the pool teaches D (and through it G) what real images look like,
the labelled images what each class looks like. Adam lr 2e-4, beta1 0.5: the paper's CGAN settings.

Phase 2 (``classifier_iterations`` steps): ``generated_per_class`` images of every class are drawn
once from the trained generator, and a classifier (the ``supervised_cnn`` network and settings, so
the comparison with that baseline isolates the generated images) trains on batches of real labelled
images plus batches of generated ones, whose loss counts ``generated_weight`` times.

The generator's quality is reported as its Fréchet distance to the training images in the features
stage's ResNet-20 embedding (``generation_quality``), plus a sample grid with one row per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from medssl.core import plots
from medssl.core.config import (
    Fraction,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from medssl.core.errors import ConfigError
from medssl.core.optim import adam
from medssl.data.prepared import TrainData
from medssl.methods.base import HistoryRow, RunContext
from medssl.methods.loop import EpochSampler, TorchMethod
from medssl.methods.registry import register
from medssl.methods.shared.generation_quality import generator_quality
from medssl.methods.shared.losses import discriminator_loss, generator_loss
from medssl.models.cnn import PlabCNN
from medssl.models.dcgan import DCGANDiscriminator, DCGANGenerator

UNKNOWN_LABEL = -1  # all-zero label planes: the discriminator is not told the class
SAMPLES_PER_CLASS_IN_GRID = 8


@dataclass(frozen=True)
class CGANAugConfig:
    gan_iterations: PositiveInt
    classifier_iterations: PositiveInt
    batch_size: PositiveInt
    gan_learning_rate: PositiveFloat
    gan_adam_beta1: Fraction
    latent_dim: PositiveInt
    use_unlabelled: bool  # the unlabelled pool as 'label unknown' real images for D
    generated_per_class: NonNegativeInt
    generated_weight: NonNegativeFloat  # loss weight of a generated image relative to a real one
    learning_rate: PositiveFloat  # the classifier's
    adam_beta1: Fraction
    dropout: Fraction

    @property
    def iterations(self) -> int:
        return self.gan_iterations + self.classifier_iterations


@register("cgan_aug")
class CGANAugmentation(TorchMethod[CGANAugConfig]):
    config_class = CGANAugConfig
    uses_feature_network = True
    batch_norm_from_real_images = True

    def __init__(self, config: CGANAugConfig, info: object) -> None:
        super().__init__(config, info)
        if config.generated_per_class < 1 or config.generated_weight < 0:
            raise ConfigError(
                "methods.cgan_aug needs generated_per_class >= 1 and generated_weight >= 0"
            )
        self.generated: tuple[torch.Tensor, torch.Tensor] | None = None
        self.seed = 0

    def build_networks(self) -> dict[str, nn.Module]:
        info, config = self.info, self.config
        return {
            "generator": DCGANGenerator(
                info.channels, info.image_size, config.latent_dim, info.num_classes
            ),
            "discriminator": DCGANDiscriminator(info.channels, info.image_size, info.num_classes),
            self.classifier_name: PlabCNN(
                info.channels, info.num_classes, info.image_size, config.dropout
            ),
        }

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        gan_betas, betas = (self.config.gan_adam_beta1, 0.999), (self.config.adam_beta1, 0.999)
        return {
            "generator": adam(
                self.networks["generator"].parameters(),
                self.config.gan_learning_rate,
                betas=gan_betas,
            ),
            "discriminator": adam(
                self.networks["discriminator"].parameters(),
                self.config.gan_learning_rate,
                betas=gan_betas,
            ),
            self.classifier_name: adam(
                self.classifier().parameters(), self.config.learning_rate, betas=betas
            ),
        }

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        self.seed = seed
        samplers = super().build_samplers(data, seed)
        if self.config.use_unlabelled and len(data.unlabelled_x):
            samplers["unlabelled"] = self.sampler(data.unlabelled_x, None, seed + 1)
        return samplers

    def noise_and_labels(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        world = self.ranks.world_size
        noise = torch.randn(count * world, self.config.latent_dim, device=self.device)
        labels = torch.randint(self.info.num_classes, (count * world,), device=self.device)
        return self.this_ranks_share(noise), self.this_ranks_share(labels)

    def classifier_start_step(self) -> int:
        return self.config.gan_iterations

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        if step < self.config.gan_iterations:
            return self._gan_step()
        return self._classifier_step(step)

    def _gan_step(self) -> dict[str, torch.Tensor]:
        generator, discriminator = self.networks["generator"], self.networks["discriminator"]
        labelled = self.samplers["labelled"].next()
        noise, fake_labels = self.noise_and_labels(len(labelled.images))
        fake = generator(noise, fake_labels)
        real_images, real_labels = [labelled.images], [labelled.labels]
        fake_shown_as = [fake_labels]
        if "unlabelled" in self.samplers:
            pool = self.samplers["unlabelled"].next().images
            real_images.append(pool)
            real_labels.append(torch.full((len(pool),), UNKNOWN_LABEL, device=self.device))
            fake_shown_as.append(torch.full_like(fake_labels, UNKNOWN_LABEL))
        real_images, real_labels = torch.cat(real_images), torch.cat(real_labels)
        fake_labels_shown = torch.cat(fake_shown_as)
        fakes = fake.repeat(len(fake_shown_as), 1, 1, 1)
        # Real and generated images go through D in one pass, in both updates: with batch norm, a
        # batch of generated images alone is normalised by its own statistics, which G learns to
        # exploit.
        all_labels = torch.cat([real_labels, fake_labels_shown])
        logits = discriminator(torch.cat([real_images, fakes.detach()]), all_labels)
        d_loss = discriminator_loss(logits[: len(real_images)], logits[len(real_images) :])
        self.optimizer_step("discriminator", d_loss)
        g_loss = generator_loss(
            discriminator(torch.cat([real_images, fakes]), all_labels)[len(real_images) :]
        )
        self.optimizer_step("generator", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    @torch.no_grad()
    def _generate_training_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every class's images, drawn once from a generator seeded by the run's seed: a resumed run
        draws the same set without storing it."""
        generator = self.networks["generator"].eval()
        labels = torch.arange(self.info.num_classes).repeat_interleave(
            self.config.generated_per_class
        )
        noise = torch.randn(
            len(labels), self.config.latent_dim, generator=torch.Generator().manual_seed(self.seed)
        )
        images = torch.cat(
            [
                generator(
                    noise[start : start + 500].to(self.device),
                    labels[start : start + 500].to(self.device),
                )
                for start in range(0, len(labels), 500)
            ]
        )
        generator.train()
        return images, labels.to(self.device)

    def _classifier_step(self, step: int) -> dict[str, torch.Tensor]:
        if self.generated is None:
            self.generated = self._generate_training_set()
        images, labels = self.generated
        labelled = self.samplers["labelled"].next()
        # Rows drawn from a generator keyed by the step: reproducible, and nothing to checkpoint.
        count = len(labelled.images) * self.ranks.world_size
        rows = torch.randint(
            len(images),
            (count,),
            generator=torch.Generator().manual_seed(self.seed * 1_000_003 + step),
        )
        rows = self.this_ranks_share(rows).to(self.device)
        logits = self.classifier()(torch.cat([labelled.images, images[rows]]))
        real_loss = F.cross_entropy(logits[: len(labelled.images)], labelled.labels)
        generated_loss = F.cross_entropy(logits[len(labelled.images) :], labels[rows])
        loss = real_loss + self.config.generated_weight * generated_loss
        self.optimizer_step(self.classifier_name, loss)
        return {"classifier_loss": loss.detach(), "generated_loss": generated_loss.detach()}

    def prepare(self, data: TrainData, run: RunContext) -> None:
        self.generated = None
        super().prepare(data, run)

    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        history = super().fit(data, run)
        self.training_metrics.update(generator_quality(data, self._sample, self.seed))
        return history

    @torch.no_grad()
    def _sample(self, count: int) -> torch.Tensor:
        generator = self.networks["generator"].eval()
        labels = torch.randint(self.info.num_classes, (count,), device=self.device)
        return generator(torch.randn(count, self.config.latent_dim, device=self.device), labels)

    @torch.no_grad()
    def write_figures(self, directory: Path, seed: int) -> None:
        generator = self.networks["generator"].eval()
        labels = torch.arange(self.info.num_classes).repeat_interleave(SAMPLES_PER_CLASS_IN_GRID)
        noise = torch.randn(
            len(labels), self.config.latent_dim, generator=torch.Generator().manual_seed(seed)
        )
        samples = generator(noise.to(self.device), labels.to(self.device)).float().cpu().numpy()
        plots.image_grid_figure(
            samples,
            directory / f"samples_seed{seed}.png",
            f"cgan_aug samples, one row per class ({', '.join(self.info.label_names)}), "
            f"{self.info.name}, seed {seed}",
            columns=SAMPLES_PER_CLASS_IN_GRID,
        )
