"""The ``manifest.json`` of an ONNX export folder: its constants, and reading it as untrusted input (torch-free).

One entry per model::

    {"version": "1", "codec": "jpeg", "subsampling": "420", "in_channels": 3, "code_channels": 3,
     "out_channels": 3, "scale": 1, "app": null, "quality_range": [5, 95], "pre": "<name>.pre.onnx",
     "pre_fixed": false, "post": "<name>.post.onnx", "post_int8": "<name>.post.int8.onnx" | null,
     "sha256": {"<file>": "<hex>"}, "opset": 20}
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from neuralwrap.errors import CheckpointError, InputError

__all__ = ["MANIFEST", "MIN_CODE_SIDE", "ONNX_FORMAT", "ONNX_FORMAT_VERSION", "new_manifest", "read_manifest"]

#: name of the decoder's JSON in an export folder
MANIFEST = "manifest.json"
#: ``format`` field of the manifest
ONNX_FORMAT = "neuralwrap-onnx"
#: ``format_version`` of the manifest this package writes and reads
ONNX_FORMAT_VERSION = 1
#: smallest code-image side (pixels) the exported graphs accept: one carrier period
MIN_CODE_SIDE = 8

_FILE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,80}\.onnx")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_INTS = {"in_channels": (1, 64), "code_channels": (1, 3), "out_channels": (1, 64), "scale": (1, 8)}


def new_manifest() -> dict[str, Any]:
    """An empty manifest."""
    return {"format": ONNX_FORMAT, "format_version": ONNX_FORMAT_VERSION, "models": {}}


def _check_entry(name: str, entry: Any, path: Path) -> None:
    """Raise :class:`CheckpointError` unless ``entry`` has the fields the decoder relies on, with sane values
    (file names are plain names inside the folder, sha256 given for each)."""
    where = f"{path}: model {name!r}"
    if not isinstance(entry, dict):
        raise CheckpointError(f"{where}: entry must be a JSON object")
    if not isinstance(entry.get("version"), str):
        raise CheckpointError(f"{where}: 'version' must be a string")
    for key, (lo, hi) in _INTS.items():
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise CheckpointError(f"{where}: {key!r} must be an integer in {lo}..{hi}, got {value!r}")
    sha = entry.get("sha256")
    for key in ("pre", "post", "post_int8"):
        file = entry.get(key)
        if file is None and key != "post":
            continue
        if not isinstance(file, str) or not _FILE_RE.fullmatch(file):
            raise CheckpointError(f"{where}: {key!r} must be a file name in the folder (*.onnx), got {file!r}")
        if not isinstance(sha, dict) or not isinstance(sha.get(file), str) or not _SHA_RE.fullmatch(sha[file]):
            raise CheckpointError(f"{where}: no sha256 for {file}")


def read_manifest(folder: str | Path, *, create: bool = False) -> dict[str, Any]:
    """The validated manifest of export folder ``folder``. A missing folder or manifest raises
    :class:`InputError` (with ``create``: an empty manifest is returned instead); a file of another format
    or version, or an entry without the fields the decoder needs, raises :class:`CheckpointError`."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        if create and not Path(folder).exists():
            return new_manifest()
        raise InputError(f"ONNX folder not found: {folder} (write one with `sandwich export-onnx MODEL {folder}`)")
    if not path.is_file():
        if create:
            return new_manifest()
        raise InputError(f"{folder} has no {MANIFEST}; write one with `sandwich export-onnx MODEL {folder}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable JSON manifest ({type(exc).__name__})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ONNX_FORMAT:
        raise CheckpointError(f"{path}: not a {ONNX_FORMAT} manifest")
    if manifest.get("format_version") != ONNX_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {manifest.get('format_version')!r}, this package reads {ONNX_FORMAT_VERSION}"
        )
    models = manifest.get("models")
    if not isinstance(models, dict):
        raise CheckpointError(f"{path}: 'models' must be a JSON object")
    for name, entry in models.items():
        _check_entry(name, entry, path)
    return manifest
