"""Figures: training curves, confusion matrices, ROC curves, method comparison, budget curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from medssl.core.io import atomic_path  # noqa: E402
from medssl.core.metrics import FPR_GRID  # noqa: E402


def save_figure(figure: plt.Figure, path: Path) -> None:
    """Write ``figure`` as a PNG atomically and release it."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)


def training_curves(
    histories: Mapping[int, Sequence[Mapping[str, float]]], path: Path, title: str
) -> None:
    """One panel per logged quantity (losses, validation score), one line per seed."""
    quantities = sorted(
        {key for rows in histories.values() for row in rows for key in row if key != "step"}
    )
    if not quantities:
        return
    figure, axes = plt.subplots(
        1, len(quantities), figsize=(4.2 * len(quantities), 3.2), squeeze=False
    )
    for axis, quantity in zip(axes[0], quantities, strict=True):
        for seed, rows in sorted(histories.items()):
            points = [(row["step"], row[quantity]) for row in rows if quantity in row]
            if points:
                steps, values = zip(*points, strict=True)
                axis.plot(
                    steps, values, label=f"seed {seed}", marker="." if len(points) < 20 else None
                )
        axis.set_xlabel("step")
        axis.set_title(quantity)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(title, y=1.02)
    save_figure(figure, path)


def confusion_matrix_figure(
    matrix: np.ndarray, label_names: Sequence[str], path: Path, *, title: str
) -> None:
    """Counts summed over seeds; colour is the row-normalised rate (per-class recall on the
    diagonal)."""
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(3.5, 0.6 * len(label_names) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
    axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for row in range(len(label_names)):
        for column in range(len(label_names)):
            axis.text(
                column,
                row,
                f"{int(matrix[row, column])}\n{rates[row, column]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rates[row, column] > 0.6 else "black",
            )
    ticks = np.arange(len(label_names))
    axis.set_xticks(ticks, labels=label_names, rotation=45, ha="right")
    axis.set_yticks(ticks, labels=label_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    save_figure(figure, path)


def roc_figure(
    tpr_by_seed: np.ndarray,
    auc_by_seed: np.ndarray,
    label_names: Sequence[str],
    *,
    path: Path,
    title: str,
) -> None:
    """``tpr_by_seed``: (seeds, classes, grid); ``auc_by_seed``: (seeds, classes). Mean curve ± one
    std."""
    figure, axis = plt.subplots(figsize=(4.6, 4.2))
    # binary: one curve tells all
    classes = [1] if len(label_names) == 2 else range(len(label_names))
    for label in classes:
        mean, std = tpr_by_seed[:, label].mean(axis=0), tpr_by_seed[:, label].std(axis=0)
        auc = auc_by_seed[:, label]
        (line,) = axis.plot(
            FPR_GRID, mean, label=f"{label_names[label]} (AUC {auc.mean():.3f} ± {auc.std():.3f})"
        )
        axis.fill_between(
            FPR_GRID,
            np.clip(mean - std, 0, 1),
            np.clip(mean + std, 0, 1),
            alpha=0.15,
            color=line.get_color(),
        )
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title(title)
    axis.legend(fontsize=7, loc="lower right")
    save_figure(figure, path)


def method_comparison_figure(
    summary: Mapping[str, Mapping[str, Mapping[str, float]]],
    metrics: Sequence[str],
    path: Path,
    *,
    title: str,
) -> None:
    """Grouped bars: one group per metric, one bar per method, error bar = std over seeds."""
    methods = list(summary)
    width = 0.8 / max(len(methods), 1)
    figure, axis = plt.subplots(figsize=(1.8 + 1.6 * len(metrics) * max(1, len(methods) / 3), 3.6))
    for index, method in enumerate(methods):
        means = [summary[method][metric]["mean"] for metric in metrics]
        stds = [summary[method][metric]["std"] for metric in metrics]
        positions = np.arange(len(metrics)) + (index - (len(methods) - 1) / 2) * width
        axis.bar(positions, means, width, yerr=stds, capsize=3, label=method)
    axis.set_xticks(
        np.arange(len(metrics)), labels=[metric.replace("_", " ") for metric in metrics]
    )
    axis.set_ylim(0, 1)
    axis.set_ylabel("test score (mean ± std over seeds)")
    axis.set_title(title)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save_figure(figure, path)


def budget_curves_figure(
    curves: Mapping[str, Sequence[tuple[float, float, float]]],
    metric: str,
    path: Path,
    *,
    title: str,
) -> None:
    """One line per method: (labels per class, mean, std) points with error bars, log-scaled budget
    axis."""
    figure, axis = plt.subplots(figsize=(5.2, 3.8))
    for method, points in sorted(curves.items()):
        budgets, means, stds = zip(*sorted(points), strict=True)
        axis.errorbar(budgets, means, yerr=stds, marker="o", capsize=3, label=method)
    axis.set_xscale("log")
    budgets_seen = sorted({point[0] for points in curves.values() for point in points})
    axis.set_xticks(budgets_seen, labels=[f"{b:g}" for b in budgets_seen])
    axis.set_xlabel("labelled images per class")
    axis.set_ylabel(f"test {metric}")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    save_figure(figure, path)


def image_grid_figure(images: np.ndarray, path: Path, title: str, *, columns: int = 8) -> None:
    """A grid of images in [-1, 1], shape (N, C, H, W) with C = 1 or 3."""
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(columns * 0.9, rows * 0.9 + 0.4), squeeze=False
    )
    for axis in axes.ravel():
        axis.axis("off")
    for axis, image in zip(axes.ravel(), images, strict=False):
        pixels = np.clip((image.transpose(1, 2, 0) + 1) / 2, 0, 1)
        axis.imshow(pixels[..., 0] if pixels.shape[2] == 1 else pixels, cmap="gray", vmin=0, vmax=1)
    figure.suptitle(title, fontsize=9)
    save_figure(figure, path)


def embedding_scatter_figure(
    points: np.ndarray,
    pseudo_labels: np.ndarray,
    true_labels: np.ndarray,
    *,
    label_names: Sequence[str],
    path: Path,
    title: str,
) -> None:
    """Two panels over the same 2-D embedding: coloured by pseudo-label, and by the true label
    (evaluation only; grey where no true label exists)."""
    figure, axes = plt.subplots(1, 2, figsize=(9.5, 4.2), sharex=True, sharey=True)
    colours = plt.get_cmap("tab10")
    for axis, labels, panel in (
        (axes[0], pseudo_labels, "pseudo-label"),
        (axes[1], true_labels, "true label"),
    ):
        unknown = labels < 0
        axis.scatter(
            points[unknown, 0],
            points[unknown, 1],
            s=3,
            color="lightgrey",
            label="unknown" if unknown.any() else None,
        )
        for label, name in enumerate(label_names):
            rows = labels == label
            axis.scatter(
                points[rows, 0],
                points[rows, 1],
                s=3,
                color=colours(label % 10),
                label=name,
                alpha=0.6,
            )
        axis.set_title(f"coloured by {panel}")
        axis.set_xlabel("principal component 1")
    axes[0].set_ylabel("principal component 2")
    axes[1].legend(fontsize=7, markerscale=3, loc="best")
    figure.suptitle(title, y=1.02)
    save_figure(figure, path)


def distance_distribution_figure(
    distances: np.ndarray, correct: np.ndarray, path: Path, *, title: str
) -> None:
    """Distance to the chosen class centre for right and wrong pseudo-labels (PLAB-GAN Fig. 3,
    right)."""
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    bins = np.histogram_bin_edges(distances, bins=40)
    axis.hist(distances[correct], bins=bins, alpha=0.6, label=f"right ({correct.sum()})")
    axis.hist(distances[~correct], bins=bins, alpha=0.6, label=f"wrong ({(~correct).sum()})")
    axis.set_xlabel("weighted squared distance to the assigned class centre")
    axis.set_ylabel("unlabelled images")
    axis.set_title(title)
    axis.legend(fontsize=8)
    save_figure(figure, path)


def note_figure(path: Path, title: str, note: str) -> None:
    """A figure that says why there is nothing to draw (an output the pipeline still expects)."""
    figure, axis = plt.subplots(figsize=(5.2, 1.6))
    axis.axis("off")
    axis.text(0.5, 0.5, note, ha="center", va="center", wrap=True)
    axis.set_title(title)
    save_figure(figure, path)


def _two_dimensional(points: np.ndarray) -> np.ndarray:
    """The first two principal components (the points themselves when they already are 2-D)."""
    if points.shape[1] <= 2:
        return np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    centred = points - points.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T


def embedding_before_after_figure(
    before: np.ndarray,
    after: np.ndarray,
    labels: np.ndarray,
    *,
    label_names: Sequence[str],
    path: Path,
    title: str,
) -> None:
    """The same images' embedding at two moments, coloured by true label (SSLDEC's Figure 7)."""
    figure, axes = plt.subplots(1, 2, figsize=(9.5, 4.2))
    colours = plt.get_cmap("tab10")
    for axis, points, panel in (
        (axes[0], before, "after pre-training (labelled only)"),
        (axes[1], after, "after SSLDEC"),
    ):
        flat = _two_dimensional(points)
        for label, name in enumerate(label_names):
            rows = labels == label
            axis.scatter(
                flat[rows, 0], flat[rows, 1], s=4, color=colours(label % 10), label=name, alpha=0.6
            )
        axis.set_title(panel)
        axis.set_xlabel("component 1" if points.shape[1] <= 2 else "principal component 1")
    axes[0].set_ylabel("component 2" if before.shape[1] <= 2 else "principal component 2")
    axes[1].legend(fontsize=7, markerscale=3, loc="best")
    figure.suptitle(title, y=1.02)
    save_figure(figure, path)


def score_roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str
) -> None:
    """One ROC curve per (is_positive, score) pair, score higher = positive, AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, axis = plt.subplots(figsize=(5.0, 4.4))
    for name, (is_positive, score) in curves.items():
        if is_positive.all() or not is_positive.any():
            continue
        fpr, tpr, _ = roc_curve(is_positive, score)
        axis.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(is_positive, score):.3f})")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7, loc="lower right")
    save_figure(figure, path)


def image_rows_figure(rows: Sequence[tuple[str, np.ndarray]], path: Path, title: str) -> None:
    """Labelled rows of images in [-1, 1], (N, C, H, W) each, all rows the same length."""
    columns = max(len(images) for _, images in rows)
    figure, axes = plt.subplots(
        len(rows), columns, figsize=(columns * 0.9 + 2.2, len(rows) * 0.95 + 0.4), squeeze=False
    )
    for row_axes, (label, images) in zip(axes, rows, strict=True):
        for axis in row_axes:
            axis.axis("off")
        for axis, image in zip(row_axes, images, strict=False):
            pixels = np.clip((image.transpose(1, 2, 0) + 1) / 2, 0, 1)
            axis.imshow(
                pixels[..., 0] if pixels.shape[2] == 1 else pixels, cmap="gray", vmin=0, vmax=1
            )
        row_axes[0].text(
            -0.15, 0.5, label, transform=row_axes[0].transAxes, ha="right", va="center", fontsize=7
        )
    figure.suptitle(title, fontsize=9)
    save_figure(figure, path)


def heatmap_figure(
    examples: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    path: Path,
    title: str,
    *,
    columns: int = 4,
) -> None:
    """(caption, image (3, S, S) uint8, heatmap (R, R) in [0, 1], lesion mask (R, R)) per panel: the
    image with the heatmap over it and the lesion mask's outline (the patch paper's Figure 2)."""
    if not examples:
        return
    rows = int(np.ceil(len(examples) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, (caption, image, heatmap, mask) in zip(axes.ravel(), examples, strict=False):
        size = image.shape[-1]
        extent = (0, size, size, 0)
        axis.imshow(image.transpose(1, 2, 0), extent=extent)
        axis.imshow(heatmap, cmap="jet", alpha=0.4, vmin=0, vmax=1, extent=extent)
        if mask.any():
            axis.contour(
                mask.astype(float),
                levels=[0.5],
                colors="white",
                linewidths=0.6,
                extent=(0, size, 0, size),
                origin="upper",
            )
        axis.set_title(caption, fontsize=7)
    figure.suptitle(title, fontsize=9)
    save_figure(figure, path)
