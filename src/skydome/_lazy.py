"""Lazy package exports (PEP 562), so `import skydome.x` costs only what it uses.

The CLI answers `--help` and `validate` without importing scipy, pandas or the
engine; a package `__init__` therefore names its exports here instead of
importing them, and each is imported on first attribute access.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `exports[name]` (a module path) on first use.

    Args:
        package: the package's `__name__`, for the error message.
        exports: attribute name -> module that defines it.

    Returns:
        The function to bind as the package's `__getattr__`.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
