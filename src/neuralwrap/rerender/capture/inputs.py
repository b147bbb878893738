"""Validation of a folder of photos before any work is written (empty, non-images, duplicates, tiny)."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from neuralwrap.errors import InputError
from neuralwrap.io.images import error_text

__all__ = ["IMAGE_SUFFIXES", "PhotoInfo", "scan_photos"]

log = logging.getLogger(__name__)

#: file suffixes (lower case) treated as photos; every other file is ignored with a log message
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})


@dataclass(frozen=True)
class PhotoInfo:
    """One valid photo of the input folder."""

    name: str
    """File name relative to the folder (the id used everywhere downstream)."""
    width: int
    """Width in pixels."""
    height: int
    """Height in pixels."""
    sha256: str
    """Hex digest of the file bytes."""


def _probe(path: Path) -> tuple[int, int]:
    """Decode ``path`` fully; return ``(width, height)`` or raise ``OSError``/``UnidentifiedImageError``."""
    with Image.open(path) as im:
        im.load()
        return im.size


def scan_photos(folder: str | os.PathLike[str], *, min_side: int = 64) -> list[PhotoInfo]:
    """List and check the photos of ``folder`` (not recursive), sorted by name.

    Files whose suffix is not an image suffix are ignored (logged). Raises :class:`InputError` with
    one (one-line) message naming every problem: folder missing, no photos, files with an image suffix that do
    not decode, identical files (same SHA-256), photos whose shorter side is below ``min_side`` px.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"photo folder not found: {root}")
    files = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
    photos = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    skipped = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if skipped:
        log.info("ignoring %d non-image files in %s: %s", len(skipped), root, ", ".join(skipped[:10]))
    if not photos:
        raise InputError(
            f"no photos found in {root} (looked for {', '.join(sorted(IMAGE_SUFFIXES))}); "
            f"{len(skipped)} other files ignored"
        )
    infos, problems = _check_each(photos, min_side)
    problems += _duplicates(infos)
    if problems:
        raise InputError(f"cannot use the photos in {root}: " + "; ".join(problems))
    return infos


def _check_each(photos: list[Path], min_side: int) -> tuple[list[PhotoInfo], list[str]]:
    infos: list[PhotoInfo] = []
    problems: list[str] = []
    for p in photos:
        try:
            w, h = _probe(p)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            problems.append(f"{p.name}: not a readable image ({error_text(exc)})")
            continue
        if min(w, h) < min_side:
            problems.append(f"{p.name}: too small ({w}x{h}; the shorter side must be >= {min_side} px)")
            continue
        infos.append(PhotoInfo(p.name, w, h, hashlib.sha256(p.read_bytes()).hexdigest()))
    return infos, problems


def _duplicates(infos: list[PhotoInfo]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for info in infos:
        if info.sha256 in seen:
            problems.append(f"{info.name}: duplicate of {seen[info.sha256]} (identical bytes); remove one of them")
        else:
            seen[info.sha256] = info.name
    return problems
