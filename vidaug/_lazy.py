"""Packages whose names load on first use (PEP 562), so importing them is instant and heavy
dependencies (Keras, FAISS) start only with the names that need them.

vidaug's one lazy-loading mechanism for package names: a package lists ``name → submodule`` and
sets ``__getattr__, __dir__ = lazy_names(__name__, where)``; an import inside a function is kept
for optional or heavy third-party modules only (TensorFlow, Ray, albumentations).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: name ``n`` comes from the submodule
    ``package.<where[n]>`` the first time it is asked for.

    Args:
        package: the package's ``__name__``.
        where: lazy name → the submodule (relative to ``package``) that defines it.

    Returns:
        The package's ``__getattr__`` and ``__dir__`` (its names loaded or not, sorted).
    """

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
