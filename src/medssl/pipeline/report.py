"""The report stage: one table and one figure comparing every enabled method at this budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medssl.core import plots
from medssl.core.errors import DataError
from medssl.core.io import read_json, write_text
from medssl.core.metrics import HEADLINE_METRICS, METRIC_LABELS, budget_text, format_score


def load_method_metrics(methods: Sequence[str], detail_dir: Path) -> dict[str, dict[str, Any]]:
    """Each method's evaluation detail (``metrics/detail/<method>.json``)."""
    loaded = {}
    for method in methods:
        path = detail_dir / f"{method}.json"
        if not path.is_file():
            raise DataError(
                f"{path} is missing; run the evaluate stage for {method} (dvc repro "
                f"evaluate@{method})"
            )
        loaded[method] = read_json(path)
    return loaded


def _validation_text(result: Mapping[str, Any]) -> str:
    budget, images = result.get("val_labels_per_class", 0), result.get("val_images")
    if not budget:
        return "the whole official validation split" + (f" ({images} images)" if images else "")
    return f"{images} labelled validation images (at most {budget} per class)"


def summary_markdown(results: Mapping[str, Mapping[str, Any]]) -> str:
    first = next(iter(results.values()))
    seeds = ", ".join(str(s) for s in first["seeds"])
    lines = [
        f"# {first['dataset']} ({first['image_size']} px), "
        f"{budget_text(first['labels_per_class'])}",
        "",
        f"Test split, mean ± std over training seeds {seeds} (split seed {first['split_seed']}). "
        "Accuracies in %, macro one-vs-rest AUC as a fraction; models selected on "
        f"{_validation_text(first)}.",
        "",
        "| method | "
        + " | ".join(METRIC_LABELS[m] for m in HEADLINE_METRICS)
        + " | train s / seed |",
        "|---|" + "---|" * (len(HEADLINE_METRICS) + 1),
    ]
    for method, result in results.items():
        cells = [format_score(result["test"][m], m) for m in HEADLINE_METRICS]
        lines.append(
            f"| {method} | " + " | ".join(cells) + f" | {result['train_seconds']['mean']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def pseudo_label_markdown(cluster: Mapping[str, Any]) -> str:
    if not cluster["images"]:
        return "\nPseudo-labels: none, every training image is labelled.\n"
    per_class = ", ".join(
        f"{name} {100 * value:.1f}"
        for name, value in cluster["per_class_accuracy"].items()
        if value is not None
    )
    return (
        "\nPseudo-labels of the cluster stage (used by plabgan): "
        f"{100 * cluster['pseudo_label_accuracy']:.1f} % "
        f"right over {cluster['images']} unlabelled images (per class: {per_class}).\n"
    )


def build_report(
    methods: Sequence[str],
    *,
    detail_dir: Path,
    markdown_path: Path,
    figure_path: Path,
    cluster_metrics: Path | None = None,
) -> str:
    results = load_method_metrics(methods, detail_dir)
    markdown = summary_markdown(results)
    if cluster_metrics is not None and cluster_metrics.is_file():
        markdown += pseudo_label_markdown(read_json(cluster_metrics))
    write_text(markdown_path, markdown)
    first = next(iter(results.values()))
    plots.method_comparison_figure(
        {method: result["test"] for method, result in results.items()},
        list(HEADLINE_METRICS),
        figure_path,
        title=f"{first['dataset']}, {budget_text(first['labels_per_class'])}",
    )
    return markdown
