"""The validation split of the shared training photos: about 20% of ``sunhays80/`` and ``urban100/``, never trained on.

Membership depends only on the file name and its folder: inside each of :data:`VALIDATION_FOLDERS` the image files
are ordered by ``sha256("<folder>/<file name>")`` and the first ``round(VALIDATION_FRACTION · n)`` are validation
photos. Adding unrelated files elsewhere does not move the split; every training loader
(:func:`neuralwrap.sandwich.training.data.list_images`) leaves these files out. Torch-free.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["VALIDATION_FOLDERS", "VALIDATION_FRACTION", "is_validation", "validation_files"]

#: training folders that give up a validation split (names of folders under the shared ``train/`` folder)
VALIDATION_FOLDERS = ("sunhays80", "urban100")
#: share of each of those folders held out (0..1)
VALIDATION_FRACTION = 0.2

_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm")


def _key(folder: str, name: str) -> str:
    return hashlib.sha256(f"{folder}/{name}".encode()).hexdigest()


@lru_cache(maxsize=16)
def _held_out(folder: str) -> frozenset[str]:
    """Resolved paths of the validation files in ``folder`` (one of the :data:`VALIDATION_FOLDERS`)."""
    root = Path(folder)
    names = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES)
    ranked = sorted(names, key=lambda n: _key(root.name, n))
    k = round(VALIDATION_FRACTION * len(ranked))
    return frozenset(str((root / n).resolve()) for n in ranked[:k])


def is_validation(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an image of the validation split (its parent folder is one of
    :data:`VALIDATION_FOLDERS` and the file ranks in that folder's held-out share)."""
    p = Path(path)
    if p.parent.name not in VALIDATION_FOLDERS or p.suffix.lower() not in _SUFFIXES:
        return False
    return str(p.resolve()) in _held_out(str(p.parent.resolve()))


def validation_files(train_root: str | os.PathLike[str]) -> list[Path]:
    """The validation photos under ``train_root`` (the shared ``train/`` folder), sorted by folder and name.

    Paths are ``train_root / folder / name`` as given (not resolved), so ``relative_to(train_root)`` works when the
    folder is reached through a symlink."""
    out: list[Path] = []
    for folder in VALIDATION_FOLDERS:
        root = Path(train_root) / folder
        if root.is_dir():
            out += sorted(root / Path(p).name for p in _held_out(str(root.resolve())))
    return out
