"""Methods: each module registers one or more methods on import; importing this package registers all.

Imports are explicit so a broken method fails loudly here instead of silently vanishing from the registry.
"""

from medssl.methods import pca_svm, supervised  # noqa: F401  (registration side effect)
from medssl.methods.registry import available_methods, create_method, method_class

__all__ = ["available_methods", "create_method", "method_class"]
