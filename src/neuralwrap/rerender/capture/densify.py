"""CPU densification: a small PyTorch plane-sweep stereo over neighbouring undistorted photos, then fusion.

Per reference photo: the neighbours sharing most sparse points are warped onto fronto-parallel planes
(uniform in inverse depth between the sparse points' 2nd and 98th depth percentiles); the cost is
``1 − NCC`` over a square window, averaged over the best two neighbours; winner-take-all gives a depth
map. Depths that agree (relative error ≤ ``consistency``) with at least ``min_consistent`` neighbours'
depth maps are back-projected with the photo's colour and a normal from the depth map's gradients.

Memory does not grow with the collection: photos are read on demand through a small cache and each depth map
goes to a scratch folder once computed (only the fused points, the output, grow with it).

Example::

    cloud = densify(model, images, DensifyOptions(max_size=320))
    cloud.xyz.shape   # (N, 3)
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from neuralwrap.errors import InputError
from neuralwrap.luma import luma_tensor
from neuralwrap.rerender.capture.sfm import SparseModel
from neuralwrap.rerender.scene.camera import PinholeCamera

__all__ = [
    "CACHE_SIZE",
    "DensifyOptions",
    "PointCloud",
    "colmap_mvs",
    "colmap_mvs_available",
    "densify",
    "plane_sweep_depth",
]

log = logging.getLogger(__name__)

_V = TypeVar("_V")

#: photos and depth maps kept in memory at once by :func:`densify` (the rest are re-read when needed)
CACHE_SIZE: int = 24


@dataclass
class DensifyOptions:
    """Settings of :func:`densify` (plain values, serialised to the step marker)."""

    max_size: int = 320
    """Longer side (px) of the photos used for stereo (they are downscaled)."""
    num_depths: int = 48
    """Plane hypotheses per photo."""
    num_neighbours: int = 3
    """Source photos per reference photo."""
    window: int = 7
    """NCC window side (px, odd)."""
    max_cost: float = 0.4
    """Keep pixels with aggregated ``1 − NCC`` below this."""
    consistency: float = 0.02
    """Relative depth agreement for the cross-view check."""
    min_consistent: int = 2
    """Neighbours that must agree for a pixel to be fused."""
    min_std: float = 0.02
    """Skip pixels whose window has lower grey-level std (textureless, e.g. sky); grey in [0, 1]."""


@dataclass
class PointCloud:
    """Points with colours and (optional) normals."""

    xyz: np.ndarray
    """``(N, 3)`` float32 positions (SfM units)."""
    rgb: np.ndarray
    """``(N, 3)`` uint8 colours."""
    normals: np.ndarray | None = None
    """``(N, 3)`` float32 unit normals, or None."""


def _gray(img: torch.Tensor) -> torch.Tensor:
    return luma_tensor(img)[None, None]


def _ncc_stats(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """NCC over ``k×k`` windows of ``a (1,1,H,W)`` against ``b (D,1,H,W)`` → ``(D, H, W)``."""

    def pool(x):
        return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)

    ma, mb = pool(a), pool(b)
    va, vb = pool(a * a) - ma * ma, pool(b * b) - mb * mb
    cov = pool(a * b) - ma * mb
    return (cov / torch.sqrt((va * vb).clamp_min(1e-8)))[:, 0]


def _warp(src: torch.Tensor, ref: PinholeCamera, cam: PinholeCamera, depths: torch.Tensor) -> torch.Tensor:
    """Sample ``src (1,1,H',W')`` at the projections of ref pixels placed at each depth → ``(D,1,H,W)``."""
    h, w = ref.height, ref.width
    v, u = torch.meshgrid(
        torch.arange(h, dtype=torch.float32) + 0.5, torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij"
    )
    rays = torch.stack([(u - ref.cx) / ref.fx, (v - ref.cy) / ref.fy, torch.ones_like(u)], -1).reshape(-1, 3)
    Rr, tr = torch.as_tensor(ref.R, dtype=torch.float32), torch.as_tensor(ref.t, dtype=torch.float32)
    Rs, ts = torch.as_tensor(cam.R, dtype=torch.float32), torch.as_tensor(cam.t, dtype=torch.float32)
    Rrel, trel = Rs @ Rr.T, ts - Rs @ Rr.T @ tr
    pts = depths[:, None, None] * rays[None] @ Rrel.T + trel  # (D, HW, 3) in the source camera
    z = pts[..., 2].clamp_min(1e-6)
    gx = (cam.fx * pts[..., 0] / z + cam.cx) / cam.width * 2 - 1
    gy = (cam.fy * pts[..., 1] / z + cam.cy) / cam.height * 2 - 1
    grid = torch.stack([gx, gy], -1).reshape(len(depths), h, w, 2)
    grid = grid.where((pts[..., 2] > 1e-6).reshape(len(depths), h, w, 1), torch.full_like(grid, 2.0))
    return F.grid_sample(src.expand(len(depths), -1, -1, -1), grid, align_corners=False, padding_mode="zeros")


def plane_sweep_depth(
    ref_img: torch.Tensor,
    ref: PinholeCamera,
    srcs: list[tuple[torch.Tensor, PinholeCamera]],
    near: float,
    far: float,
    o: DensifyOptions,
) -> torch.Tensor:
    """Depth map ``(H, W)`` float32 of ``ref_img (3,H,W)`` in [0,1]; 0 where rejected (cost, texture)."""
    if not srcs:
        raise InputError("plane_sweep_depth needs at least one source photo")
    depths = 1.0 / torch.linspace(1.0 / near, 1.0 / far, o.num_depths)
    a = _gray(ref_img)
    costs = torch.stack([1 - _ncc_stats(a, _warp(_gray(img), ref, cam, depths), o.window) for img, cam in srcs])
    keep = min(2, len(srcs))
    cost = costs.sort(dim=0).values[:keep].mean(0)  # (D, H, W)
    best, arg = cost.min(0)
    k = o.window
    std = torch.sqrt((F.avg_pool2d(a * a, k, 1, k // 2) - F.avg_pool2d(a, k, 1, k // 2) ** 2).clamp_min(0))[0, 0]
    ok = (best < o.max_cost) & (std > o.min_std) & (arg > 0) & (arg < o.num_depths - 1)
    return torch.where(ok, _subpixel(cost, arg, near, far, o.num_depths), torch.zeros_like(best))


def _subpixel(cost: torch.Tensor, arg: torch.Tensor, near: float, far: float, n: int) -> torch.Tensor:
    """Parabola fit through the costs around the best plane → refined depth ``(H, W)`` (inverse-depth space)."""
    i0 = arg.clamp(1, n - 2)[None]
    cm, c0, cp = cost.gather(0, i0 - 1)[0], cost.gather(0, i0)[0], cost.gather(0, i0 + 1)[0]
    den = cm - 2 * c0 + cp
    delta = torch.where(den > 1e-9, 0.5 * (cm - cp) / den.clamp_min(1e-9), torch.zeros_like(den)).clamp(-0.5, 0.5)
    step = (1.0 / far - 1.0 / near) / (n - 1)
    return 1.0 / (1.0 / near + (arg.float() + delta) * step)


def _covisible(model: SparseModel, names: list[str], k: int) -> dict[str, list[str]]:
    """Per photo, the ``k`` photos sharing most sparse points with it (ties: by name), from one inverted index
    (cost: the sum over points of their track length squared, not n²)."""
    pos = {n: i for i, n in enumerate(names)}
    point_ids = [model.visible.get(n, np.zeros(0, np.int64)) for n in names]
    owner = np.concatenate([np.full(len(v), i) for i, v in enumerate(point_ids)]) if names else np.zeros(0, int)
    pts = np.concatenate(point_ids) if names else np.zeros(0, int)
    order = np.argsort(pts, kind="stable")
    pts, owner = pts[order], owner[order]
    starts = np.searchsorted(pts, np.arange(len(model.xyz) + 1))
    out = {}
    for n in names:
        i, seen = pos[n], model.visible.get(n, np.zeros(0, np.int64))
        others = np.concatenate([owner[starts[p] : starts[p + 1]] for p in seen]) if len(seen) else np.zeros(0, int)
        counts = np.bincount(others, minlength=len(names))
        counts[i] = 0
        best = sorted((-c, names[j]) for j, c in enumerate(counts) if c > 0)[:k]
        out[n] = [m for _, m in best]
    return out


class _Cache(Generic[_V]):
    """At most ``size`` values of ``load(name)``, least recently used dropped first."""

    def __init__(self, load: Callable[[str], _V], size: int) -> None:
        self.load, self.size = load, size
        self.items: OrderedDict[str, _V] = OrderedDict()

    def __getitem__(self, name: str) -> _V:
        if name in self.items:
            self.items.move_to_end(name)
        else:
            self.items[name] = self.load(name)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return self.items[name]


def _depth_range(model: SparseModel, name: str) -> tuple[float, float]:
    cam = model.cameras[name]
    idx = model.visible[name]
    if len(idx) < 5:
        idx = np.arange(len(model.xyz))
    z = (model.xyz[idx] @ cam.R.T + cam.t)[:, 2]
    z = z[z > 0]
    if len(z) == 0:
        raise InputError(f"no sparse points in front of {name}; cannot pick a depth range")
    return float(np.percentile(z, 2)) * 0.8, float(np.percentile(z, 98)) * 1.25


def _backproject(depth: torch.Tensor, cam: PinholeCamera) -> torch.Tensor:
    """World points ``(H, W, 3)`` of a depth map."""
    h, w = depth.shape
    v, u = torch.meshgrid(
        torch.arange(h, dtype=torch.float32) + 0.5, torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij"
    )
    xc = torch.stack([(u - cam.cx) / cam.fx * depth, (v - cam.cy) / cam.fy * depth, depth], -1)
    R, t = torch.as_tensor(cam.R, dtype=torch.float32), torch.as_tensor(cam.t, dtype=torch.float32)
    return (xc - t) @ R


def _normals(pts: torch.Tensor, cam: PinholeCamera) -> torch.Tensor:
    """Unit normals ``(H, W, 3)`` from central differences of world points, facing the camera."""
    k = 2  # ±2 px differences: less noise than neighbouring pixels
    dx = torch.zeros_like(pts)
    dy = torch.zeros_like(pts)
    dx[:, k:-k] = pts[:, 2 * k :] - pts[:, : -2 * k]
    dy[k:-k] = pts[2 * k :] - pts[: -2 * k]
    n = torch.cross(dx, dy, dim=-1)
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    view = torch.as_tensor(cam.center, dtype=torch.float32) - pts
    return torch.where(((n * view).sum(-1) < 0)[..., None], -n, n)


def _consistent(
    depth: torch.Tensor, cam: PinholeCamera, others: list[tuple[torch.Tensor, PinholeCamera]], o: DensifyOptions
) -> torch.Tensor:
    """Count of neighbours whose depth map agrees with ``depth`` at each pixel → ``(H, W)``."""
    pts = _backproject(depth, cam).reshape(-1, 3)
    count = torch.zeros(depth.numel())
    for d2, c2 in others:
        pc = pts @ torch.as_tensor(c2.R, dtype=torch.float32).T + torch.as_tensor(c2.t, dtype=torch.float32)
        z = pc[:, 2].clamp_min(1e-6)
        col = torch.floor(c2.fx * pc[:, 0] / z + c2.cx).long()
        row = torch.floor(c2.fy * pc[:, 1] / z + c2.cy).long()
        inb = (col >= 0) & (col < c2.width) & (row >= 0) & (row < c2.height) & (pc[:, 2] > 0)
        z2 = d2[row.clamp(0, c2.height - 1), col.clamp(0, c2.width - 1)]
        count += (inb & (z2 > 0) & ((z2 - pc[:, 2]).abs() <= o.consistency * pc[:, 2])).float()
    return count.reshape(depth.shape)


def densify(
    model: SparseModel,
    images: Mapping[str, np.ndarray] | Callable[[str], np.ndarray],
    options: DensifyOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    scratch: str | os.PathLike[str] | None = None,
) -> PointCloud:
    """Dense point cloud from undistorted photos (name → ``(H,W,3)`` uint8 at the model's cameras), given as a
    mapping or as a loader ``images(name)`` (read on demand, so memory stays flat in the number of photos).

    ``progress(done, total)`` is called after each photo (depth maps first, then fusion). Depth maps go to
    ``scratch`` (a folder; default: a temporary one) and are removed at the end.
    """
    o = options or DensifyOptions()
    if isinstance(images, Mapping):
        names = [n for n in sorted(model.cameras) if n in images]
        read: Callable[[str], np.ndarray] = images.__getitem__
    else:
        names, read = sorted(model.cameras), images
    if len(names) < 2:
        raise InputError(f"densify needs at least 2 registered photos with images, got {len(names)}")
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        small = _Cache(lambda n: _downscale(read(n), model.cameras[n], o.max_size), CACHE_SIZE)
        neighbours = _covisible(model, names, o.num_neighbours)
        folder = Path(tmp)
        total = 2 * len(names)
        with torch.no_grad():
            for i, n in enumerate(names):
                srcs = [small[m] for m in neighbours[n]]
                near, far = _depth_range(model, n)
                d = plane_sweep_depth(small[n][0], small[n][1], srcs, near, far, o) if srcs else torch.zeros(1, 1)
                np.save(folder / f"{i}.npy", d.numpy())
                if progress:
                    progress(i + 1, total)
            index = {n: i for i, n in enumerate(names)}
            depth = _Cache(lambda n: torch.from_numpy(np.load(folder / f"{index[n]}.npy")), CACHE_SIZE)
            cloud = _fuse(names, neighbours, small, depth, o, progress, total)
    log.info("densify: %d sparse points -> %d dense points", len(model.xyz), len(cloud.xyz))
    return cloud


def _downscale(img: np.ndarray, cam: PinholeCamera, max_size: int) -> tuple[torch.Tensor, PinholeCamera]:
    s = min(1.0, max_size / max(cam.width, cam.height))
    w, h = max(1, round(cam.width * s)), max(1, round(cam.height * s))
    t = torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1)[None].float() / 255
    t = F.interpolate(t, size=(h, w), mode="area")[0] if (h, w) != t.shape[-2:] else t[0]
    return t, cam.scaled(w, h)


def _fuse(
    names: list[str],
    neighbours: dict[str, list[str]],
    small: _Cache,
    depth: _Cache,
    o: DensifyOptions,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> PointCloud:
    xyz, rgb, nrm = [], [], []
    for i, n in enumerate(names):
        d, cam = depth[n], small[n][1]
        if d.shape == (cam.height, cam.width):
            others = [(depth[m], small[m][1]) for m in neighbours[n]]
            others = [(dm, cm) for dm, cm in others if dm.ndim == 2 and dm.shape[0] > 1]
            ok = (d > 0) & (_consistent(d, cam, others, o) >= o.min_consistent)
            pts = _backproject(d, cam)
            xyz.append(pts[ok].numpy().astype(np.float32))
            rgb.append((small[n][0].permute(1, 2, 0)[ok] * 255).round().to(torch.uint8).numpy())
            nrm.append(_normals(pts, cam)[ok].numpy().astype(np.float32))
        if progress:
            progress(len(names) + i + 1, total)
    if not xyz:
        return PointCloud(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.float32))
    return PointCloud(np.concatenate(xyz), np.concatenate(rgb), np.concatenate(nrm))


def colmap_mvs_available() -> bool:
    """True when the installed pycolmap was built with CUDA (its patch-match stereo needs it)."""
    try:
        import pycolmap
    except ImportError:  # pragma: no cover
        return False
    return bool(getattr(pycolmap, "has_cuda", False))


def colmap_mvs(undistorted_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> PointCloud:
    """COLMAP patch-match stereo + fusion (CUDA only) on an ``undistort`` output folder → fused points.

    Raises :class:`InputError` when pycolmap has no CUDA. Fused points carry colours, not normals.
    """
    import pycolmap

    if not colmap_mvs_available():
        raise InputError("COLMAP patch-match stereo needs a CUDA build of pycolmap; use the CPU plane sweep")
    ws = Path(undistorted_dir)
    pycolmap.patch_match_stereo(ws)
    rec = pycolmap.stereo_fusion(Path(out_dir) / "fused", ws)
    pts = [rec.point3D(i) for i in rec.point3D_ids()]
    xyz = np.array([p.xyz for p in pts], dtype=np.float32).reshape(-1, 3)
    rgb = np.array([p.color for p in pts], dtype=np.uint8).reshape(-1, 3)
    log.info("COLMAP MVS: %d fused points", len(xyz))
    return PointCloud(xyz, rgb, None)
