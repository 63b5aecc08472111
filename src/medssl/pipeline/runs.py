"""One training run (a method and a seed, or the features network): its loop settings from
``params.train``, the fingerprint that ties a checkpoint to the run that wrote it, its history
files, and the layout of a model folder (shared by the features, train and evaluate stages).

  models/<method>/manifest.json, models/<method>/seed_<s>/...   a method's fitted models
  plots/train/<method>/train_seed<s>.csv, val_seed<s>.csv       its training and validation history
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch

from medssl.core.config import Matches, NonEmpty, NonNegativeInt, OneOf, PositiveInt
from medssl.core.device import AUTOCAST_MODES
from medssl.core.distributed import SINGLE_PROCESS, Ranks
from medssl.core.io import write_csv
from medssl.core.metrics import SELECTION_RULES
from medssl.data.prepared import TrainData
from medssl.methods.base import HistoryRow, RunContext

MANIFEST_FILE = "manifest.json"
PACKAGE = "medssl"


@dataclass(frozen=True)
class TrainConfig:
    seeds: Annotated[tuple[int, ...], NonEmpty()]
    device: Annotated[str, Matches(r"auto|cpu|cuda(:\d+)?", "auto, cpu, cuda, cuda:<index>")]
    num_threads: NonNegativeInt  # per training process; 0: PyTorch's default, shared out
    seed_processes: PositiveInt  # on the CPU, seeds trained at once, one process each
    channels_last: bool  # NHWC convolution weights: faster on CPU (oneDNN), same maths
    # CUDA: deterministic kernels, no cuDNN autotuning (CPU is deterministic anyway)
    deterministic: bool
    # "bf16": bfloat16 autocast of forward passes (losses stay fp32); "none": fp32
    autocast: Annotated[str, OneOf(*AUTOCAST_MODES)]
    # model selection: validation at this many evenly spaced steps once the classifier trains
    validations: PositiveInt
    checkpoint_every: PositiveInt
    log_every: PositiveInt
    eval_batch_size: PositiveInt
    selection_metric: Annotated[str, OneOf(*SELECTION_RULES)]
    checkpoint_dir: str


def seed_directory(models_dir: Path, seed: int) -> Path:
    return models_dir / f"seed_{seed}"


def run_context(
    name: str,
    config: Any,
    train_config: TrainConfig,
    *,
    data: TrainData,
    seed: int,
    device: torch.device,
    ranks: Ranks = SINGLE_PROCESS,
) -> RunContext:
    """The loop settings of ``params.train`` for one (name, seed) run, with its checkpoint file."""
    fingerprint = run_fingerprint(
        name, config, train_config, data=data, seed=seed, world_size=ranks.world_size
    )
    return RunContext(
        seed=seed,
        device=device,
        validations=train_config.validations,
        checkpoint_every=train_config.checkpoint_every,
        log_every=train_config.log_every,
        eval_batch_size=train_config.eval_batch_size,
        selection_metric=train_config.selection_metric,
        checkpoint_path=Path(train_config.checkpoint_dir) / name / f"{fingerprint}.pt",
        progress_label=f"{name} seed {seed}",
        channels_last=train_config.channels_last,
        ranks=ranks,
        autocast=train_config.autocast,
    )


def run_fingerprint(
    name: str,
    config: Any,
    train_config: TrainConfig,
    *,
    data: TrainData,
    seed: int,
    world_size: int = 1,
) -> str:
    """Identifies a training run, so that a checkpoint is resumed only by the run that wrote it: the
    method and its config, the seed and the loop settings that change the weights, the data and
    every input model, and the source of the code this process has loaded (so a fix never resumes
    weights that the old code trained)."""
    digest = hashlib.blake2b(digest_size=16)
    settings = {
        "method": name,
        "config": repr(config),
        "seed": seed,
        "torch": torch.__version__,
        "selection": train_config.selection_metric,
        "validations": train_config.validations,
        "eval_batch_size": train_config.eval_batch_size,
        "autocast": train_config.autocast,
        "channels_last": train_config.channels_last,
        "code": loaded_source_digest(),
    }
    if world_size > 1:  # a data-parallel run's batches differ from a one-process run's
        settings["world_size"] = world_size
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for array in (data.labelled_x, data.labelled_y, data.unlabelled_x, data.val_x, data.val_y):
        digest.update(np.ascontiguousarray(array).tobytes())
    if data.pseudo_labels is not None:
        for array in (data.pseudo_labels.labels, data.pseudo_labels.confidence):
            digest.update(np.ascontiguousarray(array).tobytes())
    if data.feature_network is not None:
        for key, tensor in data.feature_network.state_dict().items():
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def loaded_source_digest() -> str:
    """A digest of the source of every module of this package loaded in this process: the code a run
    runs (a method's own, the shared code, the loop), whatever imported it."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(
        module for module in sys.modules if module == PACKAGE or module.startswith(f"{PACKAGE}.")
    ):
        source_file = getattr(sys.modules[name], "__file__", None)
        if source_file:
            digest.update(name.encode())
            digest.update(
                Path(inspect.getsourcefile(sys.modules[name]) or source_file).read_bytes()
            )
    return digest.hexdigest()


def write_history(history: list[HistoryRow], plots_dir: Path, seed: int) -> None:
    """Training-side values (losses, or a searched hyperparameter) and validation scores go to
    separate
    CSVs, so each file plots as clean series in DVC."""
    losses = [{k: v for k, v in row.items() if not k.startswith("val_")} for row in history]
    validation = [
        {k: v for k, v in row.items() if k == "step" or k.startswith("val_")} for row in history
    ]
    for rows, stem in ((losses, "train"), (validation, "val")):
        rows = [row for row in rows if len(row) > 1]
        if rows:
            write_csv(plots_dir / f"{stem}_seed{seed}.csv", rows)
