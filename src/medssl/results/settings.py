"""The results page's research settings (``params.yaml``'s ``results`` section): which datasets and
budgets make the README's headline, which method every row is compared with, which references from
current practice, and which ablations are tabulated. Validated like every other section, and
checked against the method sections and the dataset catalogue before any page is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

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
    # labelled draws the protocol asks for at each budget, in budgets' order: a cell with fewer is
    # shown as incomplete (d=3 of 10)
    draws: Annotated[tuple[PositiveInt, ...], NonEmpty()]
    image_size: PositiveInt

    def required_draws(self, budget: int) -> int:
        return dict(zip(self.budgets, self.draws, strict=True))[budget]


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
    # the equal-footing baseline: reference_method's runs with these params (augmentation), the
    # baseline of every paired difference where a cell has them; empty: its params.yaml defaults
    reference_params: Mapping[str, Any] = field(default_factory=dict)


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
    if not isinstance(config.reference_params, Mapping):
        raise ConfigError(
            f"results.reference_params: expected a mapping, got {config.reference_params!r}"
        )
    unknown = [k for k in config.reference_params if k not in methods[config.reference_method]]
    if unknown:
        raise ConfigError(
            f"results.reference_params: {config.reference_method} has no param(s) "
            f"{', '.join(unknown)}"
        )
    for ablation in config.ablations:
        unknown = [key for key in ablation.params if key not in methods[ablation.method]]
        if unknown:
            raise ConfigError(
                f"results.ablations: {ablation.method} has no param(s) {', '.join(unknown)}"
            )
    if len(config.headline.draws) != len(config.headline.budgets):
        raise ConfigError(
            f"results.headline.draws has {len(config.headline.draws)} values; it needs one per "
            f"budget ({len(config.headline.budgets)})"
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
