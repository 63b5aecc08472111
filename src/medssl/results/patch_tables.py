"""The patch SSL-GAN on fundus photographs: the retinopathy paper's Tables 1 and 2 beside ours,
with the published scores read from ``results/papers.yaml``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

from medssl.core.config import EVERY_IMAGE_LABELLED
from medssl.core.errors import MedsslError
from medssl.core.metrics import format_score
from medssl.results.labels import Reference, row_label
from medssl.results.ledger import LedgerRow
from medssl.results.provenance import Provenance
from medssl.results.stats import metric_cell, pooled_cell
from medssl.results.tables import cell_text, markdown_table

PATCH_CLASSES = 2  # healthy and retinopathy: labels_per_class labelled images of each
# (extras key, column, how it is formatted)
PATCH_EXTRAS = (
    ("image_auc", "image AUC", "auc"),
    ("image_accuracy", "image accuracy", "accuracy"),
    ("localisation_auc", "localisation AUC", "auc"),
)
ALL_LABELLED = "all"  # results/papers.yaml's key for EVERY_IMAGE_LABELLED
PAPER_COLUMNS = ("patch_auc", "image_auc")
# (method, labelled images or "all") -> {column: (mean, std)}, as results/papers.yaml prints them
PatchPaperScores = Mapping[tuple[str, int | str], Mapping[str, tuple[float, float]]]


def load_patch_paper_scores(path: Path) -> PatchPaperScores:
    """The patch SSL-GAN paper's published scores (``idrid_patches`` in ``path``)."""
    try:
        published = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["idrid_patches"]
        return {
            (method, budget): {
                column: (float(scores[column][0]), float(scores[column][1]))
                for column in PAPER_COLUMNS
            }
            for method, budgets in published.items()
            for budget, scores in budgets.items()
        }
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as error:
        raise MedsslError(
            f"{path}: no idrid_patches scores as method -> images -> "
            f"{{patch_auc: [mean, std], image_auc: [mean, std]}} ({error!r})"
        ) from error


def labelled_images(labels_per_class: int) -> int | str:
    """Labelled training images of a patch run, as results/papers.yaml counts them."""
    return (
        ALL_LABELLED
        if labels_per_class == EVERY_IMAGE_LABELLED
        else labels_per_class * PATCH_CLASSES
    )


def _extra(key: str) -> Callable[[LedgerRow], float]:
    def value(row: LedgerRow) -> float:
        found = json.loads(row.extras).get(key)
        return float("nan") if found is None else float(found)

    return value


def _paper_score(papers: PatchPaperScores, method: str, images: int | str, column: str) -> str:
    paper = papers.get((method, images))
    if paper is None:
        return "–"
    mean, std = paper[column]
    return format_score({"mean": mean, "std": std}, "auc")


def patch_markdown(
    rows: Sequence[LedgerRow],
    *,
    dataset: str,
    reference: Reference,
    provenance: Provenance,
    papers: PatchPaperScores,
) -> list[str]:
    """The patch SSL-GAN paper's Tables 1 and 2 beside ours, with the image accuracy and the
    localisation AUC of the heatmaps (its Figure 2), for every method run on ``dataset``'s
    patches."""
    cells: dict[tuple[int, str], list[LedgerRow]] = defaultdict(list)
    for row in rows:
        if row.dataset == dataset:
            cells[(row.labels_per_class, row_label(row, reference))].append(row)
    if not cells:
        return []
    table = []
    for (budget, label), runs in sorted(
        cells.items(), key=lambda item: (item[0][0] < 0, item[0][0], item[0][1])
    ):
        images, method = labelled_images(budget), runs[0].method
        table.append(
            [str(images), label, cell_text(metric_cell(runs, "auc", provenance), "auc")]
            + [
                cell_text(pooled_cell(runs, _extra(key), provenance), kind)
                for key, _, kind in PATCH_EXTRAS
            ]
            + [_paper_score(papers, method, images, c) for c in PAPER_COLUMNS]
        )
    header = [
        "labelled images", "method", "patch AUC", *(label for _, label, _ in PATCH_EXTRAS),
        "paper patch AUC", "paper image AUC",
    ]  # fmt: skip
    return [
        "## Patch SSL-GAN: IDRiD fundus photographs (the retinopathy paper's Tables 1 and 2)",
        "",
        "Test images, mean ± std over labelled draws (d; over the training seeds where there is "
        "one draw), n runs; AUCs as fractions, accuracy in %. Patch AUC is the row's test AUC; "
        "an image's score is the sum of its patches' probabilities. Localisation "
        "AUC: the pixel AUC of the patch heatmaps against the lesion maps. Checkpoints and the "
        "image threshold are chosen on the whole validation split of images, as in the paper "
        "(its 50 validation images). The paper's columns "
        "are its 5 draws out of 149 training images; this mirror has fewer (see "
        "[patch_ssgan](methods/patch_ssgan.md) for the scale and every deviation).",
        "",
        *markdown_table(header, table),
        "",
    ]
