"""Procedural landmark scene: a textured building of boxes on a ground plane, photographed many times.

Every photo has its own camera (pinhole, COLMAP convention: ``x_cam = R @ x_world + t``, camera looks
along +z with +y down, pixel centres at ``u + 0.5``), its own appearance (time of day, colour grading,
haze) and a few transient people-like occluders (stacked ellipsoids) with a ground-truth mask.
World frame: z up, metres, the building stands around the origin. Rendering is a vectorised ray caster
in PyTorch (analytic box / plane / ellipsoid hits, solid value-noise textures, sun shadows), 2×2
supersampled. Everything is deterministic from ``seed``.

Example::

    scene = make_landmark(num_photos=12, width=320, height=240, seed=0)
    scene.views[0].image.shape  # (240, 320, 3) uint8
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import write_image

__all__ = ["Appearance", "SyntheticLandmark", "SyntheticView", "look_at", "make_landmark", "write_landmark"]

log = logging.getLogger(__name__)

_EPS = 1e-6
_FAR = 1e9
_DT = torch.float32
_ELL_GROUP = 7
"""Ellipsoids per transient figure (a person has 7): the unit of ray culling in :func:`_hit_ellipsoids`."""
_BOX_GROUP = 4
"""Boxes per culling group in :func:`_hit_boxes` (hall + towers + roof; portico + columns; columns)."""


@dataclass
class Appearance:
    """Per-photo appearance parameters (all plain floats so they serialise to JSON)."""

    time_of_day: float
    """0 = sunrise, 0.5 = noon, 1 = sunset; sets sun elevation/azimuth and colour."""
    gains: tuple[float, float, float]
    """Colour-grading gains per RGB channel (≈0.8…1.2)."""
    gamma: float
    """Output gamma applied after the gains (≈0.85…1.15)."""
    saturation: float
    """Saturation multiplier (≈0.7…1.3)."""
    haze: float
    """Haze density per metre (0…0.04; fog up to ≈0.1): ``c = c·e^{-h·d} + haze_colour·(1 - e^{-h·d})``."""
    exposure: float = 1.0
    """Linear exposure multiplier before grading (1 = as lit; 0.5 = one stop under)."""
    contrast: float = 0.0
    """Tone-curve S-shape after gamma, −0.5…0.8: ``y = (1-c)·x + c·x²(3-2x)`` (0 = none, < 0 flattens)."""
    overcast: float = 0.0
    """Cloud cover 0…1: the sun dims by ``1 - overcast`` (soft light, faint shadows) and the sky turns grey."""


@dataclass
class SyntheticView:
    """One rendered photo with ground truth."""

    name: str
    """File name stem, e.g. ``"photo_007"``."""
    image: np.ndarray
    """``(H, W, 3)`` uint8 RGB."""
    K: np.ndarray
    """``(3, 3)`` float64 intrinsics (pixels)."""
    R: np.ndarray
    """``(3, 3)`` float64 world-to-camera rotation."""
    t: np.ndarray
    """``(3,)`` float64 world-to-camera translation (metres)."""
    transient_mask: np.ndarray
    """``(H, W)`` bool, True where a people-like occluder is the visible surface."""
    depth: np.ndarray
    """``(H, W)`` float32 z-depth in metres (0 for sky)."""
    appearance: Appearance

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates, ``(3,)`` metres."""
        return -self.R.T @ self.t


@dataclass
class SyntheticLandmark:
    """A procedural landmark: its boxes (static geometry) and rendered views."""

    boxes: np.ndarray
    """``(B, 2, 3)`` float64 axis-aligned boxes ``[lo, hi]`` in metres."""
    views: list[SyntheticView] = field(default_factory=list)
    seed: int = 0


def look_at(center: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera ``(R, t)`` for a camera at ``center`` looking at ``target`` (z-up world)."""
    f = target - center
    f = f / np.linalg.norm(f)
    right = np.cross(f, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    down = np.cross(f, right)
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    right, down = c * right + s * down, -s * right + c * down
    R = np.stack([right, down, f])
    return R, -R @ center


# ----------------------------------------------------------------------------------------------- scene


def _make_boxes(rng: np.random.Generator) -> np.ndarray:
    """Main hall, two towers, a portico of columns and a roof block, with mild random proportions."""
    w, d, h = 6.0 + rng.uniform(-0.5, 0.5), 4.0 + rng.uniform(-0.3, 0.3), 4.0 + rng.uniform(-0.3, 0.3)
    boxes = [
        [[-w / 2, -d / 2, 0], [w / 2, d / 2, h]],  # hall
        [[-w / 2 - 1.6, -1.2, 0], [-w / 2, 1.2, h + 2.5]],  # left tower
        [[w / 2, -1.2, 0], [w / 2 + 1.6, 1.2, h + 2.5]],  # right tower
        [[-w / 3, -d / 4, h], [w / 3, d / 4, h + 1.4]],  # roof block
        [[-w / 2 - 0.2, -d / 2 - 1.7, h - 0.1], [w / 2 + 0.2, -d / 2, h + 0.3]],  # portico roof
    ]
    for x in np.linspace(-w / 2 + 0.3, w / 2 - 0.3, 6):  # columns in front of the hall
        boxes.append([[x - 0.18, -d / 2 - 1.6, 0], [x + 0.18, -d / 2 - 1.25, h - 0.1]])
    return np.asarray(boxes, dtype=np.float64)


def _value_noise(p: torch.Tensor, vol: torch.Tensor) -> torch.Tensor:
    """Trilinear value noise: points ``(M, 3)`` (lattice units) → ``(M, C)`` from a periodic lattice.

    ``vol`` is :func:`_noise_volume`'s ``(1, C, G+1, G+1, G+1)`` wrap-padded table (period G).
    """
    g = vol.shape[-1] - 1
    grid = (torch.remainder(p, float(g)) * (2.0 / g) - 1.0).flip(-1).reshape(1, 1, 1, -1, 3)
    return F.grid_sample(vol, grid.to(vol.dtype), mode="bilinear", align_corners=True)[0, :, 0, 0].T


def _noise_volume(table: torch.Tensor) -> torch.Tensor:
    """``(G, G, G, C)`` random table → wrap-padded ``(1, C, G+1, G+1, G+1)`` volume for :func:`_value_noise`."""
    vol = torch.cat([table, table[:1]], 0)
    vol = torch.cat([vol, vol[:, :1]], 1)
    vol = torch.cat([vol, vol[:, :, :1]], 2)
    return vol.permute(3, 0, 1, 2)[None].contiguous()


def _albedo(points: torch.Tensor, normals: torch.Tensor, kind: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Solid-texture albedo ``(M, 3)`` in [0, 1]; kind 0 = ground, 1 = building, 2 = column/roof."""
    n = 0.5 * _value_noise(points * 1.3, table) + 0.3 * _value_noise(points * 4.1 + 7.0, table)
    n = n + 0.2 * _value_noise(points * 11.0 + 3.0, table)
    stone = torch.tensor([0.78, 0.70, 0.58], dtype=points.dtype)
    ground = torch.tensor([0.45, 0.47, 0.40], dtype=points.dtype)
    col = torch.where((kind == 0)[:, None], ground, stone)
    alb = col * (0.45 + 1.1 * n)
    # sharp-edged camouflage blobs at two scales (≈0.2–0.5 m): strong, view-stable features for SIFT
    b1 = torch.sigmoid((_value_noise(points * 2.3 + 1.7, table)[:, :1] - 0.5) * 25.0)
    b2 = torch.sigmoid((_value_noise(points * 5.5 + 5.1, table)[:, 1:2] - 0.5) * 25.0)
    alb = alb * (0.35 + 0.4 * b1 + 0.25 * b2)
    # windows on vertical walls of the hall/towers: dark recessed rectangles on a grid
    horiz = torch.where(normals[:, 0].abs() > 0.5, points[:, 1], points[:, 0])
    win = (torch.frac(horiz / 1.1 + 10.0) > 0.3) & (torch.frac(points[:, 2] / 1.6) > 0.35)
    win &= (kind == 1) & (normals[:, 2].abs() < 0.5) & (points[:, 2] > 0.8)
    alb = torch.where(win[:, None], alb * 0.25 + torch.tensor([0.05, 0.07, 0.12], dtype=alb.dtype), alb)
    # paving tiles on the ground
    tiles = (torch.frac(points[:, 0] / 1.5) < 0.05) | (torch.frac(points[:, 1] / 1.5) < 0.05)
    alb = torch.where(((kind == 0) & tiles)[:, None], alb * 0.55, alb)
    return alb.clamp(0, 1)


# -------------------------------------------------------------------------------------------- ray cast


def _inv_dir(d: torch.Tensor) -> torch.Tensor:
    return 1.0 / torch.where(d.abs() < _EPS, torch.full_like(d, _EPS), d)


def _in_slab(o: torch.Tensor, inv: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """``(M,)`` bool: the ray may hit the axis-aligned box ``[lo, hi]`` ahead of its origin (a conservative
    cull: every ray that hits something inside the box passes)."""
    t1, t2 = (lo - o) * inv, (hi - o) * inv
    tnear, tfar = torch.minimum(t1, t2).max(dim=-1).values, torch.maximum(t1, t2).min(dim=-1).values
    return (tfar >= tnear) & (tfar > 0)


def _culled(
    o: torch.Tensor,
    d: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    hit: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``hit(o, d)`` only on the rays that pass :func:`_in_slab` for ``[lo, hi]``; the others miss
    (``t = _FAR``). Exact: a ray's result does not depend on the other rays."""
    sel = _in_slab(o, _inv_dir(d), lo, hi).nonzero()[:, 0]
    t = torch.full((o.shape[0],), _FAR, dtype=o.dtype)
    normal, idx = torch.zeros_like(o), torch.zeros(o.shape[0], dtype=torch.long)
    if len(sel):
        ts, ns, js = hit(o[sel], d[sel])
        t[sel], normal[sel], idx[sel] = ts, ns, js
    return t, normal, idx


def _hit_boxes(
    o: torch.Tensor, d: torch.Tensor, boxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest box hit per ray: ``(t (M,), normal (M,3), box index (M,))``; ``t = _FAR`` on a miss.

    Boxes are tested in groups of :data:`_BOX_GROUP` consecutive ones, each only on the rays that pass the
    group's bounding box (sky and most ground rays are culled)."""
    return _nearest_by_group(o, d, boxes, boxes[:, 0], boxes[:, 1], _BOX_GROUP, _hit_boxes_all)


def _nearest_by_group(
    o: torch.Tensor,
    d: torch.Tensor,
    shapes: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    size: int,
    hit_all: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest hit over ``shapes`` (bounds ``lo``/``hi`` ``(S, 3)``), tested ``size`` at a time with culling;
    ties go to the lower index, like one ``min`` over all shapes."""
    t = torch.full((o.shape[0],), _FAR, dtype=o.dtype)
    normal, idx = torch.zeros_like(o), torch.zeros(o.shape[0], dtype=torch.long)
    for g0 in range(0, shapes.shape[0], size):
        grp = shapes[g0 : g0 + size]
        glo, ghi = lo[g0 : g0 + size].amin(0), hi[g0 : g0 + size].amax(0)
        pad = (ghi - glo).abs().amax() * 1e-4 + 1e-3
        tg, ng, jg = _culled(o, d, glo - pad, ghi + pad, lambda oo, dd, g=grp: hit_all(oo, dd, g))
        closer = tg < t
        t = torch.where(closer, tg, t)
        normal = torch.where(closer[:, None], ng, normal)
        idx = torch.where(closer, jg + g0, idx)
    return t, normal, idx


def _hit_boxes_all(
    o: torch.Tensor, d: torch.Tensor, boxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    inv = _inv_dir(d)
    t1 = (boxes[None, :, 0] - o[:, None]) * inv[:, None]  # (M, B, 3)
    t2 = (boxes[None, :, 1] - o[:, None]) * inv[:, None]
    tmin_axes = torch.minimum(t1, t2)
    tnear, axis = tmin_axes.max(dim=-1)
    tfar = torch.maximum(t1, t2).min(dim=-1).values
    ok = (tfar >= tnear) & (tnear > 1e-4)
    tnear = torch.where(ok, tnear, torch.full_like(tnear, _FAR))
    t, b = tnear.min(dim=1)
    ax = axis.gather(1, b[:, None])[:, 0]
    normal = torch.zeros_like(o)
    normal[torch.arange(o.shape[0]), ax] = -torch.sign(d[torch.arange(o.shape[0]), ax])
    return t, normal, b


def _hit_ellipsoids(
    o: torch.Tensor, d: torch.Tensor, ell: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest ellipsoid hit: ``(t (M,), normal (M,3), index (M,))``; ellipsoids ``(E, 2, 3)`` = [centre, radii].

    Ellipsoids are tested in groups of :data:`_ELL_GROUP` consecutive ones (one figure), each only on the rays
    that pass the group's bounding box."""
    lo, hi = ell[:, 0] - ell[:, 1], ell[:, 0] + ell[:, 1]
    return _nearest_by_group(o, d, ell, lo, hi, _ELL_GROUP, _hit_ellipsoids_all)


def _hit_ellipsoids_all(
    o: torch.Tensor, d: torch.Tensor, ell: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    oc = (o[:, None] - ell[None, :, 0]) / ell[None, :, 1]
    dd = d[:, None] / ell[None, :, 1]
    a, b, c = (dd * dd).sum(-1), (oc * dd).sum(-1), (oc * oc).sum(-1) - 1
    disc = b * b - a * c
    t = (-b - torch.sqrt(disc.clamp_min(0))) / a
    t = torch.where((disc > 0) & (t > 1e-4), t, torch.full_like(t, _FAR))
    t, e = t.min(dim=1)
    p = o + t.clamp(max=1e3)[:, None] * d
    normal = (p - ell[e, 0]) / ell[e, 1] ** 2
    return t, normal / normal.norm(dim=-1, keepdim=True).clamp_min(_EPS), e


def _people(
    rng: np.random.Generator, center: np.ndarray, target: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` people-like figures between camera and building: ellipsoids ``(E, 2, 3)`` and colours ``(E, 3)``."""
    fwd = target[:2] - center[:2]
    fwd /= np.linalg.norm(fwd)
    side = np.array([-fwd[1], fwd[0]])
    ells, cols = [], []
    for _ in range(count):
        xy = center[:2] + fwd * rng.uniform(3.0, 7.0) + side * rng.uniform(-2.0, 2.0)
        s = rng.uniform(0.85, 1.1)
        cloth, legs = rng.uniform(0.05, 0.8, 3), rng.uniform(0.05, 0.4, 3)
        skin = np.array([0.8, 0.6, 0.48]) * rng.uniform(0.55, 1.05)
        parts = [  # (lateral offset, height, radii (side, depth, height), colour), metres before scaling
            (0.0, 1.22, (0.19, 0.12, 0.3), cloth),  # torso
            (0.0, 1.56, (0.05, 0.05, 0.06), skin),  # neck
            (0.0, 1.7, (0.095, 0.1, 0.12), skin),  # head
            (-0.25, 1.18, (0.05, 0.05, 0.3), cloth),  # arms
            (0.25, 1.18, (0.05, 0.05, 0.3), cloth),
            (-0.09, 0.47, (0.075, 0.075, 0.46), legs),  # legs
            (0.09, 0.47, (0.075, 0.075, 0.46), legs),
        ]
        for off, dz, radii, colour in parts:
            c = np.array([xy[0] + side[0] * off * s, xy[1] + side[1] * off * s, dz * s])
            ells.append(
                [
                    c,
                    np.array(
                        [
                            radii[0] * abs(side[0]) + radii[1] * abs(side[1]),
                            radii[0] * abs(side[1]) + radii[1] * abs(side[0]),
                            radii[2],
                        ]
                    )
                    * s,
                ]
            )
            cols.append(colour)
    return np.asarray(ells, dtype=np.float64).reshape(-1, 2, 3), np.asarray(cols, dtype=np.float64).reshape(-1, 3)


def _sun(app: Appearance) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sun direction (towards the sun), sun colour, sky/ambient colour."""
    tod = app.time_of_day
    elev = math.radians(8 + 55 * math.sin(math.pi * tod))
    azim = math.radians(-70 + 140 * tod)
    dirn = torch.tensor([math.cos(elev) * math.sin(azim), -math.cos(elev) * math.cos(azim), math.sin(elev)], dtype=_DT)
    warm = 1 - math.sin(math.pi * tod)
    sun = torch.tensor([1.0, 0.92 - 0.25 * warm, 0.85 - 0.45 * warm], dtype=_DT) * 0.9
    sky = torch.tensor([0.45 + 0.2 * warm, 0.5, 0.62 - 0.15 * warm], dtype=_DT)
    if app.overcast:
        sun = sun * (1 - app.overcast)
        sky = sky + app.overcast * (torch.full((3,), 0.62, dtype=_DT) - sky) * 0.8
    return dirn, sun, sky


def _ambient(app: Appearance) -> float:
    """Weight of the sky light in the shading (more under clouds)."""
    return 0.55 + 0.45 * app.overcast if app.overcast else 0.55


def _grade(rgb: torch.Tensor, app: Appearance) -> torch.Tensor:
    """Colour grading: gains, saturation, gamma; ``(M, 3)`` linear-ish → ``(M, 3)`` in [0, 1]."""
    if app.exposure != 1.0:
        rgb = rgb * app.exposure
    rgb = rgb * torch.tensor(app.gains, dtype=rgb.dtype)
    grey = rgb.mean(-1, keepdim=True)
    rgb = (grey + app.saturation * (rgb - grey)).clamp(0, 1)
    rgb = rgb ** (1.0 / app.gamma)
    if app.contrast:
        rgb = (1 - app.contrast) * rgb + app.contrast * rgb * rgb * (3 - 2 * rgb)
    return rgb


@dataclass
class _Cast:
    """Per-ray results of :func:`_cast` (``M = H·ss · W·ss`` supersampled rays, row-major)."""

    dc: torch.Tensor
    """Camera-space ray directions ``(M, 3)`` with z = 1."""
    tmin: torch.Tensor
    """Ray parameter of the first hit ``(M,)`` (≥ ``_FAR / 2``: no hit)."""
    which: torch.Tensor
    """What was hit ``(M,)``: 0 ground, 1 building box, 2 person (ellipsoid)."""
    hit: torch.Tensor
    """``(M,)`` bool."""
    normal: torch.Tensor
    """World-space surface normals ``(M, 3)``."""
    rgb: torch.Tensor
    """Shaded, hazed and graded colour ``(M, 3)`` in [0, 1]."""


def _cast(
    boxes: torch.Tensor,
    ells: torch.Tensor,
    ell_cols: torch.Tensor,
    table: torch.Tensor,
    K: np.ndarray,
    R: np.ndarray,
    t: np.ndarray,
    hw: tuple[int, int],
    app: Appearance,
    ss: int = 2,
) -> _Cast:
    """Ray-cast one view at ``ss×ss`` supersampling and shade every ray (the one renderer of the landmark
    photos and of the multichannel framebuffers)."""
    h, w = hw
    ys, xs = torch.meshgrid(torch.arange(h * ss, dtype=_DT), torch.arange(w * ss, dtype=_DT), indexing="ij")
    u, v = (xs.reshape(-1) + 0.5) / ss, (ys.reshape(-1) + 0.5) / ss
    dc = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    Rt = torch.from_numpy(R).to(_DT)
    d = dc @ Rt  # rows: R^T dc
    o = torch.from_numpy(-R.T @ t).to(_DT).expand_as(d)
    tb, nb, bi = _hit_boxes(o, d, boxes)
    tg = torch.where(d[:, 2] < -_EPS, -o[:, 2] / d[:, 2].clamp(max=-_EPS), torch.full_like(tb, _FAR))
    te, ne, e = _hit_ellipsoids(o, d, ells)
    tt = torch.stack([tg, tb, te], -1)
    tmin, which = tt.min(-1)
    hit = tmin < _FAR / 2
    p = o + tmin.clamp(max=1e3)[:, None] * d
    normal = torch.where(
        (which == 0)[:, None], torch.tensor([0.0, 0.0, 1.0], dtype=d.dtype), torch.where((which == 1)[:, None], nb, ne)
    )
    kind = torch.where(which == 0, 0, torch.where(bi < 3, 1, 2))
    alb = _albedo(p, normal, kind, table)
    if ells.shape[0]:
        alb = torch.where((which == 2)[:, None], ell_cols[e] * (0.8 + 0.4 * _value_noise(p * 6.0, table)), alb)
    sdir, sun, sky = _sun(app)
    lit = _shadow(p + normal * 1e-3, sdir, boxes, ells)
    rgb = _shade(alb, normal, lit, sdir, sun, sky * _ambient(app))
    rgb = _grade(_sky_and_haze(rgb, d, tmin, hit, app, sky), app)
    return _Cast(dc, tmin, which, hit, normal, rgb)


def _render(
    boxes: torch.Tensor,
    ells: torch.Tensor,
    ell_cols: torch.Tensor,
    table: torch.Tensor,
    K: np.ndarray,
    R: np.ndarray,
    t: np.ndarray,
    hw: tuple[int, int],
    app: Appearance,
    ss: int = 2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ray-cast one view: uint8 image ``(H,W,3)``, transient mask ``(H,W)`` bool, depth ``(H,W)`` float32."""
    h, w = hw
    c = _cast(boxes, ells, ell_cols, table, K, R, t, hw, app, ss)
    img = c.rgb.reshape(h, ss, w, ss, 3).mean(dim=(1, 3))
    mask = (c.which == 2) & c.hit
    mask = mask.reshape(h, ss, w, ss).float().mean(dim=(1, 3)) >= 0.5
    z = (c.tmin * c.dc[:, 2]).where(c.hit, torch.zeros_like(c.tmin)).reshape(h, ss, w, ss)[:, ss // 2, :, ss // 2]
    return (img.numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8), mask.numpy(), z.numpy().astype(np.float32)


def _shade(
    alb: torch.Tensor, normal: torch.Tensor, lit: torch.Tensor, sdir: torch.Tensor, sun: torch.Tensor, amb: torch.Tensor
) -> torch.Tensor:
    """Lambertian shading ``(M, 3)``: albedo × (ambient + sun · max(0, n·s) · lit)."""
    return alb * (amb + sun * (normal @ sdir).clamp_min(0)[:, None] * lit[:, None])


def _shadow(p: torch.Tensor, sdir: torch.Tensor, boxes: torch.Tensor, ells: torch.Tensor) -> torch.Tensor:
    """1 where the point sees the sun, 0 where a box or figure blocks it; ``(M,)``."""
    d = sdir.expand_as(p)
    tb, _, _ = _hit_boxes(p, d, boxes)
    te, _, _ = _hit_ellipsoids(p, d, ells)
    return ((tb >= _FAR / 2) & (te >= _FAR / 2)).to(p.dtype)


def _sky_and_haze(
    rgb: torch.Tensor, d: torch.Tensor, t: torch.Tensor, hit: torch.Tensor, app: Appearance, sky: torch.Tensor
) -> torch.Tensor:
    """Sky gradient for missed rays and exponential haze for hits."""
    dn = d / d.norm(dim=-1, keepdim=True)
    up = dn[:, 2].clamp(0, 1)[:, None]
    zenith = torch.tensor([0.25, 0.4, 0.8], dtype=d.dtype)
    if app.overcast:
        zenith = zenith + app.overcast * (torch.full((3,), 0.7, dtype=d.dtype) - zenith)
    sky_rgb = sky * 1.3 * (1 - up) + zenith * up
    dist = t.clamp(max=1e3) * d.norm(dim=-1)
    fog = torch.exp(-app.haze * dist)[:, None]
    haze_col = sky * 1.4
    rgb = rgb * fog + haze_col * (1 - fog)
    return torch.where(hit[:, None], rgb, sky_rgb).clamp(0, 1)


# ----------------------------------------------------------------------------------------------- views


def _random_appearance(rng: np.random.Generator) -> Appearance:
    return Appearance(
        time_of_day=float(rng.uniform(0.15, 0.85)),
        gains=tuple(float(g) for g in rng.uniform(0.85, 1.15, 3)),  # type: ignore[arg-type]
        gamma=float(rng.uniform(0.85, 1.15)),
        saturation=float(rng.uniform(0.75, 1.25)),
        haze=float(rng.uniform(0.0, 0.03)),
    )


def make_landmark(
    num_photos: int = 30,
    width: int = 320,
    height: int = 240,
    *,
    seed: int = 0,
    arc_deg: float = 150.0,
    max_people: int = 3,
    focal_jitter: float = 0.1,
) -> SyntheticLandmark:
    """Render ``num_photos`` photos (``height × width`` RGB uint8) of one procedural landmark.

    Cameras orbit the building front over ``arc_deg`` degrees (in order, so neighbouring photos
    overlap), 9–14 m away, 1.2–3 m high, focal ``≈ 0.9·width`` ± ``focal_jitter`` (relative), small roll.
    Each photo gets 0…``max_people`` occluding figures. Runtime ≈ 0.3 s per 320×240 photo on one core.
    """
    if num_photos < 1 or width < 16 or height < 16:
        raise InputError(f"make_landmark needs num_photos >= 1 and size >= 16x16, got {num_photos}, {width}x{height}")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    table = _noise_volume(torch.rand(32, 32, 32, 3, generator=gen, dtype=_DT))
    boxes_np = _make_boxes(rng)
    boxes = torch.from_numpy(boxes_np).to(_DT)
    scene = SyntheticLandmark(boxes=boxes_np, seed=seed)
    angles = np.linspace(-arc_deg / 2, arc_deg / 2, num_photos) + rng.uniform(-1.5, 1.5, num_photos)
    for i, ang in enumerate(angles):
        scene.views.append(_make_view(i, float(ang), rng, boxes, table, width, height, max_people, focal_jitter))
    return scene


def _make_view(
    i: int,
    ang: float,
    rng: np.random.Generator,
    boxes: torch.Tensor,
    table: torch.Tensor,
    width: int,
    height: int,
    max_people: int,
    focal_jitter: float,
) -> SyntheticView:
    """Place camera ``i`` at azimuth ``ang`` (degrees, 0 = in front of the portico) and render it."""
    radius, hgt = rng.uniform(9.0, 14.0), rng.uniform(1.2, 3.0)
    a = math.radians(ang - 90.0)
    center = np.array([radius * math.cos(a), radius * math.sin(a), hgt])
    target = np.array([0.0, 0.0, 2.6]) + rng.uniform(-0.8, 0.8, 3) * np.array([1, 1, 0.5])
    R, t = look_at(center, target, roll_deg=float(rng.uniform(-4, 4)))
    f = 0.9 * width * (1 + rng.uniform(-focal_jitter, focal_jitter))
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=np.float64)
    app = _random_appearance(rng)
    ells, cols = _people(rng, center, target, int(rng.integers(0, max_people + 1)))
    img, mask, depth = _render(
        boxes, torch.from_numpy(ells).to(_DT), torch.from_numpy(cols).to(_DT), table, K, R, t, (height, width), app
    )
    return SyntheticView(f"photo_{i:03d}", img, K, R, t, mask, depth, app)


def write_landmark(scene: SyntheticLandmark, folder: str | os.PathLike[str], *, ext: str = ".png") -> Path:
    """Write photos to ``folder/images/``, masks to ``folder/masks/`` and ``folder/ground_truth.json``.

    The JSON holds per photo ``{name, file, K, R, t, appearance}`` (lists of floats) plus ``boxes``.
    Returns the images folder (the input of ``rerender capture``).
    """
    root = Path(folder)
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    entries = []
    for v in scene.views:
        write_image(images / f"{v.name}{ext}", v.image, **({"quality": 95} if ext in (".jpg", ".jpeg") else {}))
        write_image(masks / f"{v.name}.png", (v.transient_mask * 255).astype(np.uint8))
        entries.append(
            {
                "name": v.name,
                "file": f"{v.name}{ext}",
                "K": v.K.tolist(),
                "R": v.R.tolist(),
                "t": v.t.tolist(),
                "appearance": asdict(v.appearance),
            }
        )
    doc = {"seed": scene.seed, "boxes": scene.boxes.tolist(), "views": entries}
    atomic_write_bytes(root / "ground_truth.json", json.dumps(doc, indent=1).encode())
    log.info("wrote %d synthetic photos to %s", len(scene.views), images)
    return images
