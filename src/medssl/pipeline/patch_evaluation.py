"""Image-level prediction and lesion localisation from patch predictions (the patch SSL-GAN paper).

score_i = sum_j sigma(l_ij) over image i's patches, sigma(l_ij) being the patch's probability of
"diseased" (for a K+1 discriminator: the softmax over the real classes, which for two classes is the
sigmoid of the logit difference); image i is called diseased when score_i exceeds a threshold chosen
on the validation images (highest accuracy). Any method's patch probabilities go through the same
aggregation, so the baselines are compared on equal terms.

Interpretation (the paper's Figure 2): the patch scores laid on the image grid, upsampled and
smoothed with a Gaussian blur of half a patch. The localisation AUC is the pixel-level AUC of that
heatmap against the lesion masks, pooled over the test images with retinopathy (the question there
is where the lesions are, not which image has some), at 128 x 128 pixels (a pixel is lesion when any
of the full-resolution pixels it covers is).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from medssl.core import plots
from medssl.core.metrics import best_threshold, binary_auc

HEATMAP_SIZE = 128
EXAMPLES_PER_OUTCOME = 2


def image_scores(
    diseased_probability: np.ndarray, patch_image: np.ndarray, images: int
) -> np.ndarray:
    return np.bincount(patch_image, weights=diseased_probability, minlength=images)


def heatmaps(
    diseased_probability: np.ndarray,
    patch_image: np.ndarray,
    *,
    patch_row: np.ndarray,
    patch_column: np.ndarray,
    images: int,
    grid: int,
    size: int = HEATMAP_SIZE,
) -> np.ndarray:
    """(images, size, size): each patch's probability over its cell, blurred with sigma = half a
    cell."""
    maps = np.zeros((images, grid, grid))
    maps[patch_image, patch_row, patch_column] = diseased_probability
    cell = size // grid
    upsampled = maps.repeat(cell, axis=1).repeat(cell, axis=2)
    return np.stack([gaussian_filter(one, sigma=cell / 2, mode="nearest") for one in upsampled])


def downsample_masks(masks: np.ndarray, size: int = HEATMAP_SIZE) -> np.ndarray:
    count, full, _ = masks.shape
    step = full // size
    return (
        masks[:, : size * step, : size * step]
        .reshape(count, size, step, size, step)
        .any(axis=(2, 4))
    )


def patch_image_evaluation(
    test_probabilities: np.ndarray,
    val_probabilities: np.ndarray,
    *,
    test_images: dict[str, np.ndarray],
    val_images: dict[str, np.ndarray],
    plots_dir: Path,
    title: str,
    seed: int,
) -> dict[str, float]:
    val_scores = image_scores(
        val_probabilities[:, 1], val_images["patch_image"], len(val_images["disease"])
    )
    threshold, _ = best_threshold(val_images["disease"] == 1, val_scores)
    test_disease = test_images["disease"] == 1
    test_scores = image_scores(
        test_probabilities[:, 1], test_images["patch_image"], len(test_disease)
    )
    called = test_scores >= threshold
    grid = int(test_images["grid"])
    maps = heatmaps(
        test_probabilities[:, 1],
        test_images["patch_image"],
        patch_row=test_images["patch_row"],
        patch_column=test_images["patch_column"],
        images=len(test_disease),
        grid=grid,
    )
    masks = downsample_masks(test_images["masks"])
    lesion_images = test_disease & masks.any(axis=(1, 2))
    metrics = {
        "image_auc": binary_auc(test_disease, test_scores),
        "image_accuracy": float(np.mean(called == test_disease)),
        "image_balanced_accuracy": float(
            np.mean([np.mean(called[test_disease]), np.mean(~called[~test_disease])])
        ),
        "localisation_auc": binary_auc(
            masks[lesion_images].reshape(-1), maps[lesion_images].reshape(-1)
        ),
    }
    outcomes = {
        "true positive": test_disease & called,
        "false negative": test_disease & ~called,
        "false positive": ~test_disease & called,
        "true negative": ~test_disease & ~called,
    }
    examples = [
        (outcome, int(index))
        for outcome, rows in outcomes.items()
        for index in np.flatnonzero(rows)[:EXAMPLES_PER_OUTCOME]
    ]
    plots.heatmap_figure(
        [
            (
                f"{test_images['names'][i]}: {outcome}, score {test_scores[i]:.1f}",
                test_images["images"][i],
                maps[i],
                masks[i],
            )
            for outcome, i in examples
        ],
        plots_dir / f"heatmaps_seed{seed}.png",
        f"{title}: patch scores (threshold {threshold:.1f})",
    )
    return metrics
