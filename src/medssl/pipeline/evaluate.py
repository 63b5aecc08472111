"""The evaluate stage: score every seed's model of one method on the test split (and val, for
reference), and write mean ± std over seeds and the plots.

  metrics/methods/<method>.json                          the headline (git, a DVC metric): test
                                                         accuracy, balanced accuracy and macro AUC,
                                                         mean and std over the seeds, and n
  metrics/detail/<method>.json                           everything else (git, not a DVC metric,
                                                         so `dvc exp show` stays readable): per
                                                         seed, per class, validation, the method's
                                                         own numbers, its params
  plots/eval/<method>/confusion.csv, roc.csv             DVC plot data (git)
  plots/eval/<method>/figures/confusion.png, roc.png     every figure evaluation draws (git), the
                                                         method's own too (open-set ROC,
                                                         reconstructions, heatmaps), so queued
                                                         experiments keep them all
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from medssl.core import plots
from medssl.core.device import pick_device
from medssl.core.io import read_json, write_csv, write_json
from medssl.core.metrics import (
    FPR_GRID,
    HEADLINE_METRICS,
    budget_text,
    classification_metrics,
    mean_and_std,
    one_vs_rest_auc,
    one_vs_rest_tpr,
)
from medssl.data.prepared import (
    TEST_FILE,
    VAL_FILE,
    DatasetInfo,
    existing_file,
    load_dataset_info,
    load_labelled_set,
    load_patch_images,
    load_unknown_sets,
)
from medssl.methods.registry import create_method
from medssl.pipeline.patch_evaluation import patch_image_evaluation
from medssl.pipeline.runs import MANIFEST_FILE, seed_directory

FIGURES_SUBDIR = "figures"  # under plots/eval/<method>/: declared as one plots folder in dvc.yaml


def evaluate_method(
    name: str,
    *,
    models_dir: Path,
    prepared_dir: Path,
    metrics_path: Path,
    detail_path: Path,
    plots_dir: Path,
    device: str = "auto",
) -> dict[str, Any]:
    """Score every seed's model on test (and val, for reference); write the headline, the detail
    and the plots. Returns the detail."""
    manifest = read_json(existing_file(models_dir / MANIFEST_FILE, f"train@{name}"))
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
        per_seed[seed] = {
            "test": classification_metrics(test.labels, test_probabilities[seed]),
            "val": classification_metrics(val.labels, val_probabilities),
            "extras": method.evaluation_extras(
                test,
                val,
                test_unknown=test_unknown,
                val_unknown=val_unknown,
                plots_dir=figures_dir,
                seed=seed,
            ),
        }
        # a patch dataset: image-level scores, localisation and heatmaps, for every method
        if patch_images:
            per_seed[seed]["extras"].update(
                patch_image_evaluation(
                    test_probabilities[seed],
                    val_probabilities,
                    test_images=patch_images["test"],
                    val_images=patch_images["val"],
                    plots_dir=figures_dir,
                    title=f"{name}, {budget_text(info.labels_per_class)}, seed {seed}",
                    seed=seed,
                )
            )
    detail = _summarise(name, info, manifest, per_seed)
    # what validation really holds: fewer than val_labels_per_class where a class runs short
    detail["val_class_counts"] = np.bincount(val.labels, minlength=info.num_classes).tolist()
    undefined = undefined_metrics(info.label_names, {"test": test.labels, "val": val.labels})
    if undefined:
        detail["undefined"] = undefined
    write_json(detail_path, detail)
    write_json(metrics_path, headline(name, detail))
    _write_evaluation_plots(name, info, test.labels, test_probabilities, per_seed, plots_dir)
    return detail


def headline(name: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """One method's DVC metrics. The key named after the method alone is its mean test balanced
    accuracy, a headline metric that the majority guess cannot win: a `dvc exp show` that keeps
    those columns is a narrow methods x experiments table (README). Accuracy is kept, under
    ``/acc``, for comparison with the papers."""
    test = detail["test"]
    numbers = {
        name: test["balanced_accuracy"]["mean"],
        f"{name}/std": test["balanced_accuracy"]["std"],
        f"{name}/auc": test["auc"]["mean"],
        f"{name}/auc_std": test["auc"]["std"],
        f"{name}/acc": test["accuracy"]["mean"],
        f"{name}/acc_std": test["accuracy"]["std"],
        f"{name}/n": len(detail["seeds"]),
    }
    if "test.auc" in detail.get("undefined", {}):
        numbers[f"{name}/auc_undefined"] = detail["undefined"]["test.auc"]
    return numbers


def undefined_metrics(
    label_names: tuple[str, ...] | list[str], labels_by_split: Mapping[str, np.ndarray]
) -> dict[str, str]:
    """Why a metric is ``null``: a split without any image of a class has no AUC, and no accuracy
    for that class."""
    reasons = {}
    for split, labels in labels_by_split.items():
        missing = [n for index, n in enumerate(label_names) if not np.any(labels == index)]
        if missing:
            reason = f"the {split} split has no image of class {', '.join(missing)}"
            reasons[f"{split}.auc"] = reason
            reasons.update({f"{split}_per_class_accuracy.{n}": reason for n in missing})
    return reasons


def _summarise(
    name: str,
    info: DatasetInfo,
    manifest: Mapping[str, Any],
    per_seed: Mapping[int, Mapping[str, Mapping[str, Any]]],
) -> dict[str, Any]:
    seeds = list(per_seed)
    summary: dict[str, Any] = {
        "method": name,
        "dataset": info.name,
        "image_size": info.image_size,
        "labels_per_class": info.labels_per_class,
        "split_seed": info.split_seed,
        # labelled validation images (model selection): part of the label cost
        "val_labels_per_class": info.val_labels_per_class,
        "val_images": info.counts["val"],
        "seeds": seeds,
    }
    for split in ("test", "val"):
        summary[split] = {
            metric: mean_and_std([per_seed[s][split][metric] for s in seeds])
            for metric in HEADLINE_METRICS
        }
    summary["test_per_class_accuracy"] = {
        label: mean_and_std([per_seed[s]["test"]["per_class_accuracy"][index] for s in seeds])
        for index, label in enumerate(info.label_names)
    }
    summary["train_seconds"] = mean_and_std(list(manifest["train_seconds"].values()))
    per_seed_training = manifest.get("training_metrics", {})
    for metric in sorted({key for values in per_seed_training.values() for key in values}):
        summary[metric] = mean_and_std(
            [values[metric] for values in per_seed_training.values() if metric in values]
        )
    extra_metrics = sorted({key for s in seeds for key in per_seed[s].get("extras", {})})
    if extra_metrics:
        summary["extras"] = {
            key: mean_and_std(
                [per_seed[s]["extras"][key] for s in seeds if key in per_seed[s]["extras"]]
            )
            for key in extra_metrics
        }
    summary["config"] = manifest["config"]
    summary["per_seed"] = {f"seed_{s}": _seed_detail(s, manifest, per_seed[s]) for s in seeds}
    return summary


def _seed_detail(
    seed: int, manifest: Mapping[str, Any], scores: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """One seed's numbers: what the results ledger records per training run."""
    detail: dict[str, Any] = {}
    for split in ("test", "val"):
        detail.update({f"{split}_{m}": scores[split][m] for m in HEADLINE_METRICS})
    # NaN for a class the test split lacks: write_json makes it null
    detail["test_per_class_accuracy"] = list(scores["test"]["per_class_accuracy"])
    detail["train_seconds"] = manifest["train_seconds"].get(f"seed_{seed}")
    detail["extras"] = {
        **(manifest.get("training_metrics") or {}).get(f"seed_{seed}", {}),
        **scores.get("extras", {}),
    }
    return detail


def _write_evaluation_plots(
    name: str,
    info: DatasetInfo,
    labels: np.ndarray,
    probabilities: Mapping[int, np.ndarray],
    per_seed: Mapping[int, Mapping[str, Any]],
    plots_dir: Path,
) -> None:
    names = info.label_names
    title = f"{name}: {info.name}, {budget_text(info.labels_per_class)}, {len(probabilities)} seeds"
    # DVC's confusion template counts rows of (actual, predicted); all seeds are stacked.
    write_csv(
        plots_dir / "confusion.csv",
        [
            {"actual": names[truth], "predicted": names[guess]}
            for p in probabilities.values()
            for truth, guess in zip(labels, p.argmax(axis=1), strict=True)
        ],
    )
    matrix = np.sum([per_seed[s]["test"]["confusion"] for s in probabilities], axis=0)
    plots.confusion_matrix_figure(
        matrix, names, plots_dir / FIGURES_SUBDIR / "confusion.png", title=title
    )
    # (seeds, classes, grid)
    tpr = np.stack([one_vs_rest_tpr(labels, p) for p in probabilities.values()])
    auc = np.stack([one_vs_rest_auc(labels, p) for p in probabilities.values()])
    # DVC's linear plot: the macro-average one-vs-rest ROC, averaged over seeds.
    macro = tpr.mean(axis=(0, 1))
    write_csv(
        plots_dir / "roc.csv",
        [{"fpr": float(f), "tpr": float(t)} for f, t in zip(FPR_GRID, macro, strict=True)],
    )
    plots.roc_figure(tpr, auc, names, path=plots_dir / FIGURES_SUBDIR / "roc.png", title=title)
