"""A self-contained static site that decodes sandwich JPEGs in the browser::

    OUT_DIR/
      index.html, viewer.js, viewer.css      the page (index.html?src=photo.jpg, or a file picker)
      decoder.js, tag.js, tensor.js          the JavaScript decoder (a copy of web/src)
      ort/                                   onnxruntime-web (WebGPU build: WebGPU and WASM execution providers)
      manifest.json, <name>.post.onnx        the post-processors of the models (neuralwrap.sandwich.onnx format)

Nothing on the page loads from outside the folder. The site holds post-processors only (``"pre": null``): the
browser decodes, it does not encode. Only models whose files a browser can show are included: one JPEG per
image, 1 or 3 code channels, display pixels out (not the HDR app's PU21 values). Needs the ONNX exporter
(``pip install 'neuralwrap[onnx]'``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuralwrap.errors import UnsupportedOptionError
from neuralwrap.io.atomic import atomic_dir
from neuralwrap.resources import package_file
from neuralwrap.sandwich.inference.codec import SandwichCodec, load_any
from neuralwrap.sandwich.inference.zoo import list_models

__all__ = ["NON_DISPLAY_APPS", "STATIC_DIR", "viewer_models", "write_site"]

log = logging.getLogger(__name__)

#: folder of the page, the JavaScript and onnxruntime-web (package data)
STATIC_DIR: Path = package_file("neuralwrap.sandwich.viewer", "static")
#: apps whose post-processor output is not a picture to show on a screen, with the reason
NON_DISPLAY_APPS: dict[str, str] = {"hdr": "its output is the PU21 HDR representation, not display pixels"}


def _unviewable(sc: SandwichCodec) -> str | None:
    """Why a browser cannot show ``sc``'s files (None when it can)."""
    cfg = sc.config
    if cfg.codec != "jpeg":
        return f"it codes {cfg.codec} files; the browser decoder reads JPEG"
    if cfg.code_channels not in (1, 3):
        return f"it codes {cfg.code_channels} channels as several files per image"
    if cfg.out_channels not in (1, 3):
        return f"its output has {cfg.out_channels} channels, not a picture"
    return NON_DISPLAY_APPS.get(sc.app or "")


def viewer_models(models: Sequence[str] = ()) -> tuple[list[SandwichCodec], dict[str, str]]:
    """``(models to include, {skipped name: reason})``. ``models``: shipped names or model files; empty = every
    shipped model a browser can show (the others are skipped with their reason). A model asked for by name that
    a browser cannot show raises :class:`UnsupportedOptionError`."""
    chosen, skipped = [], {}
    for ref in models or sorted(list_models()):
        sc = load_any(ref)
        reason = _unviewable(sc)
        if reason is None:
            chosen.append(sc)
        elif models:
            raise UnsupportedOptionError(f"model {sc.name} cannot be shown in a browser: {reason}")
        else:
            skipped[sc.name] = reason
            log.info("viewer: skipping %s (%s)", sc.name, reason)
    names = [sc.name for sc in chosen]
    if len(set(names)) != len(names):
        raise UnsupportedOptionError(f"two models share a name in {names}: a file's tag could not tell them apart")
    return chosen, skipped


def _copy_static(out: Path) -> None:
    """The page, the JavaScript and onnxruntime-web into ``out``."""
    for path in sorted(STATIC_DIR.rglob("*")):
        rel = path.relative_to(STATIC_DIR)
        if path.is_file() and "__pycache__" not in rel.parts:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / rel)


def _post_only(out: Path) -> dict[str, Any]:
    """Keep only the float post-processors in ``out`` and its manifest (a browser decodes; it does not encode):
    the export's pre-processors (and any quantised post-processor) go."""
    from neuralwrap.sandwich.onnx.manifest import MANIFEST

    path = out / MANIFEST
    manifest = json.loads(path.read_text())
    for entry in manifest["models"].values():
        for key in ("pre", "post_int8"):
            file = entry.get(key)
            if file:
                (out / file).unlink(missing_ok=True)
                entry["sha256"].pop(file, None)
            if key in entry:
                entry[key] = None
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def write_site(out_dir: str | os.PathLike[str], models: Sequence[str] = ()) -> dict[str, Any]:
    """Write the viewer site into ``out_dir`` (built in a temporary sibling folder, then swapped in whole: an
    existing folder is replaced; check it with :func:`~neuralwrap.io.outputs.check_output` first). ``models`` as
    in :func:`viewer_models`. Returns ``{"models": [...], "skipped": {name: reason}, "bytes": total size}``."""
    from neuralwrap.sandwich.onnx import export_onnx

    chosen, skipped = viewer_models(models)
    if not chosen:
        raise UnsupportedOptionError("no model to put on the page")
    with atomic_dir(out_dir) as tmp:
        _copy_static(tmp)
        for sc in chosen:
            log.info("viewer: exporting %s", sc.name)
            export_onnx(sc, tmp)
        manifest = _post_only(tmp)
        size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
    return {"models": sorted(manifest["models"]), "skipped": skipped, "bytes": size}
