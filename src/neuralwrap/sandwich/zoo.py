"""The pretrained zoo: one table, name → shipped weight file + sha256, checked on load."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from neuralwrap.errors import CheckpointError, InputError

__all__ = ["ZooEntry", "ZOO", "PRETRAINED_DIR", "zoo_path", "list_models"]

PRETRAINED_DIR = Path(__file__).with_name("pretrained")


@dataclass(frozen=True)
class ZooEntry:
    """A shipped model: its files in :data:`PRETRAINED_DIR` and what it is for."""

    file: str
    """Stem of ``<file>.safetensors`` / ``<file>.json``."""
    sha256: str
    """sha256 of the safetensors file."""
    description: str
    """One line for ``sandwich models``."""


#: name → entry. Regenerate sha256 with ``sha256sum src/neuralwrap/sandwich/pretrained/*.safetensors``.
ZOO: dict[str, ZooEntry] = {}


def list_models() -> dict[str, ZooEntry]:
    """The shipped models, by name."""
    return dict(ZOO)


def zoo_path(name: str) -> Path:
    """Path of the safetensors file of the shipped model ``name`` after checking its sha256."""
    if name not in ZOO:
        known = ", ".join(sorted(ZOO)) or "(none)"
        raise InputError(f"unknown pretrained model {name!r}; shipped models: {known}")
    entry = ZOO[name]
    path = PRETRAINED_DIR / f"{entry.file}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"pretrained model file missing: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry.sha256:
        raise CheckpointError(f"pretrained model {name!r}: sha256 mismatch ({digest} != {entry.sha256}); file corrupt?")
    return path
