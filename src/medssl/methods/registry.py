"""Method registry: ``@register("name")`` on a Method subclass; the params section ``methods.<name>``
is built into that class's ``config_class``. Adding a method is one module plus one params section."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from medssl.config import build_config
from medssl.data.prepared import DatasetInfo
from medssl.errors import ConfigError
from medssl.methods.base import Method

M = TypeVar("M", bound=type[Method])

_METHODS: dict[str, type[Method]] = {}

# Imported on first lookup rather than at package import: method modules import the training loop,
# which imports ``medssl.methods.base``, so importing them from ``medssl/methods/__init__`` is circular.
# The list is explicit so that a broken method fails loudly instead of silently leaving the registry.
BUILTIN_MODULES = ("medssl.methods.supervised", "medssl.methods.pca_svm", "medssl.methods.ssgan",
                   "medssl.methods.ssldec", "medssl.methods.cgan_aug", "medssl.methods.ucgan",
                   "medssl.methods.anogan", "medssl.methods.patch_ssgan", "medssl.methods.patch_baselines")


def _load_builtin_methods() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def register(name: str) -> Callable[[M], M]:
    def decorate(method_class: M) -> M:
        if name in _METHODS:
            raise ValueError(f"method '{name}' is registered twice ({_METHODS[name].__name__}, {method_class.__name__})")
        method_class.name = name
        _METHODS[name] = method_class
        return method_class

    return decorate


def available_methods() -> tuple[str, ...]:
    _load_builtin_methods()
    return tuple(sorted(_METHODS))


def method_class(name: str) -> type[Method]:
    _load_builtin_methods()
    if name not in _METHODS:
        raise ConfigError(f"unknown method '{name}'; registered methods: {', '.join(available_methods())}")
    return _METHODS[name]


def method_config(name: str, values: Mapping[str, Any]) -> Any:
    return build_config(method_class(name).config_class, values, f"methods.{name}")


def create_method(name: str, values: Mapping[str, Any], info: DatasetInfo) -> Method:
    return method_class(name)(method_config(name, values), info)
