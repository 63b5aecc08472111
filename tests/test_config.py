import dataclasses
import typing
from dataclasses import dataclass, field

import pytest

from conftest import REPO_ROOT, params_section
from medssl.core.config import build_config, load_params, section
from medssl.core.errors import ConfigError
from medssl.data.fundus import FundusConfig
from medssl.data.image_folder import ImageFolderConfig
from medssl.data.sources import DataConfig
from medssl.data.split import SplitConfig
from medssl.data.synthetic import SyntheticConfig
from medssl.methods.registry import (
    available_methods,
    method_class,
    method_config,
    resolve_method,
)
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


def _config_classes() -> list[type]:
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
    return classes + [method_class(name).config_class for name in available_methods()]


def test_no_config_class_has_defaults_of_its_own():
    """params.yaml is the one place defaults live: a config class's default could drift from it."""
    classes = _config_classes()
    with_defaults = sorted(
        f"{config.__name__}.{field.name}"
        for config in classes
        for field in dataclasses.fields(config)
        if field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING
    )
    assert not with_defaults, f"config fields with a default outside params.yaml: {with_defaults}"


# Numbers any value of which is meaningful: seeds; a schedule its method checks; UCGAN's alpha,
# the weight of a score that is rewarded when negative.
UNCONSTRAINED = {"seed", "seeds", "split_seed", "update_schedule", "UCGANConfig.alpha"}


def _is_bare_number(hint: object) -> bool:
    if hint in (int, float):
        return True
    items = typing.get_args(hint) if typing.get_origin(hint) is tuple else ()
    return any(_is_bare_number(item) for item in items)


def test_every_number_in_every_config_has_a_range():
    """A count, rate or fraction without a declared range would reach training unchecked."""
    unchecked = []
    for config in _config_classes():
        hints = typing.get_type_hints(config, include_extras=True)
        for config_field in dataclasses.fields(config):
            qualified = f"{config.__name__}.{config_field.name}"
            if (
                _is_bare_number(hints[config_field.name])
                and not {
                    config_field.name,
                    qualified,
                }
                & UNCONSTRAINED
            ):
                unchecked.append(qualified)
    assert not unchecked, f"numbers without a declared range: {sorted(set(unchecked))}"


@pytest.mark.parametrize(
    "section_name, key, value, message",
    [
        ("train", "seeds", [], "train.seeds: empty; give at least one value"),
        ("train", "validations", 0, "train.validations: 0 is out of range; allowed: >= 1"),
        ("train", "checkpoint_every", 0, "train.checkpoint_every: 0 is out of range"),
        ("train", "log_every", -1, "train.log_every: -1 is out of range; allowed: >= 1"),
        (
            "train",
            "selection_metric",
            "acuracy",
            "train.selection_metric: 'acuracy' is not known;"
            " allowed: auc_then_log_loss, accuracy, balanced_accuracy, auc, log_loss",
        ),
        ("train", "device", "gpu", "train.device: 'gpu' is not known; allowed: auto, cpu, cuda"),
        ("train", "autocast", "fp16", "train.autocast: 'fp16' is not known; allowed: none, bf16"),
        ("methods.ssgan", "batch_size", 0, "methods.ssgan.batch_size: 0 is out of range"),
        ("methods.ssgan", "batch_size", -4, "methods.ssgan.batch_size: -4 is out of range"),
        ("methods.supervised_cnn", "iterations", 0, "methods.supervised_cnn.iterations: 0 is out"),
        ("methods.ucgan", "iterations", -5, "methods.ucgan.iterations: -5 is out of range"),
        (
            "methods.ssgan",
            "dropout",
            1.5,
            "methods.ssgan.dropout: 1.5 is out of range; allowed: 0 to 1",
        ),
        (
            "methods.ssgan",
            "learning_rate",
            0.0,
            "methods.ssgan.learning_rate: 0.0 is out of range; allowed: > 0",
        ),
        ("methods.pca_svm", "c_grid", [1.0, -1.0], r"methods.pca_svm.c_grid\[1\]: -1.0 is out"),
        ("methods.pca_svm", "kernel", "rfb", "methods.pca_svm.kernel: 'rfb' is not known"),
        (
            "split",
            "labels_per_class",
            -2,
            "split.labels_per_class: -2 is out of range; allowed: >= 1, or -1",
        ),
        ("split", "labels_per_class", 0, "split.labels_per_class: 0 is out of range"),
        ("cluster", "temperature", 0.0, "cluster.temperature: 0.0 is out of range"),
        ("data.image_folder", "val_fraction", 1.2, "data.image_folder.val_fraction: 1.2 is out"),
    ],
)
def test_a_value_out_of_range_is_one_line_naming_key_value_and_range(
    section_name, key, value, message
):
    params = load_params(REPO_ROOT / "params.yaml")
    values = dict(section(params, section_name))
    values[key] = value
    config_class = {
        "train": TrainConfig,
        "split": SplitConfig,
        "cluster": ClusterConfig,
        "data.image_folder": ImageFolderConfig,
    }.get(section_name)
    with pytest.raises(ConfigError, match=message) as error:
        if config_class is None:
            method_config(section_name.split(".")[1], values)
        else:
            build_config(config_class, values, section_name)
    assert "\n" not in str(error.value)


def test_broken_yaml_is_one_line_with_its_position(tmp_path):
    broken = tmp_path / "params.yaml"
    broken.write_text("train:\n  seeds: [0, 1\n  device: auto\n")
    with pytest.raises(ConfigError, match=r"params.yaml: .* at line \d+, column \d+$"):
        load_params(broken)


def test_a_method_section_may_set_its_own_precision_over_the_train_default():
    from medssl.pipeline.train import with_loop_overrides

    train = build_config(TrainConfig, params_section("train", autocast="none"), "train")
    values = params_section("methods.ssgan", autocast="bf16")
    assert with_loop_overrides(resolve_method("ssgan", values), train).autocast == "bf16"
    assert method_config("ssgan", values) == method_config("ssgan", params_section("methods.ssgan"))
    plain = resolve_method("ssgan", params_section("methods.ssgan"))
    assert with_loop_overrides(plain, train) == train  # unset: params.train decides


def test_benchmarks_open_a_workspace_with_each_method_s_own_precision(tmp_path):
    import yaml

    from medssl.pipeline.workspace import open_workspace

    params = load_params(REPO_ROOT / "params.yaml")
    params["methods"]["ssgan"]["autocast"] = "bf16"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    workspace = open_workspace(tmp_path)
    assert workspace.method_train_config("ssgan").autocast == "bf16"
    assert workspace.method_train_config("plabgan") == workspace.train_config


def test_bf16_where_it_runs_emulated_gets_a_one_line_warning(monkeypatch):
    import torch

    from medssl.core import device as device_module

    cpu = torch.device("cpu")
    assert device_module.bf16_warning(cpu, "none") is None
    assert device_module.bf16_warning(torch.device("cuda"), "bf16") is None
    no_bf16 = {"architecture": "x86_64", "avx512_bf16": False, "amx_bf16": False}
    monkeypatch.setattr(device_module.torch.cpu, "get_capabilities", lambda: no_bf16)
    warning = device_module.bf16_warning(cpu, "bf16")
    assert warning.startswith("warning: autocast bf16") and "\n" not in warning
    amx = {**no_bf16, "amx_bf16": True}
    monkeypatch.setattr(device_module.torch.cpu, "get_capabilities", lambda: amx)
    assert device_module.bf16_warning(cpu, "bf16") is None
