"""The train stage: fit one method once per seed and write its models, histories and curves.

  models/<method>/manifest.json, models/<method>/seed_<s>/...   fitted models (DVC cache)
  plots/train/<method>/train_seed<s>.csv, val_seed<s>.csv, curves.png, the method's own figures

A method reads the prepared images and, from ``data/inputs/<method>/`` (the inputs stage), only the
pipeline products it uses: the cluster stage's pseudo-labels, the features stage's ResNet-20.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from medssl.core import plots
from medssl.core.device import bf16_warning, configure_backends, configure_threads, pick_device
from medssl.core.distributed import SINGLE_PROCESS, Ranks, barrier, device_for_rank
from medssl.core.distributed import initialise as initialise_ranks
from medssl.core.errors import ConfigError
from medssl.core.io import ensure_writable, torch_load, write_json
from medssl.core.metrics import budget_text
from medssl.data.prepared import (
    TrainData,
    existing_file,
    load_dataset_info,
    load_pseudo_labels,
    load_train_data,
)
from medssl.methods.base import HistoryRow
from medssl.methods.loop import TorchMethod
from medssl.methods.registry import ResolvedMethod
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


@dataclass(frozen=True)
class SeedRun:
    """What one seed's training returns to the stage (picklable: it may come from a worker)."""

    seed: int
    history: list[HistoryRow]
    seconds: float
    training_metrics: dict[str, float]


def train_method(
    method: ResolvedMethod,
    *,
    train_config: TrainConfig,
    prepared_dir: Path,
    inputs_dir: Path,
    models_dir: Path,
    plots_dir: Path,
) -> dict[str, Any]:
    """Fit ``method`` once per seed in ``train_config.seeds``; write models, histories and curves.

    On the CPU, up to ``train.seed_processes`` seeds train at once, each in a process of its own.
    Under torchrun every rank trains (data-parallel, see ``medssl.core.distributed``) and rank 0
    writes."""
    name = method.name
    device = pick_device(train_config.device)
    ranks = initialise_ranks(device)
    device = device_for_rank(device, ranks)
    if ranks.is_distributed and not issubclass(method.method_class, TorchMethod):
        raise ConfigError(
            f"{name} does not train on the step loop, so it cannot run under torchrun; "
            "run its train stage as one process"
        )
    train_config = with_loop_overrides(method, train_config)
    warning = bf16_warning(device, train_config.autocast)
    if warning and ranks.is_main:
        print(warning, file=sys.stderr)
    ensure_writable(models_dir, plots_dir, Path(train_config.checkpoint_dir) / name)
    job = SeedJob(method, train_config, prepared_dir, inputs_dir, models_dir, plots_dir)
    processes = seed_processes(train_config, device, ranks)
    if processes > 1:
        runs = _train_in_workers(job, processes)
    else:
        configure_threads(threads_per_process(train_config, 1))
        configure_backends(device, train_config.deterministic)
        data = with_pipeline_inputs(
            method, load_train_data(prepared_dir), inputs_dir=inputs_dir, device=device
        )
        runs = [
            train_seed(job, seed, data, device=device, ranks=ranks) for seed in train_config.seeds
        ]
    manifest = {
        "method": name,
        "seeds": list(train_config.seeds),
        "config": dataclasses.asdict(method.config),
        "autocast": train_config.autocast,
        "device": str(device),
        "torch": torch.__version__,
        "train_seconds": {f"seed_{run.seed}": run.seconds for run in runs},
    }
    training_metrics = {
        f"seed_{run.seed}": run.training_metrics for run in runs if run.training_metrics
    }
    if training_metrics:
        manifest["training_metrics"] = training_metrics
    if ranks.is_distributed:
        manifest["world_size"] = ranks.world_size
    if ranks.is_main:
        write_json(models_dir / MANIFEST_FILE, manifest)
        info = load_dataset_info(prepared_dir)
        plots.training_curves(
            {run.seed: run.history for run in runs},
            plots_dir / "curves.png",
            f"{name} on {info.name}, {budget_text(info.labels_per_class)}",
        )
    barrier(ranks)
    return manifest


def with_loop_overrides(method: ResolvedMethod, train_config: TrainConfig) -> TrainConfig:
    """``params.train`` with the loop settings the method's own section sets (its precision)."""
    overrides = method.loop_overrides
    if overrides and not issubclass(method.method_class, TorchMethod):
        raise ConfigError(
            f"methods.{method.name}.{next(iter(overrides))}: {method.name} does not train on the "
            "step loop; remove the key"
        )
    return dataclasses.replace(train_config, **overrides)


@dataclass(frozen=True)
class SeedJob:
    """A train stage's settings, as a worker process needs them."""

    method: ResolvedMethod
    train_config: TrainConfig
    prepared_dir: Path
    inputs_dir: Path
    models_dir: Path
    plots_dir: Path


def seed_processes(train_config: TrainConfig, device: torch.device, ranks: Ranks) -> int:
    """How many seeds train at once: several only on the CPU, in one process per seed."""
    if device.type != "cpu" or ranks.is_distributed:
        return 1
    return max(1, min(train_config.seed_processes, len(train_config.seeds)))


def threads_per_process(train_config: TrainConfig, processes: int) -> int:
    """``train.num_threads``; with 0, PyTorch's default for one process (returned as 0), or its
    threads shared out among several (at least 1 each)."""
    if train_config.num_threads or processes == 1:
        return train_config.num_threads
    return max(1, torch.get_num_threads() // processes)


def train_seed(
    job: SeedJob, seed: int, data: TrainData, *, device: torch.device, ranks: Ranks = SINGLE_PROCESS
) -> SeedRun:
    """Fit one seed; rank 0 writes its model, figures and history."""
    method = job.method.create(data.info)
    history = method.fit(
        data,
        run_context(
            job.method.name,
            method.config,
            job.train_config,
            data=data,
            seed=seed,
            device=device,
            ranks=ranks,
        ),
    )
    run = SeedRun(seed, history, method.seconds_so_far(), dict(method.training_metrics))
    if ranks.is_main:
        method.save(seed_directory(job.models_dir, seed))
        method.write_figures(job.plots_dir, seed)
        write_history(history, job.plots_dir, seed)
        print(
            f"{job.method.name} seed {seed}: trained in {run.seconds:.1f} s on {device}", flush=True
        )
    return run


def _train_in_workers(job: SeedJob, processes: int) -> list[SeedRun]:
    """Every seed in a fresh process (spawned: no thread pool inherited from this one), up to
    ``processes`` at a time. Each process sets its thread count before any work, so a seed's
    numbers are those of a one-process run with the same ``train.num_threads``."""
    threads = threads_per_process(job.train_config, processes)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [
            pool.submit(_train_seed_in_worker, job, seed, threads)
            for seed in job.train_config.seeds
        ]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _train_seed_in_worker(job: SeedJob, seed: int, threads: int) -> SeedRun:
    configure_threads(threads)
    device = torch.device("cpu")
    configure_backends(device, job.train_config.deterministic)
    data = with_pipeline_inputs(
        job.method, load_train_data(job.prepared_dir), inputs_dir=job.inputs_dir, device=device
    )
    return train_seed(job, seed, data, device=device)


def with_pipeline_inputs(
    method: ResolvedMethod, data: TrainData, *, inputs_dir: Path, device: torch.device
) -> TrainData:
    """``data`` plus the pipeline products ``method`` reads, from its inputs folder."""
    stage = f"inputs@{method.name}"
    if method.method_class.uses_pseudo_labels:
        data = dataclasses.replace(
            data,
            pseudo_labels=load_pseudo_labels(
                existing_file(inputs_dir / PSEUDO_LABELS_INPUT, stage)
            ),
        )
    if method.method_class.uses_feature_network:
        trunk = load_feature_network(
            existing_file(inputs_dir / FEATURE_NETWORK_INPUT, stage), data.info.channels, device
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
