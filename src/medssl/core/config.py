"""Typed views of ``params.yaml``.

Every section is loaded into a frozen dataclass, so a misspelt key fails at once with its
name and the keys that were expected (nanoGPT's ``GPTConfig`` pattern, made strict).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from medssl.core.errors import ConfigError

T = TypeVar("T")


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no such params file; run from the project root or pass --params"
        )
    with path.open(encoding="utf-8") as handle:
        params = yaml.safe_load(handle)
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(params).__name__}")
    return params


def section(params: Mapping[str, Any], dotted_name: str) -> Mapping[str, Any]:
    """The sub-mapping at ``a.b.c``; a missing section is an error that names it."""
    node: Any = params
    for part in dotted_name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"params.yaml has no section '{dotted_name}'")
        node = node[part]
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError(f"params.yaml section '{dotted_name}' must be a mapping, got {node!r}")
    return node


def build_config(config_class: type[T], values: Mapping[str, Any], where: str) -> T:
    """Build a (possibly nested) frozen dataclass from a mapping, rejecting unknown keys."""
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(config_class)
    kwargs = {}
    for name, field in fields.items():
        if name in values:
            kwargs[name] = _coerce(hints[name], values[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key '{name}'")
    return config_class(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return build_config(hint, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item_hint, *_rest) = typing.get_args(hint) or (Any,)
        return tuple(_coerce(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not _is_instance_strict(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _is_instance_strict(value: Any, hint: type) -> bool:
    # bool is an int subclass in Python; a YAML 'true' where a count is expected is a mistake.
    if hint is int and isinstance(value, bool):
        return False
    return isinstance(value, hint)


def config_as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
