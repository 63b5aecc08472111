"""The features, cluster and evaluate_cluster stages (called by their thin scripts).

  models/features/               the ResNet-20 (DVC cache)
  data/features/features.npz     embeddings of labelled, unlabelled and val images + the feature weights
  data/pseudo_labels/pseudo_labels.npz   labels, confidence and distance for the unlabelled pool
  metrics/cluster.json, plots/cluster/   pseudo-label accuracy against the hidden labels (evaluation only)
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from medssl import plots
from medssl.cluster import ClusterConfig, assign_pseudo_labels, pseudo_label_report
from medssl.data.prepared import (
    LABELLED_FILE,
    load_dataset_info,
    load_hidden_unlabelled_labels,
    load_labelled_set,
    load_pseudo_labels,
    load_train_data,
    write_pseudo_labels,
)
from medssl.device import configure_backends, configure_threads, pick_device
from medssl.experiment import MANIFEST_FILE, run_context, write_history
from medssl.features import FEATURES_FILE, FeatureExtractor, FeaturesConfig, write_features
from medssl.io import read_npz, write_json
from medssl.training import TrainConfig

PSEUDO_LABELS_FILE = "pseudo_labels.npz"
MAX_SCATTER_POINTS = 3000


def train_feature_extractor(config: FeaturesConfig, train_config: TrainConfig, prepared_dir: Path, models_dir: Path,
                            features_dir: Path, plots_dir: Path) -> dict[str, Any]:
    configure_threads(train_config.num_threads)
    device = pick_device(train_config.device)
    configure_backends(device, train_config.deterministic)
    data = load_train_data(prepared_dir)
    extractor = FeatureExtractor(config, data.info)
    started = time.perf_counter()
    history = extractor.fit(data, run_context("features", config, train_config, data, config.seed, device))
    seconds = time.perf_counter() - started
    extractor.save(models_dir)
    write_features(features_dir / FEATURES_FILE, extractor, data.labelled_x, data.unlabelled_x, data.val_x)
    write_history(history, plots_dir, config.seed)
    plots.training_curves({config.seed: history}, plots_dir / "curves.png",
                          f"ResNet-20 features, {data.info.name}, {data.info.labels_per_class} labels/class")
    selection = f"val_{train_config.selection_metric}"
    manifest = {"config": dataclasses.asdict(config), "device": str(device), "train_seconds": seconds,
                f"best_{selection}": max(row[selection] for row in history if selection in row)}
    write_json(models_dir / MANIFEST_FILE, manifest)
    print(f"features: ResNet-20 trained in {seconds:.1f} s, best {selection} {manifest[f'best_{selection}']:.3f}")
    return manifest


def make_pseudo_labels(config: ClusterConfig, prepared_dir: Path, features_dir: Path, out_dir: Path) -> None:
    info = load_dataset_info(prepared_dir)
    features = read_npz(features_dir / FEATURES_FILE)
    labelled = load_labelled_set(prepared_dir / LABELLED_FILE)
    pseudo_labels, _ = assign_pseudo_labels(features["labelled"], labelled.labels, features["unlabelled"],
                                            features["feature_weights"], info.num_classes, config)
    write_pseudo_labels(out_dir / PSEUDO_LABELS_FILE, pseudo_labels)
    shares = np.bincount(pseudo_labels.labels, minlength=info.num_classes) / len(pseudo_labels.labels)
    print("pseudo-labels: " + ", ".join(f"{name} {share:.1%}" for name, share in zip(info.label_names, shares, strict=True)))


def evaluate_pseudo_labels(prepared_dir: Path, features_dir: Path, pseudo_labels_dir: Path, hidden_dir: Path,
                           metrics_path: Path, plots_dir: Path) -> dict[str, object]:
    """Evaluation only: the one stage besides split that opens the hidden labels."""
    info = load_dataset_info(prepared_dir)
    pseudo_labels = load_pseudo_labels(pseudo_labels_dir / PSEUDO_LABELS_FILE)
    hidden = load_hidden_unlabelled_labels(hidden_dir)
    report = {"dataset": info.name, "image_size": info.image_size, "labels_per_class": info.labels_per_class,
              "split_seed": info.split_seed,
              **pseudo_label_report(pseudo_labels, hidden, info.label_names)}
    write_json(metrics_path, report)
    _write_cluster_plots(info, read_npz(features_dir / FEATURES_FILE), pseudo_labels, hidden, plots_dir)
    print(f"pseudo-label accuracy {report['pseudo_label_accuracy']:.3f} over {report['images']} unlabelled images")
    return report


def _write_cluster_plots(info: Any, features: dict[str, np.ndarray], pseudo_labels: Any, hidden: np.ndarray,
                         plots_dir: Path) -> None:
    title = f"{info.name}, {info.labels_per_class} labels/class"
    scaled = features["unlabelled"] * np.sqrt(features["feature_weights"])  # the space eq. 1 measures in
    rows = np.random.default_rng(0).permutation(len(scaled))[:MAX_SCATTER_POINTS]
    points = PCA(n_components=2, random_state=0).fit_transform(scaled[rows])
    plots.embedding_scatter_figure(points, pseudo_labels.labels[rows], hidden[rows], info.label_names,
                                   plots_dir / "embedding.png", f"unlabelled pool in ResNet-20 feature space, {title}")
    known = hidden >= 0
    plots.distance_distribution_figure(pseudo_labels.distance[known], (pseudo_labels.labels == hidden)[known],
                                       plots_dir / "distance_to_centre.png", title)
