"""Behaviour fingerprints: what the code computes, link by link, on one tiny fixed task.

A result is stale only when rerunning it could change its numbers. Whether an edit can is a
question about numbers, not about text: a rename or a moved function changes files but no result.
So ``results/fingerprints.json`` records, for each link of the chain that produces a headline
number, what the code computes on a tiny synthetic task, with the settings it used:

* ``split``: which images the split draws (exact);
* ``features`` and ``cluster``: the features network's embeddings after a few steps, and the
  pseudo-labels the cluster code assigns from them;
* ``evaluate``: the metrics of fixed probabilities;
* one entry per method: its class probabilities on the task's test images after a tiny training
  on the task (with the features and pseudo-labels above, for the methods that read them).

A test recomputes the file and fails when the code's numbers moved, so an edit that changes
numbers must commit a new file (``medssl-results fingerprint``), and one that changes none cannot.
The results page compares each run's commit's file with the working tree's: a run is current when
every link its method depends on computes the same numbers (``TOLERANCE``: another CPU kind or
thread count moves the last digits only). The chain starts at the raw arrays: the download stage's
MD5 checks pin those.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medssl.core.config import build_config
from medssl.core.metrics import classification_metrics
from medssl.data.catalog import SYNTHETIC
from medssl.data.images import RawDataset
from medssl.data.prepared import DatasetInfo, TrainData
from medssl.data.sources import DataConfig, acquire, load_raw
from medssl.data.split import Split, SplitConfig, make_split
from medssl.methods.base import RunContext
from medssl.methods.registry import available_methods, create_method, method_class
from medssl.pipeline.cluster import ClusterConfig, assign_pseudo_labels
from medssl.pipeline.features import FeatureExtractor, FeaturesConfig

FINGERPRINT_FILE = Path("results/fingerprints.json")
FORMAT = 1
TOLERANCE = 1e-4  # largest difference in a probability or embedding that counts as the same
DIGITS = 6

# The task: three classes of synthetic images, ten labelled per class.
TASK = {"num_classes": 3, "channels": 1, "train_per_class": 30, "val_per_class": 8}
TASK_TEST_PER_CLASS = 8
LABELS_PER_CLASS = 10
# Methods whose networks need larger images than 16 px (conv-large: 32 px patches).
IMAGE_SIZE = {"patch_ssgan": 32, "patch_convnet": 32}
DEFAULT_IMAGE_SIZE = 16

# The smallest settings that run every code path of each method, laid over its params.yaml section
# (the tests' tiny configs too).
TINY: dict[str, dict[str, Any]] = {
    "supervised_cnn": {"iterations": 10, "batch_size": 8},
    "resnet": {"iterations": 3, "batch_size": 4},
    "pca_svm": {"n_components": 5, "c_grid": [1.0, 10.0]},
    "ssgan": {"iterations": 6, "batch_size": 8},
    "plabgan": {"iterations": 6, "batch_size": 8, "pseudo_label_threshold": 0.7},
    "cgan_aug": {
        "gan_iterations": 4,
        "classifier_iterations": 4,
        "batch_size": 8,
        "generated_per_class": 5,
    },
    "ucgan": {"iterations": 6, "batch_size": 4},
    "fixmatch": {"iterations": 6, "batch_size": 4, "unlabelled_ratio": 2, "threshold": 0.5},
    "mean_teacher": {"iterations": 6, "batch_size": 4, "unlabelled_ratio": 2},
    "anogan": {
        "iterations": 4,
        "batch_size": 8,
        "score_steps": 3,
        "validation_images_per_class": 5,
    },
    "patch_ssgan": {"iterations": 4, "batch_size": 8, "width": 0.1},
    "patch_convnet": {
        "iterations": 4,
        "batch_size": 8,
        "width": 0.1,
        "class_weighting": "balanced",
    },
    "patch_resnet34": {"iterations": 2, "batch_size": 4},
    "mcgan": {"iterations": 4, "batch_size": 8, "score_steps": 3, "validation_images_per_class": 5},
    "ssldec": {
        "pretrain_epochs": 2,
        "max_rounds": 2,
        "batch_size": 16,
        "width": 0.125,
        "max_relabel_epochs": 2,
    },
}
FEATURES_TINY = {"iterations": 6, "batch_size": 8}
LOOP = {"validations": 2, "selection_metric": "auc_then_log_loss"}


def links_of(method: str) -> tuple[str, ...]:
    """The fingerprint entries a method's numbers depend on."""
    cls = method_class(method)
    links = ["split", "evaluate"]
    if cls.uses_feature_network or cls.uses_pseudo_labels:
        links.append("features")
    if cls.uses_pseudo_labels:
        links.append("cluster")
    return (*links, method)


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), DIGITS).tolist()


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _task(data_values: Mapping[str, Any], image_size: int) -> RawDataset:
    values = {
        **data_values,
        "name": SYNTHETIC,
        "image_size": image_size,
        "synthetic": {**TASK, "test_per_class": TASK_TEST_PER_CLASS, "seed": 0},
    }
    config = build_config(DataConfig, values, "data")
    with tempfile.TemporaryDirectory() as folder:
        acquire(config, Path(folder))
        return load_raw(config, Path(folder))


def _split(raw: RawDataset, split_values: Mapping[str, Any]) -> Split:
    values = {**split_values, "labels_per_class": LABELS_PER_CLASS, "seed": 0}
    return make_split(raw, build_config(SplitConfig, values, "split"))


def _info(raw: RawDataset, split: Split) -> DatasetInfo:
    return DatasetInfo(
        raw.name,
        raw.task,
        raw.label_names,
        raw.channels,
        raw.image_size,
        LABELS_PER_CLASS,
        0,
        {"labelled": len(split.labelled), "unlabelled": len(split.unlabelled_images)},
    )


def _run() -> RunContext:
    return RunContext(
        seed=0,
        device=torch.device("cpu"),
        checkpoint_every=10**9,
        log_every=5,
        eval_batch_size=64,
        **LOOP,
    )


def compute_fingerprints(
    params: Mapping[str, Any], recorded: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every link's fingerprint and the settings it ran with: those ``recorded`` (a committed
    fingerprint file) ran with, so that a changed default in params.yaml, which the ledger records
    per run, moves no fingerprint; for a link not recorded yet, ``params`` (params.yaml) with the
    tiny settings laid over it. A key added since the recording takes its params.yaml value: a
    new knob whose default keeps the old arithmetic moves nothing, one whose default changes it
    moves the fingerprint, as it should."""
    earlier = (recorded or {}).get("links", {})

    def settings(link: str, default: Mapping[str, Any]) -> dict[str, Any]:
        return {**default, **earlier.get(link, {}).get("settings", {})}

    torch.set_num_threads(1)
    sizes = sorted({DEFAULT_IMAGE_SIZE, *IMAGE_SIZE.values()})
    tasks = {size: _task(params["data"], size) for size in sizes}
    entries: dict[str, Any] = {}
    splits = {size: _split(raw, params["split"]) for size, raw in tasks.items()}
    split = splits[DEFAULT_IMAGE_SIZE]
    entries["split"] = {
        "digest": _digest(
            split.labelled_source_index, split.unlabelled_source_index, split.val.labels
        )
    }
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=24)
    metrics = classification_metrics(np.arange(24) % 3, probabilities)
    entries["evaluate"] = {
        "values": _rounded([metrics["accuracy"], metrics["balanced_accuracy"], metrics["auc"]])
    }
    info = _info(tasks[DEFAULT_IMAGE_SIZE], split)
    bare = TrainData.from_split(split, info)
    features_values = settings("features", {**params["features"], **FEATURES_TINY})
    extractor = FeatureExtractor(build_config(FeaturesConfig, features_values, "features"), info)
    extractor.fit(bare, _run())
    embedded = {
        name: extractor.embed(images)
        for name, images in (("labelled", split.labelled.images), ("pool", split.unlabelled_images))
    }
    entries["features"] = {"settings": features_values, "values": _rounded(embedded["pool"][:8])}
    cluster_values = settings("cluster", params["cluster"])
    pseudo_labels, _ = assign_pseudo_labels(
        embedded["labelled"],
        split.labelled.labels,
        embedded["pool"],
        feature_weights=extractor.feature_weights(),
        num_classes=info.num_classes,
        config=build_config(ClusterConfig, cluster_values, "cluster"),
    )
    entries["cluster"] = {
        "settings": cluster_values,
        "labels": pseudo_labels.labels.tolist(),
        "values": _rounded(pseudo_labels.confidence),
    }
    trunk = extractor.classifier().trunk.eval().requires_grad_(False)
    for name in available_methods():
        size = IMAGE_SIZE.get(name, DEFAULT_IMAGE_SIZE)
        method_split = splits[size]
        data = TrainData.from_split(
            method_split,
            _info(tasks[size], method_split),
            pseudo_labels=pseudo_labels if size == DEFAULT_IMAGE_SIZE else None,
            feature_network=trunk if size == DEFAULT_IMAGE_SIZE else None,
        )
        values = settings(name, {**params["methods"][name], **TINY[name]})
        method = create_method(name, values, data.info)
        method.fit(data, _run())
        entries[name] = {
            "settings": values,
            "values": _rounded(method.predict_proba(method_split.test.images[:12])),
        }
    return {"format": FORMAT, "tolerance": TOLERANCE, "links": entries}


def same_numbers(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> bool:
    """Whether two fingerprints of one link computed the same numbers, with the same settings. A
    setting only one side has is a knob added (or dropped) between them: what it does shows in
    the numbers, so only the settings both have must agree."""
    if first is None or second is None:
        return False
    if {key: value for key, value in first.items() if key not in ("values", "settings")} != {
        key: value for key, value in second.items() if key not in ("values", "settings")
    }:
        return False
    one_settings, other_settings = first.get("settings", {}), second.get("settings", {})
    shared = one_settings.keys() & other_settings.keys()
    if any(one_settings[key] != other_settings[key] for key in shared):
        return False
    if ("values" in first) != ("values" in second):
        return False
    if "values" not in first:
        return True
    one, other = np.asarray(first["values"]), np.asarray(second["values"])
    return one.shape == other.shape and bool(np.all(np.abs(one - other) <= TOLERANCE))


def changed_links(recorded: Mapping[str, Any], computed: Mapping[str, Any]) -> list[str]:
    """The links whose numbers differ between two fingerprint files (or exist in one only)."""
    names = set(recorded.get("links", {})) | set(computed.get("links", {}))
    return sorted(
        name
        for name in names
        if not same_numbers(
            recorded.get("links", {}).get(name), computed.get("links", {}).get(name)
        )
    )
