"""ucgan: the unconditional score-guided GAN of XRAY-GAN (Chen & Wan, Sec. 4.2, Figure 2, eqs.
7-11).

An unconditional DCGAN (G, D) and a classifier C train together. Each step:

* D (weight lambda): the real/fake loss on real images (labelled + unlabelled batch) and G's images;
* G (weight delta on its GAN loss) plus the regularisers of eq. 10, all computed through C or the
  loss network: alpha * L_IS (eq. 7, no exponential; alpha < 0 rewards confident, diverse images),
  beta * MMD between C's class probabilities on a real and a generated batch (eq. 8, Gaussian
  kernel), eta * the Gram-matrix style loss between generated and real images (eq. 9);
* C (weight tau): cross-entropy on the labelled batch plus, with weight xi, cross-entropy on the
  generated images whose top class probability under C exceeds the threshold t, labelled with that
  class (pseudo-labelling, Lee 2013).

Where the paper leaves things out, and what is done here:

* The loss network. The paper uses an ImageNet VGG, not available offline; the features stage's
  ResNet-20 (trained on this experiment's labelled images, frozen) stands in: its three stage
  outputs are the style layers.
* gamma weighs losses on a style-transferred image I-hat, which needs Johnson et al.'s image
  transformation network; the paper does not describe it and it is not built here, so gamma must be
  0.
* The regularisers train G only: they are "scores" that guide the generator; C learns from labels
  and pseudo-labels alone.
* The G:D schedule "3:1 at first, then flipped, finally 1:1": ``update_schedule`` lists (fraction of
  the run where a phase starts, G updates, D updates); the paper gives no switch points, thirds
  here.
* C is the ``supervised_cnn`` network (the paper's ResNet-50 is out of reach of a CPU), G and D are
  DCGAN's; Adam with the paper's learning rates (G 5e-4, D 1e-3, C 5e-4), L2 weight decay 1e-3 and
  batch 12; beta1 0.5 as DCGAN (the paper does not say).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from medssl.core import plots
from medssl.core.config import Fraction, NonNegativeFloat, PositiveFloat, PositiveInt
from medssl.core.errors import ConfigError
from medssl.core.optim import adam
from medssl.data.prepared import TrainData
from medssl.methods.base import HistoryRow, RunContext
from medssl.methods.loop import EpochSampler, TorchMethod, unlabelled_pool
from medssl.methods.registry import register
from medssl.methods.shared.generation_quality import generator_quality
from medssl.methods.shared.losses import discriminator_loss, generator_loss
from medssl.methods.ucgan.losses import gaussian_mmd, inception_style_score, style_loss
from medssl.models.cnn import PlabCNN
from medssl.models.dcgan import DCGANDiscriminator, DCGANGenerator

SAMPLE_GRID_SIZE = 64


@dataclass(frozen=True)
class UCGANConfig:
    iterations: PositiveInt
    batch_size: PositiveInt
    latent_dim: PositiveInt
    generator_learning_rate: PositiveFloat  # the paper's base learning rates
    discriminator_learning_rate: PositiveFloat
    classifier_learning_rate: PositiveFloat
    adam_beta1: Fraction  # DCGAN's; the paper does not give it
    weight_decay: NonNegativeFloat  # the paper's L2
    alpha: float  # L_IS (eq. 10)
    beta: NonNegativeFloat  # MMD
    # losses on a style-transferred image (paper 0.001): not built, must be 0
    gamma: NonNegativeFloat
    eta: NonNegativeFloat  # Gram style loss (eq. 9)
    delta: NonNegativeFloat  # G's GAN loss (eq. 11)
    lambda_d: NonNegativeFloat  # D's GAN loss (the paper's lambda)
    tau: NonNegativeFloat  # C's loss
    xi: NonNegativeFloat  # weight of pseudo-labelled generated images in C's loss
    threshold: Fraction  # t: minimum top-class probability for a generated image's pseudo-label
    update_schedule: tuple[tuple[float, ...], ...]
    dropout: Fraction


@register("ucgan")
class UCGAN(TorchMethod[UCGANConfig]):
    config_class = UCGANConfig
    uses_feature_network = True
    batch_norm_from_real_images = True

    def __init__(self, config: UCGANConfig, info: object) -> None:
        super().__init__(config, info)
        if config.gamma != 0.0:
            raise ConfigError(
                "methods.ucgan.gamma weighs losses on a style-transferred image, which needs a "
                "transformation network the paper does not describe; it is not implemented: "
                "set it to 0"
            )
        starts = [phase[0] for phase in config.update_schedule]
        if (
            not config.update_schedule
            or starts[0] != 0.0
            or starts != sorted(starts)
            or any(
                len(phase) != 3 or phase[1] < 0 or phase[2] < 0 for phase in config.update_schedule
            )
        ):
            raise ConfigError(
                "methods.ucgan.update_schedule must list [start fraction, G updates, D updates] "
                "phases, the first starting at 0.0, in order"
            )
        self.loss_network: nn.Module | None = None
        self.seed = 0

    def build_networks(self) -> dict[str, nn.Module]:
        info = self.info
        return {
            "generator": DCGANGenerator(info.channels, info.image_size, self.config.latent_dim),
            "discriminator": DCGANDiscriminator(info.channels, info.image_size),
            self.classifier_name: PlabCNN(
                info.channels, info.num_classes, info.image_size, self.config.dropout
            ),
        }

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        config, betas = self.config, (self.config.adam_beta1, 0.999)
        rates = {
            "generator": config.generator_learning_rate,
            "discriminator": config.discriminator_learning_rate,
            self.classifier_name: config.classifier_learning_rate,
        }
        return {
            name: adam(
                self.networks[name].parameters(),
                rate,
                betas=betas,
                weight_decay=config.weight_decay,
            )
            for name, rate in rates.items()
        }

    def build_samplers(self, data: TrainData, seed: int) -> dict[str, EpochSampler]:
        self.seed = seed
        samplers = super().build_samplers(data, seed)
        samplers["unlabelled"] = self.sampler(unlabelled_pool(data), None, seed + 1)
        return samplers

    def prepare(self, data: TrainData, run: RunContext) -> None:
        if data.feature_network is None and self.config.eta:
            raise ConfigError(
                "ucgan's style loss needs the features stage's ResNet-20 (--features-model)"
            )
        self.loss_network = data.feature_network
        super().prepare(data, run)

    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        history = super().fit(data, run)
        self.training_metrics.update(generator_quality(data, self._sample, self.seed))
        return history

    def updates_at(self, step: int) -> tuple[int, int]:
        """(G updates, D updates) of the schedule's phase that ``step`` falls in."""
        fraction = step / max(self.config.iterations, 1)
        phase = [p for p in self.config.update_schedule if p[0] <= fraction][-1]
        return int(phase[1]), int(phase[2])

    def noise(self, count: int) -> torch.Tensor:
        global_noise = torch.randn(
            count * self.ranks.world_size, self.config.latent_dim, device=self.device
        )
        return self.this_ranks_share(global_noise)

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        generator_updates, discriminator_updates = self.updates_at(step)
        labelled, pool = self.samplers["labelled"].next(), self.samplers["unlabelled"].next()
        real = torch.cat([labelled.images, pool.images])
        losses: dict[str, torch.Tensor] = {}
        for _ in range(discriminator_updates):
            losses["d_loss"] = self._discriminator_update(real)
        if generator_updates:
            targets = self._real_targets(real)  # the real images' style, once for all G updates
        for _ in range(generator_updates):
            losses.update(self._generator_update(real, targets))
        losses.update(self._classifier_update(labelled.images, labelled.labels, len(pool.images)))
        return losses

    def _discriminator_update(self, real: torch.Tensor) -> torch.Tensor:
        fake = self.networks["generator"](self.noise(len(real))).detach()
        logits = self.networks["discriminator"](torch.cat([real, fake]))
        loss = self.config.lambda_d * discriminator_loss(logits[: len(real)], logits[len(real) :])
        self.optimizer_step("discriminator", loss)
        return loss.detach()

    @torch.no_grad()
    def _real_targets(self, real: torch.Tensor) -> dict[str, object]:
        targets: dict[str, object] = {}
        if self.config.eta:
            targets["style"] = self.loss_network.stage_activations(real)
        return targets

    def _generator_update(
        self, real: torch.Tensor, targets: dict[str, object]
    ) -> dict[str, torch.Tensor]:
        config = self.config
        fake = self.networks["generator"](self.noise(len(real)))
        # Real and generated images through D together, as in D's update: batch norm sees one batch.
        gan = generator_loss(self.networks["discriminator"](torch.cat([real, fake]))[len(real) :])
        terms = {"g_gan": gan}
        if config.alpha or config.beta:
            probabilities = torch.softmax(self.classifier()(torch.cat([real, fake])).float(), dim=1)
            real_probabilities, fake_probabilities = (
                probabilities[: len(real)].detach(),
                probabilities[len(real) :],
            )
            terms["inception_score"] = inception_style_score(fake_probabilities)
            terms["mmd"] = gaussian_mmd(real_probabilities, fake_probabilities)
        if config.eta:
            terms["style"] = style_loss(self.loss_network.stage_activations(fake), targets["style"])
        loss = config.delta * gan
        loss = (
            loss
            + config.alpha * terms.get("inception_score", 0.0)
            + config.beta * terms.get("mmd", 0.0)
        )
        loss = loss + config.eta * terms.get("style", 0.0)
        self.optimizer_step("generator", loss)
        return {"g_loss": loss.detach(), **{name: value.detach() for name, value in terms.items()}}

    def _classifier_update(
        self, images: torch.Tensor, labels: torch.Tensor, generated_count: int
    ) -> dict[str, torch.Tensor]:
        fake = self.networks["generator"](self.noise(generated_count)).detach()
        logits = self.classifier()(torch.cat([images, fake]))
        real_logits, fake_logits = logits[: len(images)], logits[len(images) :]
        confidence, pseudo_labels = torch.softmax(fake_logits.detach().float(), dim=1).max(dim=1)
        accepted = (confidence > self.config.threshold).float()
        per_image = F.cross_entropy(fake_logits.float(), pseudo_labels, reduction="none")
        generated_loss = (per_image * accepted).sum() / accepted.sum().clamp_min(1.0)
        loss = self.config.tau * (
            F.cross_entropy(real_logits, labels) + self.config.xi * generated_loss
        )
        self.optimizer_step(self.classifier_name, loss)
        return {"c_loss": loss.detach(), "pseudo_labelled_share": accepted.mean()}

    @torch.no_grad()
    def _sample(self, count: int) -> torch.Tensor:
        return self.networks["generator"].eval()(
            torch.randn(count, self.config.latent_dim, device=self.device)
        )

    @torch.no_grad()
    def write_figures(self, directory: Path, seed: int) -> None:
        """Samples sorted by the class C gives them: the unconditional GAN's 'per class' grid."""
        generator, classifier = self.networks["generator"].eval(), self.classifier().eval()
        noise = torch.randn(
            SAMPLE_GRID_SIZE, self.config.latent_dim, generator=torch.Generator().manual_seed(seed)
        )
        samples = generator(noise.to(self.device))
        predicted = classifier(samples).argmax(dim=1).cpu()
        order = torch.argsort(predicted, stable=True)
        counts = ", ".join(
            f"{name} {int((predicted == k).sum())}" for k, name in enumerate(self.info.label_names)
        )
        plots.image_grid_figure(
            samples.float().cpu().numpy()[order.numpy()],
            directory / f"samples_seed{seed}.png",
            f"ucgan samples sorted by C's class ({counts}), {self.info.name}, seed {seed}",
        )
