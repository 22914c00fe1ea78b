"""Packages that load their public names on first use (PEP 562), so importing them stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, table: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``table[name]`` (a module path) on first use and keeps it.

    ``table`` values are full module names, or ``.name`` relative to ``package``.
    """

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        path = package + module if module.startswith(".") else module
        value = getattr(importlib.import_module(path), name)
        namespace[name] = value
        return value

    return __getattr__


__all__ = ["lazy_getattr"]
