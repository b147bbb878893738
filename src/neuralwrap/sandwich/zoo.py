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
ZOO: dict[str, ZooEntry] = {
    "jpeg420": ZooEntry(
        "jpeg420", "042c342ca45d954b3fb5ab7786e51b5dd0094b83085db2bc27405b4c6ee8953b",
        "JPEG 4:2:0 (optimised Huffman), q 5-95: slim pre (57K) + post (488K)",
    ),
    "jpeg420-postonly": ZooEntry(
        "jpeg420-postonly", "9f4a2b2cb634471229fedb5770e531c1d037277387030a22ce1aabee21ad4711",
        "baseline: JPEG 4:2:0 post-processor only (543K, same size and budget as jpeg420)",
    ),
    "jpeg444": ZooEntry(
        "jpeg444", "954d8f1d61dabe9ae20779a6cbf0dadc625432deaf98804c737009e20ebac8a3",
        "JPEG 4:4:4 (optimised Huffman), q 5-95: slim pre (57K) + post (488K)",
    ),
    "jpeg444-postonly": ZooEntry(
        "jpeg444-postonly", "150b16920da1f0786641813d2ade5bf160f5cc849da92f19742466118250132e",
        "baseline: JPEG 4:4:4 post-processor only (543K, same size and budget as jpeg444)",
    ),
}


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
