"""Pinhole cameras in the COLMAP convention, serialisable to plain JSON.

``x_cam = R @ x_world + t``; the camera looks along +z, +x right, +y down; pixel ``(u, v)`` has its
centre at ``(u + 0.5, v + 0.5)`` so a point projects to ``u = fx·x/z + cx`` in continuous coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralwrap.errors import InputError

__all__ = ["PinholeCamera"]


@dataclass
class PinholeCamera:
    """An undistorted pinhole camera: image size in pixels, intrinsics in pixels, pose world→camera."""

    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""
    fx: float
    """Focal length along x, pixels."""
    fy: float
    """Focal length along y, pixels."""
    cx: float
    """Principal point x, pixels (continuous coordinates, image centre = width/2)."""
    cy: float
    """Principal point y, pixels."""
    R: np.ndarray
    """``(3, 3)`` float64 world-to-camera rotation."""
    t: np.ndarray
    """``(3,)`` float64 world-to-camera translation."""

    @property
    def K(self) -> np.ndarray:
        """``(3, 3)`` intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates, ``(3,)``."""
        return -np.asarray(self.R).T @ np.asarray(self.t)

    def scaled(self, width: int, height: int) -> PinholeCamera:
        """The same camera resampled to ``width × height`` pixels (intrinsics scaled, pose unchanged)."""
        sx, sy = width / self.width, height / self.height
        return PinholeCamera(width, height, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, self.R, self.t)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary (lists of floats)."""
        return {
            "width": self.width,
            "height": self.height,
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            "R": np.asarray(self.R, dtype=float).tolist(),
            "t": np.asarray(self.t, dtype=float).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PinholeCamera:
        """Inverse of :meth:`to_dict`; raises :class:`InputError` on missing keys or bad shapes."""
        try:
            R, t = np.asarray(d["R"], dtype=np.float64), np.asarray(d["t"], dtype=np.float64)
            cam = cls(
                int(d["width"]), int(d["height"]), float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]), R, t
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"bad camera record {d!r}: {exc}") from exc
        if R.shape != (3, 3) or t.shape != (3,):
            raise InputError(f"camera R must be 3x3 and t length 3, got {R.shape} and {t.shape}")
        return cam
