import dataclasses
from dataclasses import dataclass, field

import pytest

from conftest import REPO_ROOT
from medssl.core.config import build_config, load_params, section
from medssl.core.errors import ConfigError
from medssl.data.fundus import FundusConfig
from medssl.data.image_folder import ImageFolderConfig
from medssl.data.sources import DataConfig
from medssl.data.split import SplitConfig
from medssl.data.synthetic import SyntheticConfig
from medssl.methods.registry import available_methods, method_class, method_config
from medssl.pipeline.cluster import ClusterConfig
from medssl.pipeline.features import FeaturesConfig
from medssl.pipeline.runs import TrainConfig


@dataclass(frozen=True)
class Inner:
    rate: float = 0.1


@dataclass(frozen=True)
class Outer:
    count: int
    inner: Inner = field(default_factory=Inner)
    names: tuple[str, ...] = ()


def test_nested_sections_and_lists_are_built():
    config = build_config(Outer, {"count": 3, "inner": {"rate": 1}, "names": ["a", "b"]}, "outer")
    assert config == Outer(count=3, inner=Inner(rate=1.0), names=("a", "b"))
    assert isinstance(config.inner.rate, float)


def test_misspelt_key_is_named_with_the_expected_keys():
    with pytest.raises(
        ConfigError, match=r"outer.inner: unknown key\(s\) rat; expected some of rate"
    ):
        build_config(Outer, {"count": 1, "inner": {"rat": 0.2}}, "outer")


def test_missing_required_key_and_wrong_type_are_errors():
    with pytest.raises(ConfigError, match="missing required key 'count'"):
        build_config(Outer, {}, "outer")
    with pytest.raises(ConfigError, match="outer.count: expected int, got True"):
        build_config(Outer, {"count": True}, "outer")
    with pytest.raises(ConfigError, match="expected float, got '1e-4'"):
        build_config(Inner, {"rate": "1e-4"}, "inner")  # PyYAML reads 1e-4 (no dot) as a string


def test_the_project_params_file_parses_into_every_config():
    params = load_params(REPO_ROOT / "params.yaml")
    for config_class, name in (
        (DataConfig, "data"),
        (SplitConfig, "split"),
        (FeaturesConfig, "features"),
        (ClusterConfig, "cluster"),
        (TrainConfig, "train"),
    ):
        build_config(config_class, section(params, name), name)
    for name in available_methods():
        method_config(name, section(params, f"methods.{name}"))


def test_unknown_method_lists_registered_ones():
    with pytest.raises(ConfigError, match="unknown method 'svm'; registered methods: .*pca_svm"):
        method_config("svm", {})


def test_no_config_class_has_defaults_of_its_own():
    """params.yaml is the one place defaults live: a config class's default could drift from it."""
    classes = [
        DataConfig,
        SplitConfig,
        FeaturesConfig,
        ClusterConfig,
        TrainConfig,
        FundusConfig,
        ImageFolderConfig,
        SyntheticConfig,
    ]
    classes += [method_class(name).config_class for name in available_methods()]
    with_defaults = sorted(
        f"{config.__name__}.{field.name}"
        for config in classes
        for field in dataclasses.fields(config)
        if field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING
    )
    assert not with_defaults, f"config fields with a default outside params.yaml: {with_defaults}"
