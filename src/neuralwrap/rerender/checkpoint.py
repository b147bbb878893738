"""Rerendering model and scene-bundle files: safetensors + JSON sidecar (format version, sha256), atomic.

Model (``model.safetensors`` + ``model.json``): the generator + appearance encoder weights (float32, or
float16 with ``half=True`` — loaded back as float32) and ``{format_version, kind: "rerenderer", config,
extra, sha256}``. Scene bundle (``scene.safetensors`` + ``scene.json``): what rendering a trained scene
needs without the capture: the point cloud (``xyz`` float32, ``rgb`` uint8, optional ``normals`` float16),
the registered cameras, the scene depth scale and the appearance codes of the training photos.

Example::

    save_rerenderer("out/model", model)
    model = load_rerenderer("out")                  # a folder holding model.{safetensors,json}
    scene = load_scene_bundle("out")                # a folder holding scene.{safetensors,json}
    scene.points.shape, scene.cameras["photo_000.png"].fx, scene.codes["photo_000.png"]
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap import __version__
from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.rerender.models.networks import RerenderConfig, Rerenderer
from neuralwrap.rerender.scene.camera import PinholeCamera
from neuralwrap.train.checkpoint import _pair, _read_pair, _write_pair, apply_state_dict

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "SceneBundle",
    "load_rerenderer",
    "load_scene_bundle",
    "save_rerenderer",
    "save_scene_bundle",
]

#: version of the model / scene-bundle file layout; loaders refuse other versions
BUNDLE_FORMAT_VERSION: int = 1
PathLike = str | os.PathLike[str]


def _resolve(path: PathLike, default_stem: str) -> Path:
    """A folder means ``folder/default_stem``; a file name or common stem is kept."""
    p = Path(path)
    return p / default_stem if p.is_dir() else p


def _write(path: PathLike, default_stem: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    st_path, json_path = _pair(_resolve(path, default_stem))
    _write_pair(
        st_path,
        json_path,
        tensors,
        {"format_version": BUNDLE_FORMAT_VERSION, "neuralwrap_version": __version__, **meta},
    )
    return st_path


def _read(path: PathLike, default_stem: str, kind: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    return _read_pair(_resolve(path, default_stem), kind, BUNDLE_FORMAT_VERSION)


# ------------------------------------------------------------------------------------------ model
def save_rerenderer(
    path: PathLike, model: Rerenderer, extra: dict[str, Any] | None = None, *, half: bool = False
) -> None:
    """Write ``model`` (generator + encoder) to ``<path>.safetensors`` + ``<path>.json`` atomically.

    ``path`` may be a folder (then ``folder/model.*``), either file name or the common stem. ``extra`` is
    stored as is (JSON). ``half`` stores float16 weights (half the size; loaded back as float32).
    """
    tensors = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    meta = {
        "kind": "rerenderer",
        "config": model.config.to_dict(),
        "extra": dict(extra or {}),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float16" if half else "float32",
    }
    try:
        json.dumps(meta)
    except TypeError as exc:
        raise CheckpointError(f"extra must be plain JSON: {exc}") from exc
    _write(path, "model", tensors, meta)


def load_rerenderer(path_or_dir: PathLike, device: str | torch.device = "cpu") -> Rerenderer:
    """Build a :class:`Rerenderer` from its JSON config and load its weights (strict), in eval mode.

    Raises :class:`CheckpointError` for a missing file, corrupt data, another format version, or
    weights that do not match the architecture (missing/unexpected keys, shapes).
    """
    meta, tensors = _read(path_or_dir, "model", "rerenderer")
    try:
        config = RerenderConfig.from_dict(meta["config"])
    except (InputError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path_or_dir}: bad model config: {exc}") from exc
    model = Rerenderer(config)
    apply_state_dict(
        model,
        {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()},
        strict=True,
        what=f"rerenderer {path_or_dir}",
    )
    model.extra = dict(meta.get("extra", {}))  # type: ignore[attr-defined]
    return model.to(device).eval()


# ----------------------------------------------------------------------------------------- scene
#: largest point half-size (pixels) a scene file may ask for (a crafted value would make every render crawl)
MAX_SPLAT_RADIUS = 16


@dataclass
class SceneBundle:
    """A trained scene, ready to render novel views (no capture or photos needed)."""

    points: np.ndarray
    """``(N, 3)`` float32 point positions (SfM world units)."""
    colors: np.ndarray
    """``(N, 3)`` uint8 point colours."""
    normals: np.ndarray | None
    """``(N, 3)`` float32 unit normals (stored as float16), or None."""
    cameras: dict[str, PinholeCamera]
    """Registered photo name → its undistorted camera (at capture resolution)."""
    codes: dict[str, np.ndarray]
    """Photo name → ``(code_dim,)`` float32 appearance code (training photos)."""
    depth_scale: float
    """Scene depth scale (SfM units) the model normalises depth by (same as the model config's)."""
    splat_radius: int = 1
    """Point half-size (px) used for the training buffers, at the cameras' resolution."""
    holdout: list[str] = field(default_factory=list)
    """Registered photos never trained on (their cameras are included, their codes are not)."""
    highlights: dict[str, str] = field(default_factory=dict)
    """Named photos for demos, e.g. ``{"sunny": "photo_012.png", "dusk": "photo_003.png"}`` (keys of ``codes``)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Free-form JSON (source, decimation, …)."""


def save_scene_bundle(path: PathLike, scene: SceneBundle) -> None:
    """Write ``scene`` to ``<path>.safetensors`` + ``<path>.json`` (folder → ``folder/scene.*``) atomically."""
    n = len(scene.points)
    if (
        scene.points.shape != (n, 3)
        or scene.colors.shape != (n, 3)
        or (scene.normals is not None and scene.normals.shape != (n, 3))
    ):
        raise InputError(
            f"scene points/colors/normals must all be (N, 3), got {scene.points.shape}, "
            f"{scene.colors.shape}, {None if scene.normals is None else scene.normals.shape}"
        )
    tensors = {
        "xyz": torch.from_numpy(np.ascontiguousarray(scene.points, dtype=np.float32)),
        "rgb": torch.from_numpy(np.ascontiguousarray(scene.colors, dtype=np.uint8)),
    }
    if scene.normals is not None:
        tensors["normals"] = torch.from_numpy(np.ascontiguousarray(scene.normals, dtype=np.float16))
    meta = {
        "kind": "rerender-scene",
        "num_points": n,
        "depth_scale": float(scene.depth_scale),
        "splat_radius": int(scene.splat_radius),
        "holdout": list(scene.holdout),
        "cameras": [{"name": k, **c.to_dict()} for k, c in scene.cameras.items()],
        "codes": {k: [float(x) for x in np.asarray(v).ravel()] for k, v in scene.codes.items()},
        "highlights": dict(scene.highlights),
        "meta": dict(scene.meta),
    }
    _write(path, "scene", tensors, meta)


def load_scene_bundle(path: PathLike) -> SceneBundle:
    """Read a :func:`save_scene_bundle` pair (folder → ``folder/scene.*``); :class:`CheckpointError` if
    missing, corrupt or of another format version."""
    meta, t = _read(path, "scene", "rerender-scene")
    try:
        if not isinstance(meta.get("codes"), dict) or not isinstance(meta.get("cameras"), list):
            raise InputError("'codes' must be an object and 'cameras' a list")
        cameras = {c["name"]: PinholeCamera.from_dict(c) for c in meta["cameras"]}
        codes = {k: np.asarray(v, dtype=np.float32) for k, v in meta["codes"].items()}
        if any(c.ndim != 1 or not np.all(np.isfinite(c)) for c in codes.values()):
            raise InputError("every appearance code must be a finite list of numbers")
        depth_scale, radius = float(meta["depth_scale"]), meta.get("splat_radius", 1)
        if not math.isfinite(depth_scale) or depth_scale <= 0:
            raise InputError(f"'depth_scale' must be a finite number > 0, got {meta['depth_scale']!r}")
        if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= MAX_SPLAT_RADIUS:
            raise InputError(f"'splat_radius' must be an integer in 0..{MAX_SPLAT_RADIUS}, got {radius!r}")
        return SceneBundle(
            points=t["xyz"].numpy(),
            colors=t["rgb"].numpy(),
            normals=t["normals"].float().numpy() if "normals" in t else None,
            cameras=cameras,
            codes=codes,
            depth_scale=depth_scale,
            splat_radius=radius,
            holdout=list(meta.get("holdout", [])),
            highlights=dict(meta.get("highlights", {})),
            meta=dict(meta.get("meta", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
        raise CheckpointError(f"{path}: bad scene bundle: {exc}") from exc
