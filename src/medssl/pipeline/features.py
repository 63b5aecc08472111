"""The features stage: a CIFAR ResNet-20 trained on the labelled images with the PLAB-GAN paper's
weighted-distance objective (Liu, Ning & Liu 2022, Sec. 2.1, eq. 1), then used to embed every image.

  models/features/weights.pt, manifest.json   the trained network (DVC cache)
  models/features/feature_network.pt          its ResNet-20 trunk alone (what ucgan, cgan_aug read)
  data/features/features.npz                  embeddings of labelled, unlabelled and val images and
                                              the feature weights (what the cluster stage reads)

What eq. 1 says, as far as the printed text allows: a label is the class whose centre x^i (the mean
feature vector of class i) is nearest to an image's feature vector under a distance weighted by
"feature weights" w^i, and the softmax output p of the network is used to update its weights. The
sum's index is printed as a class index, which makes the formula ill-formed, and the argmin runs
over images. We read it as a weighted nearest-centre classifier and train the network *as* that
classifier:

    logit_k(x) = - sum_d w_d (f_d(x) - c_k,d)^2,   p = softmax(logit),   loss = cross-entropy(p, y)

with f the 64-d ResNet-20 embedding, learnable class centres c_k and learnable positive feature
weights w_d. Training then does what the paper's discussion says it does (pulls images towards their
class centre, "minimising the intra-class distances"), and the cluster stage labels the unlabelled
pool with exactly the distance the network was trained with. This is the prototype classifier of
Snell et al. (2017) with a learnt diagonal metric. The trained w is written next to the features.

ImageNet pre-training (the paper's) is not available offline, and no ImageNet ResNet-20 is published
with torchvision; ``features.pretrained_weights`` loads any compatible ResNet-20 state_dict (e.g.
one trained on CIFAR or on another medical set) before training, when a user has one.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from medssl.core import plots
from medssl.core.config import NonNegativeFloat, PositiveFloat, PositiveInt
from medssl.core.device import configure_backends, configure_threads, pick_device
from medssl.core.errors import ConfigError
from medssl.core.io import ensure_writable, torch_load, torch_save, write_json, write_npz
from medssl.core.metrics import budget_text, selection_key
from medssl.core.optim import adam
from medssl.data.prepared import load_train_data
from medssl.methods.loop import LabelledCrossEntropyMethod, images_to_float
from medssl.models.resnet20 import FEATURE_DIMENSION, ResNet20
from medssl.pipeline.runs import MANIFEST_FILE, TrainConfig, run_context, write_history

FEATURES_FILE = "features.npz"
FEATURE_NETWORK_FILE = "feature_network.pt"


@dataclass(frozen=True)
class FeaturesConfig:
    iterations: PositiveInt
    batch_size: PositiveInt
    learning_rate: PositiveFloat
    weight_decay: NonNegativeFloat
    seed: int
    pretrained_weights: str  # a ResNet-20 state_dict to start from; "" trains from scratch


class WeightedCentreHead(nn.Module):
    """Eq. 1 as a classifier: negative weighted squared distances to learnable class centres."""

    def __init__(self, dimension: int, num_classes: int) -> None:
        super().__init__()
        self.centres = nn.Parameter(0.1 * torch.randn(num_classes, dimension))
        self.log_feature_weights = nn.Parameter(torch.zeros(dimension))

    @property
    def feature_weights(self) -> torch.Tensor:
        return self.log_feature_weights.exp()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return -weighted_squared_distances(features, self.centres, self.feature_weights)


def weighted_squared_distances(
    features: torch.Tensor, centres: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """(N, K) sum_d w_d (f_nd - c_kd)^2."""
    return ((features[:, None, :] - centres[None, :, :]).pow(2) * weights).sum(dim=-1)


class CentreDistanceNetwork(nn.Module):
    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.trunk = ResNet20(in_channels)
        self.head = WeightedCentreHead(FEATURE_DIMENSION, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk.features(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class FeatureExtractor(LabelledCrossEntropyMethod):
    """Trained on the common loop (checkpoints, progress, selection on validation accuracy). It is a
    stage of the pipeline, not a benchmark method, so it is not in the method registry."""

    name = "features"
    config_class = FeaturesConfig

    def build_networks(self) -> dict[str, nn.Module]:
        network = CentreDistanceNetwork(self.info.channels, self.info.num_classes)
        if self.config.pretrained_weights:
            path = Path(self.config.pretrained_weights).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"features.pretrained_weights '{path}' does not exist; give a ResNet-20 "
                    "state_dict or leave it empty to train from scratch"
                )
            network.trunk.load_state_dict(torch_load(path))
        return {self.classifier_name: network}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizer = adam(
            self.classifier().parameters(),
            lr=self.config.learning_rate,
            weight_decay=self.config.weight_decay,
        )
        return {self.classifier_name: optimizer}

    @torch.no_grad()
    def embed(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        network = self.classifier().eval()
        parts = [
            network.features(
                images_to_float(
                    torch.from_numpy(images[start : start + batch_size]).to(self.device)
                )
            )
            # one (empty) batch when every training image is labelled and the pool is empty
            for start in range(0, max(len(images), 1), batch_size)
        ]
        return torch.cat(parts).double().cpu().numpy()

    def feature_weights(self) -> np.ndarray:
        return self.classifier().head.feature_weights.detach().double().cpu().numpy()


def train_feature_extractor(
    config: FeaturesConfig,
    train_config: TrainConfig,
    *,
    prepared_dir: Path,
    models_dir: Path,
    features_dir: Path,
    plots_dir: Path,
) -> dict[str, Any]:
    configure_threads(train_config.num_threads)
    device = pick_device(train_config.device)
    configure_backends(device, train_config.deterministic)
    ensure_writable(
        models_dir, features_dir, plots_dir, Path(train_config.checkpoint_dir) / "features"
    )
    data = load_train_data(prepared_dir)
    extractor = FeatureExtractor(config, data.info)
    started = time.perf_counter()
    history = extractor.fit(
        data,
        run_context("features", config, train_config, data=data, seed=config.seed, device=device),
    )
    seconds = time.perf_counter() - started
    extractor.save(models_dir)
    torch_save(models_dir / FEATURE_NETWORK_FILE, extractor.classifier().trunk.state_dict())
    write_features(
        features_dir / FEATURES_FILE,
        extractor,
        labelled=data.labelled_x,
        unlabelled=data.unlabelled_x,
        val=data.val_x,
    )
    write_history(history, plots_dir, config.seed)
    plots.training_curves(
        {config.seed: history},
        plots_dir / "curves.png",
        f"ResNet-20 features, {data.info.name}, {budget_text(data.info.labels_per_class)}",
    )
    kept = max(
        (row for row in history if "val_auc" in row),
        key=lambda row: selection_key(train_config.selection_metric, row),
    )
    manifest = {
        "config": dataclasses.asdict(config),
        "device": str(device),
        "train_seconds": seconds,
        "kept_step": int(kept["step"]),
        "kept_validation": {key: value for key, value in kept.items() if key.startswith("val_")},
    }
    write_json(models_dir / MANIFEST_FILE, manifest)
    print(
        f"features: ResNet-20 trained in {seconds:.1f} s, kept step {manifest['kept_step']} "
        f"(validation AUC {kept['val_auc']:.3f}, log-loss {kept['val_log_loss']:.3f})"
    )
    return manifest


def write_features(
    path: Path,
    extractor: FeatureExtractor,
    *,
    labelled: np.ndarray,
    unlabelled: np.ndarray,
    val: np.ndarray,
) -> None:
    write_npz(
        path,
        labelled=extractor.embed(labelled),
        unlabelled=extractor.embed(unlabelled),
        val=extractor.embed(val),
        feature_weights=extractor.feature_weights(),
    )
