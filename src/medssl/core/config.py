"""Typed views of ``params.yaml``.

Every section is loaded into a frozen dataclass, so a misspelt key fails at once with its
name and the keys that were expected (nanoGPT's ``GPTConfig`` pattern, made strict). A field's
allowed values ride on its type (``PositiveInt``, ``Fraction``, ``OneOf(...)``), so a bad value
fails at load time, before any work starts, in one line naming the key, the value and the range.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml

from medssl.core.errors import ConfigError

T = TypeVar("T")

# split.labels_per_class for "every training image labelled": the patch datasets' fully
# supervised setting (the retinopathy paper's 149/149). It is not a count, so validation, titles,
# tables and sorting treat it apart.
EVERY_IMAGE_LABELLED = -1


@dataclasses.dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (``low < value`` when ``low_open``); ``None`` leaves a side open."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def check(self, value: Any, where: str) -> None:
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and value > self.high
        if below or above:
            raise ConfigError(f"{where}: {value!r} is out of range; allowed: {self.describe()}")

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{self.low:g} to {self.high:g}"


class OneOf:
    def __init__(self, *choices: str) -> None:
        self.choices = choices

    def check(self, value: Any, where: str) -> None:
        if value not in self.choices:
            allowed = ", ".join(self.choices)
            raise ConfigError(f"{where}: {value!r} is not known; allowed: {allowed}")


@dataclasses.dataclass(frozen=True)
class Matches:
    """The whole value matches ``pattern``; ``shown`` is what the error calls allowed."""

    pattern: str
    shown: str

    def check(self, value: Any, where: str) -> None:
        if re.fullmatch(self.pattern, value) is None:
            raise ConfigError(f"{where}: {value!r} is not known; allowed: {self.shown}")


class NonEmpty:
    def check(self, value: Any, where: str) -> None:
        if len(value) == 0:
            raise ConfigError(f"{where}: empty; give at least one value")


PositiveInt = Annotated[int, Range(low=1)]
NonNegativeInt = Annotated[int, Range(low=0)]
PositiveFloat = Annotated[float, Range(low=0, low_open=True)]
NonNegativeFloat = Annotated[float, Range(low=0)]
Fraction = Annotated[float, Range(low=0, high=1)]


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no such params file; run from the project root or pass --params"
        )
    try:
        with path.open(encoding="utf-8") as handle:
            params = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: {problem}{where}") from None
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
    hints = typing.get_type_hints(config_class, include_extras=True)
    kwargs = {}
    for name, field in fields.items():
        if name in values:
            kwargs[name] = _coerce(hints[name], values[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key '{name}'")
    return config_class(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *constraints = typing.get_args(hint)
        value = _coerce(base, value, where)
        for constraint in constraints:
            constraint.check(value, where)
        return value
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
