"""Where data lives: files shipped inside the package, and the developer data folders of ``shared/data``.

Shipped files (pretrained models, proxy parameters, demo photos) are found with :mod:`importlib.resources`,
so they work from an installed wheel in any working directory; nothing in the package computes paths from
``__file__``::

    package_file("neuralwrap.proxies", "jpeg_rate_params.json")   # a Path (extracted if zipped)

The shared developer data (``kodak``, ``train``, ``hdr``, ``video``, ``models`` ... of ``shared/data``, see
its MANIFEST.md) is not shipped. :func:`default_data` looks for ``<root>/<name>`` in, in order:

1. ``$NEURALWRAP_DATA`` (a folder holding those subfolders);
2. ``./shared/data`` of the current directory;
3. ``../shared/data`` (the layout of a checkout beside ``shared/``, run from the checkout).

Commands take ``--data`` (or a similar flag) to override it; :func:`require_data` raises an
:class:`~neuralwrap.errors.InputError` naming that flag and the variable when nothing is found.
"""

from __future__ import annotations

import atexit
import os
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

from neuralwrap.errors import InputError

__all__ = ["DATA_ENV", "data_roots", "default_data", "package_file", "read_package_text", "require_data"]

#: environment variable naming a ``shared/data``-like folder (its subfolders: kodak, train, hdr, video ...)
DATA_ENV = "NEURALWRAP_DATA"

_EXTRACTED = ExitStack()
atexit.register(_EXTRACTED.close)


def _resource(package: str, name: str):  # -> importlib.resources.abc.Traversable
    res = files(package)
    for part in name.split("/"):
        if part:
            res = res / part
    return res


@cache
def package_file(package: str, name: str) -> Path:
    """Filesystem path of the shipped file or folder ``name`` (``"a/b.json"``) of ``package`` (a dotted module
    name, e.g. ``"neuralwrap.sandwich"``). Installed normally it is the file itself; from a zipped install it
    is a temporary copy kept until the interpreter exits. The path may not exist: check before use."""
    res = _resource(package, name)
    if isinstance(res, Path):
        return res
    return _EXTRACTED.enter_context(as_file(res))


def read_package_text(package: str, name: str) -> str:
    """Text (UTF-8) of the shipped file ``name`` of ``package``."""
    return _resource(package, name).read_text(encoding="utf-8")


def data_roots() -> list[Path]:
    """The candidate ``shared/data`` folders, in resolution order (see the module docstring)."""
    roots = []
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        roots.append(Path(env).expanduser())
    cwd = Path.cwd()
    roots += [cwd / "shared" / "data", cwd.parent / "shared" / "data"]
    return roots


def default_data(name: str) -> Path | None:
    """``<root>/<name>`` (a folder such as ``"kodak"`` or a file such as ``"kodak/kodim01.png"``) of the first
    root of :func:`data_roots` that has it; None when none does."""
    for root in data_roots():
        if (root / name).exists():
            return root / name
    return None


def require_data(name: str, flag: str = "--data") -> Path:
    """:func:`default_data` or an :class:`InputError` that says how to point at the data (``flag`` or
    ``$NEURALWRAP_DATA``)."""
    found = default_data(name)
    if found is None:
        looked = ", ".join(str(r / name) for r in data_roots())
        raise InputError(
            f"no {name} data found (looked in {looked}); pass {flag} or set {DATA_ENV} to a folder holding {name}/"
        )
    return found
