from dataclasses import dataclass, field

import pytest

from medssl.config import build_config, load_params, section
from medssl.data.sources import DataConfig
from medssl.errors import ConfigError
from medssl.methods.registry import method_config
from medssl.training import TrainConfig
from conftest import REPO_ROOT


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
    with pytest.raises(ConfigError, match=r"outer.inner: unknown key\(s\) rat; expected some of rate"):
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
    build_config(DataConfig, section(params, "data"), "data")
    build_config(TrainConfig, section(params, "train"), "train")
    for name in params["methods"]["enabled"]:
        method_config(name, section(params, f"methods.{name}"))


def test_unknown_method_lists_registered_ones():
    with pytest.raises(ConfigError, match="unknown method 'svm'; registered methods: .*pca_svm"):
        method_config("svm", {})
