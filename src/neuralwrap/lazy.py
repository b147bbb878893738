"""Lazy package exports (PEP 562): a package lists ``name -> module`` and each name is imported on first use.

A package ``__init__`` that imported all of its modules eagerly would make ``sandwich --help`` load torch and every
codec, and would tie the package to its submodules at import time. With a table, ``import neuralwrap.sandwich``
is instant and ``neuralwrap.sandwich.load_pretrained`` still works as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``table`` (public name → module that defines it)."""

    def __getattr__(name: str) -> object:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(table[name]), name)

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__
