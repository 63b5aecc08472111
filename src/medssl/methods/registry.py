"""The method registry. Method ``<name>`` lives in the folder ``methods/<name>/``, whose
``method.py`` registers it with ``@register("<name>")``; its params section is ``methods.<name>``.
Adding a method is one folder plus one params section.

A lookup imports that one folder (and what it imports), never the others: the train and evaluate
stages of a method then run, and depend on, its own code alone (see the deps in ``dvc.yaml``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from medssl.core.config import OneOf, build_config
from medssl.core.device import AUTOCAST_MODES
from medssl.core.errors import ConfigError
from medssl.data.prepared import DatasetInfo
from medssl.methods.base import Method

M = TypeVar("M", bound=type[Method])

METHODS_PACKAGE = "medssl.methods"
METHODS_FOLDER = Path(__file__).resolve().parent
# Folders of the methods package that hold code for several methods, not a method of their own.
NOT_METHODS = ("shared", "__pycache__")

_METHODS: dict[str, type[Method]] = {}


def register(name: str) -> Callable[[M], M]:
    def decorate(method_class: M) -> M:
        if name in _METHODS and _METHODS[name] is not method_class:
            raise ValueError(
                f"method '{name}' is registered twice ({_METHODS[name].__name__}, "
                f"{method_class.__name__})"
            )
        method_class.name = name
        _METHODS[name] = method_class
        return method_class

    return decorate


def available_methods() -> tuple[str, ...]:
    """Every method folder, registered or not yet imported."""
    return tuple(
        sorted(
            folder.name
            for folder in METHODS_FOLDER.iterdir()
            if folder.is_dir()
            and folder.name not in NOT_METHODS
            and (folder / "method.py").is_file()
        )
    )


def method_module(name: str) -> str:
    """The module that registers method ``name``."""
    return f"{METHODS_PACKAGE}.{name}.method"


def method_class(name: str) -> type[Method]:
    if name not in _METHODS:
        if name not in available_methods():
            raise ConfigError(
                f"unknown method '{name}'; registered methods: {', '.join(available_methods())}"
            )
        # A method that fails to import fails loudly here, with its own traceback: nothing is
        # skipped.
        importlib.import_module(method_module(name))
        if name not in _METHODS:
            raise ConfigError(
                f"{method_module(name)} does not register a method named '{name}' "
                f'(@register("{name}") on its class)'
            )
    return _METHODS[name]


# Loop settings of params.train that a step-loop method's section may set for itself (a precision
# measured for that method), with their allowed values; the method's own config never sees them.
LOOP_KEYS = {"autocast": OneOf(*AUTOCAST_MODES)}


def loop_overrides(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The loop settings ``methods.<name>`` sets for itself, checked; {} when it sets none."""
    given = {key: values[key] for key in LOOP_KEYS if key in values}
    for key, value in given.items():
        LOOP_KEYS[key].check(value, f"methods.{name}.{key}")
    return given


def method_config(name: str, values: Mapping[str, Any]) -> Any:
    own = {key: value for key, value in values.items() if key not in LOOP_KEYS}
    return build_config(method_class(name).config_class, own, f"methods.{name}")


@dataclass(frozen=True)
class ResolvedMethod:
    """A method looked up once: its name, class, checked config, and the loop settings its params
    section sets for itself. Picklable, so a seed's worker process gets it whole."""

    name: str
    method_class: type[Method]
    config: Any
    loop_overrides: Mapping[str, Any]

    def create(self, info: DatasetInfo) -> Method:
        """A fresh, untrained instance for a dataset."""
        return self.method_class(self.config, info)


def resolve_method(name: str, values: Mapping[str, Any]) -> ResolvedMethod:
    """Method ``name`` with its ``methods.<name>`` section ``values``, checked once."""
    return ResolvedMethod(
        name, method_class(name), method_config(name, values), loop_overrides(name, values)
    )


def create_method(name: str, values: Mapping[str, Any], info: DatasetInfo) -> Method:
    return resolve_method(name, values).create(info)
