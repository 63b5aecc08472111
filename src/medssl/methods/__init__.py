"""Methods: each module registers one or more methods on import (see ``registry.BUILTIN_MODULES``)."""

from medssl.methods.registry import available_methods, create_method, method_class

__all__ = ["available_methods", "create_method", "method_class"]
