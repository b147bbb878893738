"""The on-disk deep-framebuffer dataset (capture writes it, training reads it). Format: docs/RERENDER_DATASET.md.

Layout under ``root``::

    dataset.json            index: format_version, frames (name, camera, files), class labels, capture summary
    photos/<stem>.png       the registered photo, undistorted, RGB uint8 (H×W of the camera)
    color/<stem>.png        splatted point colour, RGB uint8, black where empty
    depth/<stem>.npz        key "depth": float32 (H, W) camera z-depth in SfM units, 0 = empty
    normals/<stem>.png      camera-space unit normal n as RGB uint8 round((n+1)/2·255); meaningless where depth = 0
    classes/<stem>.png      uint8 (H, W) PASCAL VOC class id per pixel (15 = person); absent if masking was skipped

Example::

    ds = RerenderDataset("work/dataset")
    frame = ds[0]; frame.photo.shape, frame.depth.shape, frame.camera.fx
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap import __version__ as _nw_version
from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import read_image, write_image
from neuralwrap.rerender.scene.camera import PinholeCamera

__all__ = [
    "FORMAT_VERSION",
    "Frame",
    "RerenderDataset",
    "decode_normals",
    "encode_normals",
    "write_frame",
    "write_index",
]

#: version of the on-disk format; readers refuse other versions
FORMAT_VERSION: int = 1
_KINDS = ("photos", "color", "depth", "normals", "classes")


@dataclass
class Frame:
    """One registered photo with its deep framebuffer (numpy, ``H×W`` of ``camera``)."""

    name: str
    """Photo file name in the input folder (the frame id); files use its stem."""
    camera: PinholeCamera
    """Undistorted pinhole camera of the photo."""
    photo: np.ndarray
    """``(H, W, 3)`` uint8 RGB photo."""
    color: np.ndarray
    """``(H, W, 3)`` uint8 splatted point colour."""
    depth: np.ndarray
    """``(H, W)`` float32 depth (SfM units), 0 = no point."""
    normals: np.ndarray | None = None
    """``(H, W, 3)`` float32 camera-space unit normals, or None."""
    classes: np.ndarray | None = None
    """``(H, W)`` uint8 PASCAL VOC class map (person = 15), or None when masking was skipped."""


def encode_normals(n: np.ndarray) -> np.ndarray:
    """``(H,W,3)`` float normals in [−1,1] → uint8 RGB ``round((n+1)/2·255)``."""
    return np.clip(np.rint((np.asarray(n, dtype=np.float32) + 1) * 127.5), 0, 255).astype(np.uint8)


def decode_normals(rgb: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_normals` (re-normalised; zero stays zero-ish), float32 ``(H,W,3)``."""
    n = rgb.astype(np.float32) / 127.5 - 1
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-6)


def _stem(name: str) -> str:
    return Path(name).stem


def _check_frame(f: Frame) -> None:
    hw = (f.camera.height, f.camera.width)
    shapes = {"photo": f.photo.shape[:2], "color": f.color.shape[:2], "depth": f.depth.shape}
    if f.normals is not None:
        shapes["normals"] = f.normals.shape[:2]
    if f.classes is not None:
        shapes["classes"] = f.classes.shape
    bad = {k: s for k, s in shapes.items() if tuple(s) != hw}
    if bad:
        raise InputError(f"frame {f.name}: arrays must be {hw[0]}x{hw[1]} like its camera, got {bad}")


def write_frame(root: str | os.PathLike[str], frame: Frame) -> dict[str, Any]:
    """Write one frame's files atomically under ``root``; return its index record (``name, camera, files``)."""
    _check_frame(frame)
    root, s = Path(root), _stem(frame.name)
    files = {"photo": f"photos/{s}.png", "color": f"color/{s}.png", "depth": f"depth/{s}.npz"}
    write_image(root / files["photo"], frame.photo)
    write_image(root / files["color"], frame.color)
    buf = io.BytesIO()
    np.savez_compressed(buf, depth=frame.depth.astype(np.float32))
    atomic_write_bytes(root / files["depth"], buf.getvalue())
    if frame.normals is not None:
        files["normals"] = f"normals/{s}.png"
        write_image(root / files["normals"], encode_normals(frame.normals))
    if frame.classes is not None:
        files["classes"] = f"classes/{s}.png"
        write_image(root / files["classes"], frame.classes.astype(np.uint8))
    return {"name": frame.name, "camera": frame.camera.to_dict(), "files": files}


def write_index(
    root: str | os.PathLike[str],
    records: list[dict[str, Any]],
    *,
    labels: list[str] | None = None,
    transient_classes: tuple[int, ...] = (15,),
    summary: dict[str, Any] | None = None,
) -> Path:
    """Write ``root/dataset.json`` (last, atomically) from the records of :func:`write_frame`."""
    doc = {
        "format_version": FORMAT_VERSION,
        "neuralwrap_version": _nw_version,
        "frames": records,
        "class_labels": labels or [],
        "transient_classes": list(transient_classes),
        "summary": summary or {},
    }
    path = Path(root) / "dataset.json"
    atomic_write_bytes(path, json.dumps(doc, indent=1).encode())
    return path


class RerenderDataset:
    """Read-only access to a dataset written by :func:`write_frame` + :func:`write_index`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        path = self.root / "dataset.json"
        if not path.is_file():
            raise InputError(f"not a rerender dataset (no dataset.json): {self.root}")
        try:
            self.index: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"corrupt {path}: {exc}") from exc
        if self.index.get("format_version") != FORMAT_VERSION:
            raise InputError(
                f"{path}: format_version {self.index.get('format_version')!r}, this reader needs {FORMAT_VERSION}"
            )
        self.records: list[dict[str, Any]] = self.index["frames"]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def names(self) -> list[str]:
        """Frame names in index order."""
        return [r["name"] for r in self.records]

    def camera(self, i: int) -> PinholeCamera:
        """Camera of frame ``i`` (no image reading)."""
        return PinholeCamera.from_dict(self.records[i]["camera"])

    def __getitem__(self, i: int) -> Frame:
        rec = self.records[i]
        files = rec["files"]
        p = {k: self.root / v for k, v in files.items()}
        with np.load(p["depth"]) as z:
            depth = z["depth"]
        normals = decode_normals(read_image(p["normals"])) if "normals" in p else None
        classes = read_image(p["classes"], mode="L")[:, :, 0] if "classes" in p else None
        return Frame(
            rec["name"],
            PinholeCamera.from_dict(rec["camera"]),
            read_image(p["photo"]),
            read_image(p["color"]),
            depth,
            normals,
            classes,
        )
