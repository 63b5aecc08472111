"""Train one method over every seed, and evaluate it on the test split (the train and evaluate stages).

Layout of the outputs:
  models/<method>/manifest.json, models/<method>/seed_<s>/...   fitted models (DVC cache)
  plots/train/<method>/train_seed<s>.csv, val_seed<s>.csv, curves.png
  metrics/methods/<method>.json                                 mean ± std over seeds (git)
  plots/eval/<method>/confusion.csv, roc.csv                    DVC plot data (git)
  plots/eval/<method>/figures/confusion.png, roc.png, ...         every figure evaluation draws (git), the
                                                                method's own (open-set ROC, reconstructions,
                                                                heatmaps) included, so queued experiments keep them
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medssl import plots
from medssl.data.prepared import (
    TEST_FILE,
    VAL_FILE,
    DatasetInfo,
    TrainData,
    load_dataset_info,
    load_labelled_set,
    load_pseudo_labels,
    load_train_data,
    load_patch_images,
    load_unknown_sets,
)
from medssl.patch_evaluation import patch_image_evaluation
from medssl.device import configure_backends, configure_threads, pick_device
from medssl.distributed import Ranks, barrier, device_for_rank
from medssl.distributed import initialise as initialise_ranks
from medssl.errors import ConfigError
from medssl.features import FeatureExtractor, FeaturesConfig
from medssl.io import read_json, write_csv, write_json
from medssl.methods import create_method, method_class
from medssl.methods.base import HistoryRow, RunContext
from medssl.methods.registry import method_config
from medssl.metrics import (
    FPR_GRID,
    HEADLINE_METRICS,
    classification_metrics,
    mean_and_std,
    one_vs_rest_auc,
    one_vs_rest_tpr,
)
from medssl.training import TorchMethod, TrainConfig, run_fingerprint

MANIFEST_FILE = "manifest.json"
FIGURES_SUBDIR = "figures"  # under plots/eval/<method>/: declared as one plots folder in dvc.yaml


def seed_directory(models_dir: Path, seed: int) -> Path:
    return models_dir / f"seed_{seed}"


def run_context(name: str, config: Any, train_config: TrainConfig, data: TrainData, seed: int,
                device: torch.device, ranks: Ranks = Ranks()) -> RunContext:
    """The loop settings of ``params.train`` for one (name, seed) run, with its own checkpoint file."""
    fingerprint = run_fingerprint(name, config, train_config, data, seed, ranks.world_size)
    return RunContext(
        seed=seed, device=device, eval_every=train_config.eval_every,
        checkpoint_every=train_config.checkpoint_every, log_every=train_config.log_every,
        eval_batch_size=train_config.eval_batch_size, selection_metric=train_config.selection_metric,
        checkpoint_path=Path(train_config.checkpoint_dir) / name / f"{fingerprint}.pt",
        progress_label=f"{name} seed {seed}", channels_last=train_config.channels_last, ranks=ranks,
        autocast=train_config.autocast,
    )


def train_method(name: str, method_values: Mapping[str, Any], train_config: TrainConfig, prepared_dir: Path,
                 models_dir: Path, plots_dir: Path, pseudo_labels_path: Path | None = None,
                 features_model_dir: Path | None = None) -> dict[str, Any]:
    """Fit ``name`` once per seed in ``train_config.seeds``; write models, histories and curves.

    Under torchrun every rank trains (data-parallel, see ``medssl.distributed``) and rank 0 writes."""
    configure_threads(train_config.num_threads)
    ranks = initialise_ranks(pick_device(train_config.device))
    device = device_for_rank(pick_device(train_config.device), ranks)
    configure_backends(device, train_config.deterministic)
    if ranks.is_distributed and not issubclass(method_class(name), TorchMethod):
        raise ConfigError(f"{name} does not train on the step loop, so it cannot run under torchrun; "
                          "run its train stage as one process")
    data = load_train_data(prepared_dir)
    if method_class(name).uses_pseudo_labels:
        if pseudo_labels_path is None:
            raise ConfigError(f"{name} trains on pseudo-labels: pass the cluster stage's file with --pseudo-labels")
        data = dataclasses.replace(data, pseudo_labels=load_pseudo_labels(pseudo_labels_path))
    if method_class(name).uses_feature_network:
        if features_model_dir is None:
            raise ConfigError(f"{name} uses the features stage's ResNet-20: pass its folder with --features-model")
        data = dataclasses.replace(data, feature_network=load_feature_network(features_model_dir, data.info, device))
    config = method_config(name, method_values)
    histories: dict[int, list[HistoryRow]] = {}
    seconds: dict[str, float] = {}
    training_metrics: dict[str, dict[str, float]] = {}
    for seed in train_config.seeds:
        method = create_method(name, method_values, data.info)
        started = time.perf_counter()
        histories[seed] = method.fit(data, run_context(name, config, train_config, data, seed, device, ranks))
        seconds[f"seed_{seed}"] = time.perf_counter() - started
        if method.training_metrics:
            training_metrics[f"seed_{seed}"] = dict(method.training_metrics)
        if not ranks.is_main:
            continue
        method.save(seed_directory(models_dir, seed))
        method.write_figures(plots_dir, seed)
        write_history(histories[seed], plots_dir, seed)
        print(f"{name} seed {seed}: trained in {seconds[f'seed_{seed}']:.1f} s on {device}")
    manifest = {"method": name, "seeds": list(train_config.seeds), "config": dataclasses.asdict(config),
                "device": str(device), "torch": torch.__version__, "train_seconds": seconds}
    if training_metrics:
        manifest["training_metrics"] = training_metrics
    if ranks.is_distributed:
        manifest["world_size"] = ranks.world_size
    if ranks.is_main:
        write_json(models_dir / MANIFEST_FILE, manifest)
        plots.training_curves(histories, plots_dir / "curves.png", f"{name} on {data.info.name}, "
                              f"{data.info.labels_per_class} labels/class")
    barrier(ranks)
    return manifest


def load_feature_network(models_dir: Path, info: DatasetInfo, device: torch.device) -> torch.nn.Module:
    """The features stage's ResNet-20 trunk, frozen, in eval mode."""
    extractor = FeatureExtractor(FeaturesConfig(), info)
    extractor.load(models_dir, device)
    trunk = extractor.classifier().trunk.eval()
    for parameter in trunk.parameters():
        parameter.requires_grad_(False)
    return trunk


def write_history(history: list[HistoryRow], plots_dir: Path, seed: int) -> None:
    """Training-side values (losses, or a searched hyperparameter) and validation scores go to separate
    CSVs, so each file plots as clean series in DVC."""
    losses = [{k: v for k, v in row.items() if not k.startswith("val_")} for row in history]
    validation = [{k: v for k, v in row.items() if k == "step" or k.startswith("val_")} for row in history]
    for rows, stem in ((losses, "train"), (validation, "val")):
        rows = [row for row in rows if len(row) > 1]
        if rows:
            write_csv(plots_dir / f"{stem}_seed{seed}.csv", rows)


def evaluate_method(name: str, models_dir: Path, prepared_dir: Path, metrics_path: Path, plots_dir: Path,
                    device: str = "auto") -> dict[str, Any]:
    """Score every seed's model on test (and val, for reference); write mean ± std and plots."""
    manifest = read_json(models_dir / MANIFEST_FILE)
    info = load_dataset_info(prepared_dir)
    test = load_labelled_set(prepared_dir / TEST_FILE)
    val = load_labelled_set(prepared_dir / VAL_FILE)
    test_unknown, val_unknown = load_unknown_sets(prepared_dir)
    patch_images = load_patch_images(prepared_dir) if info.patch_grid else None
    per_seed, test_probabilities = {}, {}
    figures_dir = plots_dir / FIGURES_SUBDIR
    for seed in manifest["seeds"]:
        method = create_method(name, manifest["config"], info)
        method.load(seed_directory(models_dir, seed), pick_device(device))
        test_probabilities[seed] = method.predict_proba(test.images)
        val_probabilities = method.predict_proba(val.images)
        per_seed[seed] = {"test": classification_metrics(test.labels, test_probabilities[seed]),
                          "val": classification_metrics(val.labels, val_probabilities),
                          "extras": method.evaluation_extras(test, val, test_unknown, val_unknown, figures_dir, seed)}
        if patch_images:  # a patch dataset: image-level scores, localisation and heatmaps, for every method
            per_seed[seed]["extras"].update(patch_image_evaluation(
                test_probabilities[seed], val_probabilities, patch_images["test"], patch_images["val"], figures_dir,
                f"{name}, {info.labels_per_class} labelled images per class, seed {seed}", seed))
    metrics = _summarise(name, info, manifest, per_seed)
    write_json(metrics_path, metrics)
    _write_evaluation_plots(name, info, test.labels, test_probabilities, per_seed, plots_dir)
    return metrics


def _summarise(name: str, info: DatasetInfo, manifest: Mapping[str, Any],
               per_seed: Mapping[int, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    seeds = list(per_seed)
    summary: dict[str, Any] = {
        "method": name, "dataset": info.name, "image_size": info.image_size,
        "labels_per_class": info.labels_per_class, "split_seed": info.split_seed, "seeds": seeds,
    }
    for split in ("test", "val"):
        summary[split] = {metric: mean_and_std([per_seed[s][split][metric] for s in seeds])
                          for metric in HEADLINE_METRICS}
    summary["test_per_class_accuracy"] = {
        label: mean_and_std([per_seed[s]["test"]["per_class_accuracy"][index] for s in seeds])
        for index, label in enumerate(info.label_names)
    }
    summary["train_seconds"] = mean_and_std(list(manifest["train_seconds"].values()))
    per_seed_training = manifest.get("training_metrics", {})
    for metric in sorted({key for values in per_seed_training.values() for key in values}):
        summary[metric] = mean_and_std([values[metric] for values in per_seed_training.values() if metric in values])
    extra_metrics = sorted({key for s in seeds for key in per_seed[s].get("extras", {})})
    if extra_metrics:
        summary["extras"] = {key: mean_and_std([per_seed[s]["extras"][key] for s in seeds if key in per_seed[s]["extras"]])
                             for key in extra_metrics}
    summary["per_seed"] = {f"seed_{s}": {f"test_{metric}": per_seed[s]["test"][metric] for metric in HEADLINE_METRICS}
                           for s in seeds}
    return summary


def _write_evaluation_plots(name: str, info: DatasetInfo, labels: np.ndarray, probabilities: Mapping[int, np.ndarray],
                            per_seed: Mapping[int, Mapping[str, Any]], plots_dir: Path) -> None:
    names = info.label_names
    title = f"{name}: {info.name}, {info.labels_per_class} labels/class, {len(probabilities)} seeds"
    # DVC's confusion template counts rows of (actual, predicted); all seeds are stacked.
    write_csv(plots_dir / "confusion.csv", [
        {"actual": names[truth], "predicted": names[guess]}
        for p in probabilities.values() for truth, guess in zip(labels, p.argmax(axis=1), strict=True)
    ])
    matrix = np.sum([per_seed[s]["test"]["confusion"] for s in probabilities], axis=0)
    plots.confusion_matrix_figure(matrix, names, plots_dir / FIGURES_SUBDIR / "confusion.png", title)
    tpr = np.stack([one_vs_rest_tpr(labels, p) for p in probabilities.values()])  # (seeds, classes, grid)
    auc = np.stack([one_vs_rest_auc(labels, p) for p in probabilities.values()])
    # DVC's linear plot: the macro-average one-vs-rest ROC, averaged over seeds.
    macro = tpr.mean(axis=(0, 1))
    write_csv(plots_dir / "roc.csv", [{"fpr": float(f), "tpr": float(t)} for f, t in zip(FPR_GRID, macro, strict=True)])
    plots.roc_figure(tpr, auc, names, plots_dir / FIGURES_SUBDIR / "roc.png", title)

