"""Vectorised point splatting with a z-buffer (PyTorch; runs on whatever device the points are on).

Each point covers a ``(2r+1)²`` square of pixels around its projection; per pixel the nearest point
wins (``scatter_reduce(amin)`` on depth, ties broken by the larger point index). Outputs follow the
input's device and dtype.

Example::

    out = splat_points(xyz, rgb, camera, radius=1)   # xyz (N,3), rgb (N,3) in [0,1]
    out.color.shape, out.depth.shape                  # (3,H,W), (1,H,W)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neuralwrap.errors import InputError
from neuralwrap.rerender.scene.camera import PinholeCamera

__all__ = ["PointSplatter", "SplatOutput", "splat_points"]


@dataclass
class SplatOutput:
    """A deep framebuffer at one camera; empty pixels have depth 0, index −1 and zero colour/normal."""

    color: torch.Tensor
    """``(C, H, W)`` per-point features (e.g. RGB in [0, 1]) of the visible point."""
    depth: torch.Tensor
    """``(1, H, W)`` camera z-depth of the visible point (SfM units), 0 where empty."""
    normals: torch.Tensor | None
    """``(3, H, W)`` unit normals in camera coordinates (x right, y down, z forward), or None."""
    index: torch.Tensor
    """``(H, W)`` int64 index of the visible point, −1 where empty."""

    @property
    def mask(self) -> torch.Tensor:
        """``(H, W)`` bool, True where a point was splatted."""
        return self.index >= 0


def _check(points: torch.Tensor, colors: torch.Tensor, normals: torch.Tensor | None, radius: int) -> None:
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"points must be (N, 3), got {tuple(points.shape)}")
    if colors.ndim != 2 or colors.shape[0] != points.shape[0]:
        raise InputError(f"colors must be (N, C) with N = {points.shape[0]}, got {tuple(colors.shape)}")
    if normals is not None and normals.shape != points.shape:
        raise InputError(f"normals must be (N, 3) like points, got {tuple(normals.shape)}")
    if radius < 0:
        raise InputError(f"radius must be >= 0 pixels, got {radius}")


def _footprint(u: torch.Tensor, v: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel columns/rows ``(N, K)`` covered by each projected point (square of side 2r+1)."""
    r = torch.arange(-radius, radius + 1, device=u.device)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    col = torch.floor(u).long()[:, None] + dx.reshape(1, -1)
    row = torch.floor(v).long()[:, None] + dy.reshape(1, -1)
    return col, row


def splat_points(
    points: torch.Tensor,
    colors: torch.Tensor,
    camera: PinholeCamera,
    *,
    normals: torch.Tensor | None = None,
    radius: int = 1,
    near: float = 1e-3,
) -> SplatOutput:
    """Render points ``(N,3)`` (world) with features ``colors (N,C)`` into ``camera`` (``H×W`` from the camera).

    ``radius`` is the splat half-size in pixels (0 = one pixel); points closer than ``near`` are dropped.
    ``normals (N,3)`` (world, unit) are rotated into camera coordinates.
    """
    _check(points, colors, normals, radius)
    dev, dt = points.device, points.dtype
    h, w = camera.height, camera.width
    R = torch.as_tensor(camera.R, device=dev, dtype=dt)
    t = torch.as_tensor(camera.t, device=dev, dtype=dt)
    xc = points @ R.T + t
    z = xc[:, 2]
    zs = z.clamp_min(near)
    u, v = camera.fx * xc[:, 0] / zs + camera.cx, camera.fy * xc[:, 1] / zs + camera.cy
    ok_pt = (z > near) & torch.isfinite(u) & torch.isfinite(v)
    col, row = _footprint(u.where(ok_pt, torch.zeros_like(u)), v.where(ok_pt, torch.zeros_like(v)), radius)
    ok = ok_pt[:, None] & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    pid = torch.arange(points.shape[0], device=dev)[:, None].expand_as(col)[ok]
    lin = (row * w + col)[ok]
    zk = z[:, None].expand_as(col)[ok]
    zbuf = torch.full((h * w,), float("inf"), device=dev, dtype=dt).scatter_reduce(0, lin, zk, "amin")
    win = zk <= zbuf[lin]
    index = torch.full((h * w,), -1, device=dev, dtype=torch.long).scatter_reduce(0, lin[win], pid[win], "amax")
    return _gather(index.view(h, w), zbuf.view(h, w), colors, normals, R)


def _gather(
    index: torch.Tensor, zbuf: torch.Tensor, colors: torch.Tensor, normals: torch.Tensor | None, R: torch.Tensor
) -> SplatOutput:
    hit = index >= 0
    safe = index.clamp_min(0)
    color = colors[safe].where(hit[..., None], torch.zeros((), dtype=colors.dtype, device=colors.device))
    depth = zbuf.where(hit, torch.zeros_like(zbuf))
    ncam = None
    if normals is not None:
        nc = normals.to(R.dtype) @ R.T
        ncam = nc[safe].where(hit[..., None], torch.zeros((), dtype=nc.dtype, device=nc.device)).permute(2, 0, 1)
    return SplatOutput(color.permute(2, 0, 1), depth[None], ncam, index)


class PointSplatter(nn.Module):
    """Module form of :func:`splat_points` (no parameters; ``radius`` and ``near`` fixed at construction)."""

    def __init__(self, radius: int = 1, near: float = 1e-3) -> None:
        super().__init__()
        self.radius, self.near = radius, near

    def forward(
        self, points: torch.Tensor, colors: torch.Tensor, camera: PinholeCamera, normals: torch.Tensor | None = None
    ) -> SplatOutput:
        """See :func:`splat_points`."""
        return splat_points(points, colors, camera, normals=normals, radius=self.radius, near=self.near)
