"""The train stage: fit one method once per seed and write its models, histories and curves.

  models/<method>/manifest.json, models/<method>/seed_<s>/...   fitted models (DVC cache)
  plots/train/<method>/train_seed<s>.csv, val_seed<s>.csv, curves.png, the method's own figures

A method reads the prepared images and, from ``data/inputs/<method>/`` (the inputs stage), only the
pipeline products it uses: the cluster stage's pseudo-labels, the features stage's ResNet-20.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from medssl.core import plots
from medssl.core.device import configure_backends, configure_threads, pick_device
from medssl.core.distributed import barrier, device_for_rank
from medssl.core.distributed import initialise as initialise_ranks
from medssl.core.errors import ConfigError
from medssl.core.io import ensure_writable, torch_load, write_json
from medssl.data.prepared import TrainData, existing_file, load_pseudo_labels, load_train_data
from medssl.methods.base import HistoryRow
from medssl.methods.loop import TorchMethod
from medssl.methods.registry import create_method, method_class, method_config
from medssl.models.resnet20 import ResNet20
from medssl.pipeline.runs import (
    MANIFEST_FILE,
    TrainConfig,
    run_context,
    seed_directory,
    write_history,
)

# What the inputs stage puts in data/inputs/<method>/ for a method that reads it.
PSEUDO_LABELS_INPUT = "pseudo_labels.npz"
FEATURE_NETWORK_INPUT = "feature_network.pt"


def train_method(
    name: str,
    method_values: Mapping[str, Any],
    train_config: TrainConfig,
    prepared_dir: Path,
    inputs_dir: Path,
    models_dir: Path,
    plots_dir: Path,
) -> dict[str, Any]:
    """Fit ``name`` once per seed in ``train_config.seeds``; write models, histories and curves.

    Under torchrun every rank trains (data-parallel, see ``medssl.core.distributed``) and rank 0
    writes."""
    configure_threads(train_config.num_threads)
    ranks = initialise_ranks(pick_device(train_config.device))
    device = device_for_rank(pick_device(train_config.device), ranks)
    configure_backends(device, train_config.deterministic)
    if ranks.is_distributed and not issubclass(method_class(name), TorchMethod):
        raise ConfigError(
            f"{name} does not train on the step loop, so it cannot run under torchrun; "
            "run its train stage as one process"
        )
    config = method_config(name, method_values)
    ensure_writable(models_dir, plots_dir, Path(train_config.checkpoint_dir) / name)
    data = with_pipeline_inputs(name, load_train_data(prepared_dir), inputs_dir, device)
    histories: dict[int, list[HistoryRow]] = {}
    seconds: dict[str, float] = {}
    training_metrics: dict[str, dict[str, float]] = {}
    for seed in train_config.seeds:
        method = create_method(name, method_values, data.info)
        histories[seed] = method.fit(
            data, run_context(name, config, train_config, data, seed, device, ranks)
        )
        seconds[f"seed_{seed}"] = method.seconds_so_far()
        if method.training_metrics:
            training_metrics[f"seed_{seed}"] = dict(method.training_metrics)
        if not ranks.is_main:
            continue
        method.save(seed_directory(models_dir, seed))
        method.write_figures(plots_dir, seed)
        write_history(histories[seed], plots_dir, seed)
        print(f"{name} seed {seed}: trained in {seconds[f'seed_{seed}']:.1f} s on {device}")
    manifest = {
        "method": name,
        "seeds": list(train_config.seeds),
        "config": dataclasses.asdict(config),
        "device": str(device),
        "torch": torch.__version__,
        "train_seconds": seconds,
    }
    if training_metrics:
        manifest["training_metrics"] = training_metrics
    if ranks.is_distributed:
        manifest["world_size"] = ranks.world_size
    if ranks.is_main:
        write_json(models_dir / MANIFEST_FILE, manifest)
        plots.training_curves(
            histories,
            plots_dir / "curves.png",
            f"{name} on {data.info.name}, {data.info.labels_per_class} labels/class",
        )
    barrier(ranks)
    return manifest


def with_pipeline_inputs(
    name: str, data: TrainData, inputs_dir: Path, device: torch.device
) -> TrainData:
    """``data`` plus the pipeline products method ``name`` reads, from its inputs folder."""
    method = method_class(name)
    if method.uses_pseudo_labels:
        data = dataclasses.replace(
            data,
            pseudo_labels=load_pseudo_labels(
                existing_file(inputs_dir / PSEUDO_LABELS_INPUT, f"inputs@{name}")
            ),
        )
    if method.uses_feature_network:
        trunk = load_feature_network(
            existing_file(inputs_dir / FEATURE_NETWORK_INPUT, f"inputs@{name}"),
            data.info.channels,
            device,
        )
        data = dataclasses.replace(data, feature_network=trunk)
    return data


def load_feature_network(path: Path, channels: int, device: torch.device) -> torch.nn.Module:
    """The features stage's ResNet-20 trunk, frozen, in eval mode."""
    trunk = ResNet20(channels).to(device)
    trunk.load_state_dict(torch_load(path, device))
    trunk.eval()
    for parameter in trunk.parameters():
        parameter.requires_grad_(False)
    return trunk
