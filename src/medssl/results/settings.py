"""The results page's research settings (``params.yaml``'s ``results`` section): which datasets and
budgets make the README's headline, which method every row is compared with, which references from
current practice, and which ablations are tabulated. Validated like every other section, and
checked against the method sections and the dataset catalogue before any page is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from medssl.core.config import NonEmpty, PositiveInt, build_config, load_params, section
from medssl.core.errors import ConfigError
from medssl.data.catalog import dataset_spec, known_dataset_names


@dataclass(frozen=True)
class HeadlineDataset:
    name: str  # as data.name spells it
    title: str  # as the headline's column says it
    # images per class of the official train and test splits, in the catalogue's label order: the
    # majority row and the test counts the headline states (an integration test reads them from
    # the data)
    train_class_counts: Annotated[tuple[PositiveInt, ...], NonEmpty()]
    test_class_counts: Annotated[tuple[PositiveInt, ...], NonEmpty()]

    @property
    def majority_class(self) -> int:
        """The most frequent class of the official train split."""
        return max(range(len(self.train_class_counts)), key=self.train_class_counts.__getitem__)


@dataclass(frozen=True)
class HeadlineConfig:
    datasets: Annotated[tuple[HeadlineDataset, ...], NonEmpty()]
    budgets: Annotated[tuple[PositiveInt, ...], NonEmpty()]  # labels per class
    image_size: PositiveInt


@dataclass(frozen=True)
class Ablation:
    method: str
    params: Annotated[tuple[str, ...], NonEmpty()]  # varied together, each a key of the section


@dataclass(frozen=True)
class ResultsConfig:
    reference_method: str
    current_practice: tuple[str, ...]
    headline: HeadlineConfig
    ablations: tuple[Ablation, ...]
    patch_dataset: str


def load_results_config(params_path: Path) -> ResultsConfig:
    """The ``results`` section, with every method it names a section of ``methods`` and every
    dataset one the catalogue knows."""
    params = load_params(params_path)
    config = build_config(ResultsConfig, section(params, "results"), "results")
    methods = section(params, "methods")
    named = [
        ("results.reference_method", config.reference_method),
        *(("results.current_practice", m) for m in config.current_practice),
        *(("results.ablations", a.method) for a in config.ablations),
    ]
    for where, method in named:
        if method not in methods or method == "enabled":
            raise ConfigError(f"{where}: '{method}' is not a method section of params.yaml")
    for ablation in config.ablations:
        unknown = [key for key in ablation.params if key not in methods[ablation.method]]
        if unknown:
            raise ConfigError(
                f"results.ablations: {ablation.method} has no param(s) {', '.join(unknown)}"
            )
    datasets = known_dataset_names()
    for where, name in [
        *(("results.headline.datasets", d.name) for d in config.headline.datasets),
        ("results.patch_dataset", config.patch_dataset),
    ]:
        if name not in datasets:
            raise ConfigError(f"{where}: '{name}' is not known; allowed: {', '.join(datasets)}")
    for dataset in config.headline.datasets:
        classes = len(dataset_spec(dataset.name).label_names)
        for key in ("train_class_counts", "test_class_counts"):
            if len(getattr(dataset, key)) != classes:
                raise ConfigError(
                    f"results.headline.datasets: {dataset.name}'s {key} has "
                    f"{len(getattr(dataset, key))} counts; it has {classes} classes"
                )
    return config
