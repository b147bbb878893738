"""Camera paths for novel-view rendering: smooth fly-throughs, orbits and static viewpoints.

Keyframe interpolation is Catmull-Rom in the Barry–Goldman pyramid form with chord-length knots; the
same pyramid runs on camera centres (linear blends), rotations (slerp, i.e. ``R0·exp(s·log(R0ᵀR1))``)
and normalised intrinsics (``fx/W, fy/H, cx/W, cy/H``), so the path passes *exactly* through every
keyframe and is C¹-smooth between them. Cameras follow the COLMAP convention of
:class:`~neuralwrap.rerender.scene.camera.PinholeCamera` (``x_cam = R·X + t``; +y down, +z forward).

Example::

    keys = order_keyframes(list(cameras.values()))
    path = interpolate_cameras(keys, 48, width=320, height=240)        # 48 PinholeCameras
    orbit = orbit_path(list(cameras.values()), 48, width=320, height=240)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from scipy.spatial.transform import Rotation

from neuralwrap.errors import InputError
from neuralwrap.rerender.scene.camera import PinholeCamera

__all__ = [
    "PATH_KINDS",
    "CameraSpline",
    "interpolate_cameras",
    "look_at_point",
    "make_path",
    "orbit_path",
    "order_keyframes",
    "resolve_name",
    "scene_up",
    "static_path",
]

#: named path kinds understood by :func:`make_path` (anything else is a registered photo name)
PATH_KINDS: tuple[str, ...] = ("fly", "orbit")

T = TypeVar("T")


# --------------------------------------------------------------------------------------- primitives
def _lerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    return a + s * (b - a)


def _slerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """Geodesic blend of two 3×3 rotations; ``s`` may lie outside [0, 1] (extrapolation)."""
    rel = Rotation.from_matrix(a.T @ b).as_rotvec()
    return a @ Rotation.from_rotvec(s * rel).as_matrix()


def _barry_goldman(p: Sequence[T], k: Sequence[float], t: float, blend: Callable[[T, T, float], T]) -> T:
    """Catmull-Rom point at ``t ∈ [k1, k2]`` from 4 control values ``p`` with knots ``k`` (Barry–Goldman)."""

    def b(x: T, y: T, ka: float, kb: float) -> T:
        return blend(x, y, (t - ka) / (kb - ka))

    a1, a2, a3 = b(p[0], p[1], k[0], k[1]), b(p[1], p[2], k[1], k[2]), b(p[2], p[3], k[2], k[3])
    b1, b2 = b(a1, a2, k[0], k[2]), b(a2, a3, k[1], k[3])
    return b(b1, b2, k[1], k[2])


def _intrinsics(cam: PinholeCamera) -> np.ndarray:
    return np.array([cam.fx / cam.width, cam.fy / cam.height, cam.cx / cam.width, cam.cy / cam.height])


def _knots(centers: np.ndarray, rots: list[np.ndarray], scale: float) -> np.ndarray:
    """Chord-length knots: centre distance + an angle term (so pure rotations still advance)."""
    d = np.linalg.norm(np.diff(centers, axis=0), axis=1)
    ang = np.array([np.linalg.norm(Rotation.from_matrix(a.T @ b).as_rotvec()) for a, b in itertools.pairwise(rots)])
    step = d + 0.5 * scale * ang + 1e-9
    return np.concatenate([[0.0], np.cumsum(step)])


# --------------------------------------------------------------------------------------- interpolation
class CameraSpline:
    """C¹ Catmull-Rom camera path through ``keys``: ``spline(s)`` for ``s ∈ [0, 1]`` (path parameter).

    ``knots[i]`` is the parameter at which the path passes exactly through ``keys[i]`` (``knots[0] = 0``,
    the last key at 1 — or, with ``closed=True``, the first key again at 1). Parameters are proportional to
    chord length (centre distance + rotation angle · scene scale / 2), so even steps give roughly even speed.
    Output cameras are ``width × height`` pixels (default: the first key's size); intrinsics are
    interpolated as fractions of the image size.
    """

    def __init__(
        self,
        keys: Sequence[PinholeCamera],
        *,
        width: int | None = None,
        height: int | None = None,
        closed: bool = False,
    ) -> None:
        if len(keys) < 2:
            raise InputError(f"a camera spline needs at least 2 keyframe cameras, got {len(keys)}")
        self.width, self.height = width or keys[0].width, height or keys[0].height
        self.closed = closed
        self.cams = list(keys) + ([keys[0]] if closed else [])
        self.rots = [np.asarray(c.R, dtype=np.float64) for c in self.cams]
        self.cents = np.stack([c.center for c in self.cams])
        self.intr = [_intrinsics(c) for c in self.cams]
        scale = float(np.median(np.linalg.norm(self.cents - self.cents.mean(0), axis=1))) or 1.0
        k = _knots(self.cents, self.rots, scale)
        self._total = float(k[-1])
        self.knots: np.ndarray = k / self._total
        """``(K,)`` parameters of the keys in [0, 1] (K = len(keys), +1 when closed)."""

    def __call__(self, s: float) -> PinholeCamera:
        """Camera at path parameter ``s`` (clipped to [0, 1])."""
        t = float(np.clip(s, 0.0, 1.0)) * self._total
        return _sample(
            self.cams,
            self.rots,
            self.cents,
            self.intr,
            self.knots * self._total,
            t,
            self.closed,
            self.width,
            self.height,
        )


def interpolate_cameras(
    keys: Sequence[PinholeCamera],
    num_frames: int,
    *,
    width: int | None = None,
    height: int | None = None,
    closed: bool = False,
) -> list[PinholeCamera]:
    """``num_frames`` cameras evenly spaced along :class:`CameraSpline` through ``keys``.

    The first and last frames are exactly the first and last keys (``closed=True``: the path loops back
    and the last frame stops one step before the first key). One key gives a static path.
    """
    if len(keys) == 0:
        raise InputError("interpolate_cameras needs at least one keyframe camera")
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
    if len(keys) == 1:
        return static_path(keys[0], num_frames, width=width, height=height)
    spline = CameraSpline(keys, width=width, height=height, closed=closed)
    return [spline(float(s)) for s in np.linspace(0.0, 1.0, num_frames, endpoint=not closed)]


def _control_indices(n: int, i: int, closed: bool) -> list[int | None]:
    """Indices of the 4 control points of segment ``i`` (None = reflect at an open end)."""
    if closed:  # the last camera duplicates the first: wrap over the n-1 distinct keys
        return [j % (n - 1) for j in (i - 1, i, i + 1, i + 2)]
    return [j if 0 <= j < n else None for j in (i - 1, i, i + 1, i + 2)]


def _controls(vals: list[T], idx: list[int | None], blend: Callable[[T, T, float], T]) -> list[T]:
    """The 4 control values; a missing end point is the reflection of its neighbour (blend at −1 / 2)."""
    p1, p2 = vals[idx[1]], vals[idx[2]]  # type: ignore[index]
    p0 = vals[idx[0]] if idx[0] is not None else blend(p1, p2, -1.0)
    p3 = vals[idx[3]] if idx[3] is not None else blend(p1, p2, 2.0)
    return [p0, p1, p2, p3]


def _segment_knots(knots: np.ndarray, i: int, closed: bool) -> list[float]:
    n = len(knots)
    k1, k2 = float(knots[i]), float(knots[i + 1])
    if i >= 1:
        k0 = float(knots[i - 1])
    else:
        k0 = k1 - (float(knots[-1] - knots[-2]) if closed else k2 - k1)
    if i + 2 < n:
        k3 = float(knots[i + 2])
    else:
        k3 = k2 + (float(knots[1] - knots[0]) if closed else k2 - k1)
    return [k0, k1, k2, k3]


def _sample(
    cams: list[PinholeCamera],
    rots: list[np.ndarray],
    cents: np.ndarray,
    intr: list[np.ndarray],
    knots: np.ndarray,
    t: float,
    closed: bool,
    w: int,
    h: int,
) -> PinholeCamera:
    n = len(cams)
    i = int(np.clip(np.searchsorted(knots, t, side="right") - 1, 0, n - 2))
    idx, kk = _control_indices(n, i, closed), _segment_knots(knots, i, closed)
    c = _barry_goldman(_controls(list(cents), idx, _lerp), kk, t, _lerp)
    r = _barry_goldman(_controls(rots, idx, _slerp), kk, t, _slerp)
    q = _barry_goldman(_controls(intr, idx, _lerp), kk, t, _lerp)
    r = Rotation.from_matrix(r).as_matrix()  # re-orthonormalise
    return PinholeCamera(w, h, float(q[0] * w), float(q[1] * h), float(q[2] * w), float(q[3] * h), r, -r @ c)


def static_path(
    camera: PinholeCamera, num_frames: int, *, width: int | None = None, height: int | None = None
) -> list[PinholeCamera]:
    """``num_frames`` copies of ``camera`` resampled to ``width × height`` (default its own size)."""
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
    cam = camera.scaled(width or camera.width, height or camera.height)
    return [cam for _ in range(num_frames)]


# --------------------------------------------------------------------------------------- scene geometry
def scene_up(cameras: Sequence[PinholeCamera]) -> np.ndarray:
    """Unit world "up" vector: the mean of the cameras' −y axes (photos are mostly upright)."""
    up = -np.mean([np.asarray(c.R)[1] for c in cameras], axis=0)
    n = np.linalg.norm(up)
    if n < 1e-9:
        raise InputError("cannot estimate an up direction from these cameras")
    return up / n


def look_at_point(cameras: Sequence[PinholeCamera]) -> np.ndarray:
    """World point closest (least squares) to all optical axes; the centroid of centres + 1 unit ahead if degenerate."""
    A, b = np.zeros((3, 3)), np.zeros(3)
    for c in cameras:
        d = np.asarray(c.R)[2]
        P = np.eye(3) - np.outer(d, d)
        A += P
        b += P @ c.center
    if len(cameras) >= 2 and np.linalg.cond(A) < 1e6:
        return np.linalg.solve(A, b)
    cents = np.stack([c.center for c in cameras])
    return cents.mean(0) + np.mean([np.asarray(c.R)[2] for c in cameras], axis=0)


def _azimuths(cameras: Sequence[PinholeCamera]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth (radians) of every camera centre around the look-at point, in the plane ⟂ up; plus the basis."""
    up, target = scene_up(cameras), look_at_point(cameras)
    fwd = np.mean([np.asarray(c.R)[2] for c in cameras], axis=0)
    fwd -= up * (fwd @ up)
    if np.linalg.norm(fwd) < 1e-9:
        fwd = np.cross(up, [1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.cross(up, [0.0, 1.0, 0.0])
    e1 = -fwd / np.linalg.norm(fwd)  # from target towards the mean camera
    e2 = np.cross(up, e1)
    rel = np.stack([c.center for c in cameras]) - target
    return np.arctan2(rel @ e2, rel @ e1), target, e1, e2


def order_keyframes(cameras: Sequence[PinholeCamera], max_keys: int | None = None) -> list[PinholeCamera]:
    """Registered cameras sorted by azimuth around the scene (a sweep, not a zig-zag).

    With ``max_keys`` the sweep is thinned to that many evenly spaced cameras (ends kept).
    """
    if len(cameras) == 0:
        raise InputError("no cameras to order")
    if len(cameras) < 3:
        return list(cameras)
    az = _azimuths(cameras)[0]
    cams = [cameras[i] for i in np.argsort(az)]
    if max_keys is not None and 2 <= max_keys < len(cams):
        pick = np.unique(np.rint(np.linspace(0, len(cams) - 1, max_keys)).astype(int))
        cams = [cams[i] for i in pick]
    return cams


def orbit_path(
    cameras: Sequence[PinholeCamera],
    num_frames: int,
    *,
    width: int | None = None,
    height: int | None = None,
    sweep: float = 1.0,
) -> list[PinholeCamera]:
    """A new camera path: an arc around the look-at point over the registered azimuth range, there and back.

    Radius, height above the target and intrinsics are the medians of the registered cameras; the arc
    covers ``sweep`` × the registered azimuth range (at least 20°); every frame looks at the target.
    """
    if len(cameras) < 2:
        raise InputError("an orbit needs at least 2 registered cameras")
    az, target, e1, e2 = _azimuths(cameras)
    up = np.cross(e1, e2)
    rel = np.stack([c.center for c in cameras]) - target
    height_up = float(np.median(rel @ up))
    radius = float(np.median(np.linalg.norm(rel - np.outer(rel @ up, up), axis=1)))
    lo, hi = float(np.min(az)), float(np.max(az))
    mid, half = (lo + hi) / 2, max((hi - lo) / 2 * sweep, math.radians(10))
    ph = np.linspace(0.0, 2 * math.pi, num_frames, endpoint=num_frames == 1)
    angles = mid + half * np.sin(ph) if num_frames > 1 else np.array([mid])
    intr = np.median(np.stack([_intrinsics(c) for c in cameras]), axis=0)
    w, h = width or cameras[0].width, height or cameras[0].height
    out = []
    for a in angles:
        centre = target + radius * (math.cos(a) * e1 + math.sin(a) * e2) + height_up * up
        out.append(_look_at(centre, target, up, intr, w, h))
    return out


def _look_at(centre: np.ndarray, target: np.ndarray, up: np.ndarray, intr: np.ndarray, w: int, h: int) -> PinholeCamera:
    f = target - centre
    f /= np.linalg.norm(f)
    right = np.cross(f, up)
    right /= np.linalg.norm(right)
    down = np.cross(f, right)
    R = np.stack([right, down, f])
    return PinholeCamera(
        w, h, float(intr[0] * w), float(intr[1] * h), float(intr[2] * w), float(intr[3] * h), R, -R @ centre
    )


def make_path(
    kind: str,
    cameras: dict[str, PinholeCamera],
    num_frames: int,
    *,
    width: int | None = None,
    height: int | None = None,
    max_keys: int | None = 8,
) -> list[PinholeCamera]:
    """Cameras for a named path: ``fly`` (through ≤ ``max_keys`` registered cameras), ``orbit``, or a
    registered photo name (``NAME`` or ``photo:NAME``, with or without suffix) for a static viewpoint.

    Raises :class:`InputError` for an unknown name (listing a few valid ones).
    """
    cams = list(cameras.values())
    if kind == "fly":
        return interpolate_cameras(order_keyframes(cams, max_keys), num_frames, width=width, height=height)
    if kind == "orbit":
        return orbit_path(cams, num_frames, width=width, height=height)
    name = resolve_name(kind.removeprefix("photo:"), cameras)
    return static_path(cameras[name], num_frames, width=width, height=height)


def resolve_name(name: str, cameras: dict[str, object]) -> str:
    """The registered frame name matching ``name`` exactly or by stem; :class:`InputError` listing valid names."""
    if name in cameras:
        return name
    by_stem = {n.rsplit(".", 1)[0]: n for n in cameras}
    if name in by_stem:
        return by_stem[name]
    few = ", ".join(list(cameras)[:5]) + (", …" if len(cameras) > 5 else "")
    raise InputError(
        f"unknown photo name {name!r}: not a path kind {PATH_KINDS} nor a registered photo "
        f"({len(cameras)} registered, e.g. {few})"
    )
