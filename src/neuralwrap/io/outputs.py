"""Output safety shared by every command that writes files: an output never resolves to an input (same path,
symlink or hard link), an existing output is replaced only when the user says so, and the output's format is
checked before any work starts. Writing itself is atomic (:mod:`neuralwrap.io.atomic`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from neuralwrap.errors import InputError

__all__ = ["LOSSLESS_IMAGE_SUFFIXES", "check_output", "refuse_inputs", "same_file"]

#: lossless image formats a decoded image may be written as (the reconstruction is not re-compressed)
LOSSLESS_IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".ppm")

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name one file: equal after resolving symlinks, or (both existing) the same
    inode, which also catches hard links."""
    pa, pb = Path(a), Path(b)
    if pa.resolve() == pb.resolve():
        return True
    try:
        return os.path.samefile(pa, pb)
    except OSError:
        return False


def _inside(child: Path, folder: Path) -> bool:
    """True when ``child`` lies in ``folder`` (or is it), symlinks resolved."""
    c, f = child.resolve(), folder.resolve()
    return c == f or f in c.parents


def refuse_inputs(output: PathLike, inputs: Iterable[PathLike | None]) -> Path:
    """``output`` as a :class:`Path`; :class:`InputError` when it is one of ``inputs`` (None entries ignored).
    For outputs that are folders written into (reports, run folders), where replacing is not at stake."""
    out = Path(output)
    for given in inputs:
        if given is not None and same_file(out, given):
            raise InputError(
                f"output {out} is the input {given}: refusing to overwrite an input; choose another output"
            )
    return out


def check_output(
    output: PathLike,
    inputs: Iterable[PathLike | None] = (),
    *,
    force: bool = False,
    folder: bool = False,
    suffixes: Sequence[str] | None = None,
    flag: str = "--force",
) -> Path:
    """Check ``output`` before any work; returns it as a :class:`Path`.

    Raises :class:`InputError` when the output is one of ``inputs`` (never allowed, not even with ``force``),
    when a file output's suffix is not one of ``suffixes`` (lower-case, with the dot), when a folder output
    (``folder=True``) would hold an input (replacing the folder would delete it), or when the output already
    exists and ``force`` is False (the message names ``flag``).
    """
    inputs = list(inputs)
    out = refuse_inputs(output, inputs)
    if folder:
        for given in inputs:
            if given is not None and Path(given).exists() and _inside(Path(given), out):
                raise InputError(
                    f"output folder {out} holds the input {given}: refusing to replace it; choose another output folder"
                )
    if not folder and suffixes is not None and out.suffix.lower() not in suffixes:
        got = out.suffix or "no extension"
        raise InputError(f"output {out}: unsupported format ({got}); use a name ending in {', '.join(suffixes)}")
    if out.is_symlink() and not out.exists():
        raise InputError(f"output {out} is a dangling symlink; remove it or choose another output")
    if out.exists():
        if out.is_dir() != folder:
            kind = "a folder" if out.is_dir() else "a file"
            raise InputError(f"output {out} exists and is {kind}; choose another output")
        if not force and not (folder and not any(out.iterdir())):
            raise InputError(f"output {out} exists; pass {flag} to replace it")
    return out
