"""The evaluation of Motamed & Khalvati's Tables 1 and 2 for any method with per-class GAN scores.

Table 1: each known class's GAN, alone, separates its class from the other known class (AUC, lower
variation score = that class). Table 2, two steps (their Figure 4): (1) unknown vs known by the sum
of all the GANs' scores, high = unknown; (2) among the images step 1 calls known, the known classes
by the method's own classifier (the GAN chosen on validation). Thresholds come from the validation
split: its known images and its unknown-class images, which are never used in training. Test metrics
are AUC, accuracy at that threshold and balanced accuracy; figures: ROC curves and test images next
to their reconstructions by every class's generator (the paper's Figure 5).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medssl.core import plots
from medssl.core.metrics import best_threshold, binary_auc, metric_slug
from medssl.data.images import LabelledImages, balanced_subset

RECONSTRUCTIONS_PER_CLASS = 6


def _balanced(is_positive: np.ndarray, predicted_positive: np.ndarray) -> float:
    recalls = [
        np.mean(predicted_positive[is_positive] == 1),
        np.mean(predicted_positive[~is_positive] == 0),
    ]
    return float(np.mean(recalls))


def open_set_evaluation(
    method: Any,
    test: LabelledImages,
    val: LabelledImages,
    *,
    test_unknown: LabelledImages,
    val_unknown: LabelledImages,
    plots_dir: Path,
    seed: int,
) -> dict[str, float]:
    names = method.info.label_names
    test_scores = method.scores(test.images)
    metrics: dict[str, float] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, name in enumerate(names):
        is_k = test.labels == k
        metrics[f"auc_{metric_slug(name)}_gan"] = binary_auc(is_k, -test_scores[:, k])
        curves[f"{name}'s GAN: {name} vs rest"] = (is_k, -test_scores[:, k])
    metrics["selected_gan"] = float(method.calibration["selected_gan"])
    if len(test_unknown):
        metrics.update(
            _two_step(method, test, val, test_unknown, val_unknown, test_scores, curves, seed)
        )
    title = f"{method.name}: {method.info.name}, seed {seed}"
    plots.score_roc_figure(curves, plots_dir / f"open_set_roc_seed{seed}.png", title)
    _reconstruction_figure(
        method, test, test_unknown, plots_dir / f"reconstructions_seed{seed}.png", title
    )
    return metrics


def _two_step(
    method: Any,
    test: LabelledImages,
    val: LabelledImages,
    test_unknown: LabelledImages,
    val_unknown: LabelledImages,
    test_scores: np.ndarray,
    curves: dict,
    seed: int,
) -> dict[str, float]:
    per_class = method.config.validation_images_per_class
    val_known = balanced_subset(val, per_class, seed)
    val_unknown = balanced_subset(val_unknown, per_class, seed)
    val_sum = np.concatenate(
        [method.scores(val_known.images), method.scores(val_unknown.images)]
    ).sum(axis=1)
    val_is_unknown = np.concatenate(
        [np.zeros(len(val_known), bool), np.ones(len(val_unknown), bool)]
    )
    threshold, _ = best_threshold(val_is_unknown, val_sum)

    unknown_scores = method.scores(test_unknown.images)
    score_sum = np.concatenate([test_scores, unknown_scores]).sum(axis=1)
    is_unknown = np.concatenate([np.zeros(len(test), bool), np.ones(len(test_unknown), bool)])
    called_unknown = score_sum >= threshold
    curves["sum of scores: unknown vs known"] = (is_unknown, score_sum)

    known_prediction = method.predict_proba(test.images).argmax(axis=1)
    called_known = ~called_unknown[: len(test)]
    truth = np.concatenate([test.labels, np.full(len(test_unknown), -1)])
    step_two = np.concatenate(
        [known_prediction, method.predict_proba(test_unknown.images).argmax(axis=1)]
    )
    prediction = np.where(called_unknown, -1, step_two)
    return {
        "unknown_auc": binary_auc(is_unknown, score_sum),
        "unknown_accuracy": float(np.mean(called_unknown == is_unknown)),
        "unknown_balanced_accuracy": _balanced(is_unknown, called_unknown),
        # Step 2 on the known test images step 1 passes on, as the paper's second number.
        "known_accuracy_after_step_1": float(
            np.mean(known_prediction[called_known] == test.labels[called_known])
        )
        if called_known.any()
        else float("nan"),
        "three_way_accuracy": float(np.mean(prediction == truth)),
    }


def _reconstruction_figure(
    method: Any, test: LabelledImages, test_unknown: LabelledImages, path: Path, title: str
) -> None:
    rng = np.random.default_rng(0)
    groups = [
        (
            name,
            test.images[
                rng.choice(
                    np.flatnonzero(test.labels == k), RECONSTRUCTIONS_PER_CLASS, replace=False
                )
            ],
        )
        for k, name in enumerate(method.info.label_names)
        if (test.labels == k).sum() >= RECONSTRUCTIONS_PER_CLASS
    ]
    if len(test_unknown) >= RECONSTRUCTIONS_PER_CLASS:
        groups.append(
            (
                f"unknown ({', '.join(method.info.unknown_names)})",
                test_unknown.images[
                    rng.choice(len(test_unknown), RECONSTRUCTIONS_PER_CLASS, replace=False)
                ],
            )
        )
    rows = []
    for group, images in groups:
        rows.append((f"{group}: test image", images.astype(np.float32) / 127.5 - 1.0))
        for k, name in enumerate(method.info.label_names):
            rows.append((f"G({name}) reconstruction", method.reconstructions(images, k)))
    plots.image_rows_figure(rows, path, f"{title}: test images and each generator's closest image")
