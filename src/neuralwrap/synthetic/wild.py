"""An in-the-wild photo collection of the procedural landmark, streamed to disk, with ground truth per photo.

Like an internet collection (docs/RERENDER_DATASET.md, "Synthetic in-the-wild benchmark"):

- cameras: longer side 320–448 px, aspect 1:1…16:9 (a fifth portrait), focal 0.6–1.6 × the longer side,
  distance scaled with the focal, street-level or elevated, in shuffled order (file names say nothing);
- appearance: time of day (sun direction and colour), cloud cover, haze/fog, exposure, white balance,
  gamma and an S-shaped tone curve, saturation, JPEG quality 70–95;
- transients: people, people with umbrellas and cars (ellipsoids) between camera and building;
- photos that should not register (≈10 %): another building elsewhere, a close-up of the paving far from
  the landmark, a heavy crop (a fifth of the frame, upscaled).

Per photo the generator writes the photo, the same view without transients (same appearance), the view
without transients under :data:`REFERENCE_APPEARANCE`, the transient mask, and the camera; 10 % of the
registrable photos are listed as held-out test photos. Everything is deterministic from the seed, and
each photo only from ``(seed, index)``. Memory does not grow with the number of photos.

Example::

    summary = make_wild_landmark("bench/landmark400", WildOptions(photos=400, seed=0))
    # bench/landmark400/images is the input of `rerender capture`
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import write_image
from neuralwrap.synthetic.landmark import (
    _DT,
    _FAR,
    Appearance,
    _albedo,
    _ambient,
    _grade,
    _hit_boxes,
    _hit_ellipsoids,
    _make_boxes,
    _noise_volume,
    _people,
    _shade,
    _sky_and_haze,
    _sun,
    _value_noise,
    look_at,
)

__all__ = ["KINDS", "REFERENCE_APPEARANCE", "WildOptions", "make_wild_landmark"]

log = logging.getLogger(__name__)

#: photo kinds: ``landmark`` registers; the others should be rejected by structure from motion
KINDS: tuple[str, ...] = ("landmark", "other_place", "closeup", "crop")

#: the appearance of the ``reference/`` ground truth: noon, clear sky, no haze, neutral grading
REFERENCE_APPEARANCE = Appearance(time_of_day=0.5, gains=(1.0, 1.0, 1.0), gamma=1.0, saturation=1.0, haze=0.0)

_OTHER_PLACE_SEED = 7919  # offset of the seed of the unrelated building


@dataclass
class WildOptions:
    """Settings of :func:`make_wild_landmark` (plain values, saved in ``ground_truth.json``)."""

    photos: int = 400
    """Photos in the collection (≥ 1)."""
    seed: int = 0
    """Seed of the scene, cameras, appearances and transients."""
    long_sides: tuple[int, ...] = (320, 384, 448)
    """Longer sides (px) drawn per photo."""
    arc_deg: float = 200.0
    """Azimuth range of the cameras around the building (0 = in front of the portico); most photos are
    within ±35° of the front, like the popular viewpoints of a landmark."""
    focal_range: tuple[float, float] = (0.6, 1.6)
    """Focal length range as a multiple of the longer side (0.6 ≈ 21 mm, 1.6 ≈ 58 mm full-frame equivalent);
    the camera distance scales with it, so the building keeps roughly its size in the frame."""
    max_transients: int = 5
    """Most transient objects per photo (people, umbrellas, cars)."""
    unregistrable: float = 0.1
    """Fraction of photos that should not register (other place, close-up, heavy crop: 4 : 3 : 3)."""
    test_fraction: float = 0.1
    """Fraction of the registrable photos listed as held-out test photos (at least one)."""


@dataclass
class _Geometry:
    boxes: torch.Tensor
    table: torch.Tensor


def _scene(seed: int) -> _Geometry:
    gen = torch.Generator().manual_seed(seed)
    table = _noise_volume(torch.rand(32, 32, 32, 3, generator=gen, dtype=_DT))
    return _Geometry(torch.from_numpy(_make_boxes(np.random.default_rng(seed))).to(_DT), table)


def _kinds(n: int, o: WildOptions) -> list[str]:
    """Kind per photo index: a seeded shuffle of the quota (at least one reject of each of the first two kinds
    when ``unregistrable > 0``, so even a tiny collection tests rejection)."""
    bad = round(o.unregistrable * n)
    other = max(1, round(bad * 0.4)) if o.unregistrable > 0 and n >= 4 else 0
    close = max(1, round(bad * 0.3)) if o.unregistrable > 0 and n >= 4 else 0
    crop = round(bad * 0.3)
    kinds = ["other_place"] * other + ["closeup"] * close + ["crop"] * crop
    kinds += ["landmark"] * (n - len(kinds))
    order = np.random.default_rng([o.seed, 1]).permutation(n)
    return [kinds[j] for j in order]


def _appearance(rng: np.random.Generator) -> Appearance:
    """Time of day, weather and camera processing of one internet photo."""
    fog = rng.random() < 0.1
    warm = float(rng.uniform(-0.15, 0.15))  # white balance: + warm, - cool
    tint = float(rng.uniform(-0.04, 0.04))
    scale = float(rng.uniform(0.92, 1.08))
    return Appearance(
        time_of_day=float(rng.uniform(0.02, 0.98)),
        gains=(scale * (1 + warm), scale * (1 + tint), scale * (1 - warm)),
        gamma=float(rng.uniform(0.8, 1.2)),
        saturation=float(rng.uniform(0.6, 1.3)),
        haze=float(rng.uniform(0.04, 0.09) if fog else rng.uniform(0.0, 0.02)),
        exposure=float(2.0 ** np.clip(rng.normal(0.0, 0.45), -1.2, 1.2)),
        contrast=float(rng.uniform(-0.3, 0.6)),
        overcast=0.0 if rng.random() < 0.55 else float(rng.uniform(0.3, 1.0)),
    )


def _size(rng: np.random.Generator, o: WildOptions) -> tuple[int, int]:
    """``(width, height)`` in px, even."""
    long = int(rng.choice(o.long_sides))
    aspect = float(rng.choice([4 / 3, 3 / 2, 16 / 9, 1.0]))
    short = 2 * round(long / aspect / 2)
    return (short, long) if rng.random() < 0.2 else (long, short)


def _landmark_camera(
    rng: np.random.Generator, w: int, h: int, o: WildOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(K, R, t, centre, target)`` of a photo of the building."""
    ff = float(rng.uniform(*o.focal_range))
    f = ff * max(w, h)
    half = o.arc_deg / 2
    ang = rng.normal(0.0, 35.0) if rng.random() < 0.65 else rng.uniform(-half, half)
    ang = float(np.clip(ang, -half, half))
    radius = max(6.0, float(rng.uniform(9.0, 13.0)) * ff / 0.9 * float(rng.uniform(0.85, 1.15)))
    hgt = float(rng.uniform(1.2, 2.2) if rng.random() < 0.7 else rng.uniform(3.0, 8.0))
    a = math.radians(ang - 90.0)
    center = np.array([radius * math.cos(a), radius * math.sin(a), hgt])
    target = np.array([0.0, 0.0, 2.6]) + rng.uniform(-1.0, 1.0, 3) * np.array([1.2, 1.2, 0.8])
    R, t = look_at(center, target, roll_deg=float(rng.uniform(-5, 5)))
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], dtype=np.float64)
    return K, R, t, center, target


def _closeup_camera(
    rng: np.random.Generator, w: int, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A photo of the paving 28–40 m from the landmark, looking away from it and down."""
    ang = math.radians(float(rng.uniform(0, 360)))
    out = np.array([math.cos(ang), math.sin(ang), 0.0])
    center = out * float(rng.uniform(28.0, 40.0)) + np.array([0.0, 0.0, float(rng.uniform(1.3, 1.7))])
    target = center + out * float(rng.uniform(1.0, 2.0)) - np.array([0.0, 0.0, center[2]])
    R, t = look_at(center, target, roll_deg=float(rng.uniform(-8, 8)))
    f = float(rng.uniform(0.6, 1.0)) * max(w, h)
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], dtype=np.float64)
    return K, R, t, center, target


# ------------------------------------------------------------------------------------------ transients


def _ell(c: tuple[float, float, float], r: tuple[float, float, float]) -> list[np.ndarray]:
    return [np.asarray(c, dtype=np.float64), np.asarray(r, dtype=np.float64)]


def _car(rng: np.random.Generator, center: np.ndarray, target: np.ndarray) -> tuple[list, list]:
    """A car (7 ellipsoids, axis-aligned along x or y) 5–12 m in front of the camera."""
    fwd = (target - center)[:2] / np.linalg.norm((target - center)[:2])
    side = np.array([-fwd[1], fwd[0]])
    xy = center[:2] + fwd * rng.uniform(5.0, 12.0) + side * rng.uniform(-4.0, 4.0)
    along_x = rng.random() < 0.5
    paint = rng.uniform(0.05, 0.9, 3)
    dark, glass = np.array([0.06, 0.06, 0.07]), np.array([0.1, 0.14, 0.18])

    def sz(a: float, b: float, c: float) -> tuple[float, float, float]:
        return (a, b, c) if along_x else (b, a, c)

    def at(dx: float, dy: float, z: float) -> tuple[float, float, float]:
        off = np.array([dx, dy]) if along_x else np.array([dy, dx])
        return float(xy[0] + off[0]), float(xy[1] + off[1]), z

    parts = [
        (at(0, 0, 0.62), sz(2.1, 0.88, 0.36), paint),  # body
        (at(-0.1, 0, 1.08), sz(1.15, 0.78, 0.33), glass),  # cabin
        (at(1.35, 0, 0.7), sz(0.8, 0.84, 0.22), paint),  # bonnet
    ]
    for dx in (-1.3, 1.3):
        for dy in (-0.82, 0.82):
            parts.append((at(dx, dy, 0.33), sz(0.33, 0.12, 0.33), dark))
    ells = [_ell(c, r) for c, r, _ in parts]
    return ells, [col for _, _, col in parts]


def _umbrella(rng: np.random.Generator, center: np.ndarray, target: np.ndarray) -> tuple[list, list]:
    """A person under an open umbrella (7 ellipsoids) 3–7 m in front of the camera."""
    ells, cols = _people(rng, center, target, 1)
    keep = [0, 2, 3, 5, 6]  # torso, head, one arm, legs
    top = ells[2][0]
    canopy = rng.uniform(0.1, 0.95, 3)
    out = [ells[k] for k in keep] + [
        _ell((top[0] + 0.15, top[1], 1.95), (0.02, 0.02, 0.45)),  # pole
        _ell((top[0] + 0.15, top[1], 2.3), (0.85, 0.85, 0.2)),  # canopy
    ]
    return out, [cols[k] for k in keep] + [np.array([0.2, 0.2, 0.2]), canopy]


def _transients(rng: np.random.Generator, center: np.ndarray, target: np.ndarray, o: WildOptions) -> tuple:
    """Ellipsoids ``(E, 2, 3)`` and colours ``(E, 3)`` of 0…``max_transients`` objects (7 ellipsoids each)."""
    n = int(rng.integers(0, o.max_transients + 1))
    ells: list = []
    cols: list = []
    for _ in range(n):
        u = rng.random()
        if u < 0.6:
            e, c = _people(rng, center, target, 1)
            e, c = list(e), list(c)
        elif u < 0.8:
            e, c = _umbrella(rng, center, target)
        else:
            e, c = _car(rng, center, target)
        ells += e
        cols += c
    return (
        torch.from_numpy(np.asarray(ells, dtype=np.float64).reshape(-1, 2, 3)).to(_DT),
        torch.from_numpy(np.asarray(cols, dtype=np.float64).reshape(-1, 3)).to(_DT),
    )


# ---------------------------------------------------------------------------------------------- render


def _sunlit(
    p: torch.Tensor, normal: torch.Tensor, hit: torch.Tensor, sdir: torch.Tensor, shapes: tuple
) -> torch.Tensor:
    """``(M,)`` bool: the hit sees the sun past the boxes and ellipsoids in ``shapes`` ((kind, tensor) pairs);
    sky rays (``hit`` False) are not tested."""
    sel = hit.nonzero()[:, 0]
    q = p[sel] + normal[sel] * 1e-3
    seen = torch.ones(len(sel), dtype=torch.bool)
    for kind, x in shapes:
        if x.shape[0]:
            fn = _hit_boxes if kind == "boxes" else _hit_ellipsoids
            seen &= fn(q, sdir.expand_as(q), x)[0] >= _FAR / 2
    lit = torch.zeros_like(hit)
    lit[sel] = seen
    return lit


def _light(
    alb: torch.Tensor,
    normal: torch.Tensor,
    lit: torch.Tensor,
    d: torch.Tensor,
    t: torch.Tensor,
    hit: torch.Tensor,
    app: Appearance,
) -> torch.Tensor:
    """Shade (``lit``: sunlit mask), haze and grade hits; ``(M, 3)`` in [0, 1]."""
    sdir, sun, sky = _sun(app)
    rgb = _shade(alb, normal, lit.to(alb.dtype), sdir, sun, sky * _ambient(app))
    return _grade(_sky_and_haze(rgb, d, t, hit, app, sky), app)


def _render_three(
    geo: _Geometry,
    ells: torch.Tensor,
    cols: torch.Tensor,
    K: np.ndarray,
    R: np.ndarray,
    t: np.ndarray,
    hw: tuple[int, int],
    app: Appearance,
    ss: int = 2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The photo, the clean view (no transients), the reference view ``(H, W, 3)`` in [0, 1] and the transient
    mask ``(H, W)`` bool, from one primary ray cast at ``ss×ss`` supersampling. Away from transients and their
    shadows, photo and clean view are equal."""
    h, w = hw
    ys, xs = torch.meshgrid(torch.arange(h * ss, dtype=_DT), torch.arange(w * ss, dtype=_DT), indexing="ij")
    u, v = (xs.reshape(-1) + 0.5) / ss, (ys.reshape(-1) + 0.5) / ss
    dc = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    d = dc @ torch.from_numpy(R).to(_DT)
    o = torch.from_numpy(-R.T @ t).to(_DT).expand_as(d)
    tb, nb, bi = _hit_boxes(o, d, geo.boxes)
    tg = torch.where(d[:, 2] < -1e-6, -o[:, 2] / d[:, 2].clamp(max=-1e-6), torch.full_like(tb, _FAR))
    ts = torch.minimum(tg, tb)
    hit = ts < _FAR / 2
    p = o + ts.clamp(max=1e3)[:, None] * d
    ground = tg <= tb
    normal = torch.where(ground[:, None], torch.tensor([0.0, 0.0, 1.0], dtype=_DT), nb)
    kind = torch.where(ground, 0, torch.where(bi < 3, 1, 2))
    alb = _albedo(p, normal, kind, geo.table)
    sdir = _sun(app)[0]
    lit = _sunlit(p, normal, hit, sdir, (("boxes", geo.boxes),))
    clean = _light(alb, normal, lit, d, ts, hit, app)
    lit_ref = _sunlit(p, normal, hit, _sun(REFERENCE_APPEARANCE)[0], (("boxes", geo.boxes),))
    ref = _light(alb, normal, lit_ref, d, ts, hit, REFERENCE_APPEARANCE)
    photo = _light(alb, normal, lit & _sunlit(p, normal, lit, sdir, (("ells", ells),)), d, ts, hit, app)
    te, ne, e = _hit_ellipsoids(o, d, ells)
    trans = (te < ts) & (te < _FAR / 2)
    sel = trans.nonzero()[:, 0]
    if len(sel):
        pt, nt, yes = o[sel] + te[sel, None] * d[sel], ne[sel], torch.ones(len(sel), dtype=torch.bool)
        alb_t = cols[e[sel]] * (0.8 + 0.4 * _value_noise(pt * 6.0, geo.table))
        lit_t = _sunlit(pt, nt, yes, sdir, (("boxes", geo.boxes), ("ells", ells)))
        photo[sel] = _light(alb_t, nt, lit_t, d[sel], te[sel], yes, app)

    def down(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(h, ss, w, ss, -1).mean(dim=(1, 3))

    return down(photo), down(clean), down(ref), down(trans.to(_DT)[:, None])[..., 0] >= 0.5


# ---------------------------------------------------------------------------------------------- photos


def _photo(i: int, kind: str, geo: _Geometry, other: _Geometry, o: WildOptions) -> dict[str, Any]:
    """Render photo ``i``: images ``{"photo", "clean", "reference"}`` (uint8), ``mask`` and its record."""
    rng = np.random.default_rng([o.seed, 2, i])
    w, h = _size(rng, o)
    if kind == "closeup":
        K, R, t, center, target = _closeup_camera(rng, w, h)
    else:
        K, R, t, center, target = _landmark_camera(rng, w, h, o)
    app = _appearance(rng)
    ells, cols = _transients(rng, center, target, o)
    scene = other if kind == "other_place" else geo
    if kind == "crop":  # a fifth of the frame at its own pixel density, upscaled to the photo size
        c = float(rng.uniform(0.16, 0.24))
        cw, ch = max(16, round(c * w)), max(16, round(c * h))
        x0, y0 = float(rng.uniform(0, w - cw)), float(rng.uniform(0, h - ch))
        Kc = K.copy()
        Kc[0, 2] -= x0
        Kc[1, 2] -= y0
        imgs = _render_three(scene, ells, cols, Kc, R, t, (ch, cw), app)
        up = [
            F.interpolate(x.permute(2, 0, 1)[None], size=(h, w), mode="bilinear", align_corners=False)[0].permute(
                1, 2, 0
            )
            for x in imgs[:3]
        ]
        mask = F.interpolate(imgs[3][None, None].to(_DT), size=(h, w), mode="nearest")[0, 0] >= 0.5
        sx, sy = w / cw, h / ch
        K = np.array([[Kc[0, 0] * sx, 0, Kc[0, 2] * sx], [0, Kc[1, 1] * sy, Kc[1, 2] * sy], [0, 0, 1]])
        photo, clean, ref = up
    else:
        photo, clean, ref, mask = _render_three(scene, ells, cols, K, R, t, (h, w), app)

    def u8(x: torch.Tensor) -> np.ndarray:
        return (x.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)

    record = {
        "kind": kind,
        "registrable": kind == "landmark",
        "width": w,
        "height": h,
        "K": K.tolist(),
        "R": R.tolist(),
        "t": t.tolist(),
        "appearance": asdict(app),
        "transient_ellipsoids": int(ells.shape[0]),
        "transient_fraction": float(mask.float().mean()),
        "jpeg_quality": int(rng.integers(70, 96)),
    }
    return {"photo": u8(photo), "clean": u8(clean), "reference": u8(ref), "mask": mask.numpy(), "record": record}


def make_wild_landmark(
    folder: str | os.PathLike[str],
    options: WildOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Render the collection into ``folder`` (one photo at a time) and return the ``ground_truth.json`` document.

    Layout: ``images/photo_NNNN.jpg`` (the collection), ``clean/``, ``reference/`` (PNG ground truth),
    ``masks/`` (PNG, 255 = transient), ``ground_truth.json``, ``test.txt`` (held-out names, one a line).
    ``ground_truth.json`` is written last: if it exists, the collection is complete.
    Raises :class:`InputError` for fewer than one photo or an empty size list.
    """
    o = options or WildOptions()
    if o.photos < 1 or not o.long_sides or min(o.long_sides) < 32:
        raise InputError(
            f"make_wild_landmark needs photos >= 1 and long sides >= 32 px, got {o.photos}, {o.long_sides}"
        )
    root = Path(folder)
    for sub in ("images", "clean", "reference", "masks"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    geo, other = _scene(o.seed), _scene(o.seed + _OTHER_PLACE_SEED)
    kinds = _kinds(o.photos, o)
    views = []
    with torch.no_grad():
        for i, kind in enumerate(kinds):
            name = f"photo_{i:04d}"
            out = _photo(i, kind, geo, other, o)
            rec = {"name": f"{name}.jpg", **out["record"]}
            write_image(root / "images" / rec["name"], out["photo"], quality=rec["jpeg_quality"])
            write_image(root / "clean" / f"{name}.png", out["clean"])
            write_image(root / "reference" / f"{name}.png", out["reference"])
            write_image(root / "masks" / f"{name}.png", (out["mask"] * 255).astype(np.uint8))
            views.append(rec)
            if progress:
                progress(i + 1, o.photos)
    good = [v["name"] for v in views if v["registrable"]]
    n_test = max(1, round(o.test_fraction * len(good))) if good and o.test_fraction > 0 else 0
    test = sorted(np.random.default_rng([o.seed, 3]).choice(good, n_test, replace=False).tolist()) if n_test else []
    doc = {
        "generator": "neuralwrap.synthetic.wild",
        "options": asdict(o),
        "reference_appearance": asdict(REFERENCE_APPEARANCE),
        "boxes": geo.boxes.double().tolist(),
        "test": test,
        "counts": {k: sum(v["kind"] == k for v in views) for k in KINDS},
        "views": views,
    }
    atomic_write_bytes(root / "test.txt", "".join(f"{n}\n" for n in test).encode())
    text = json.dumps(doc, indent=1)
    atomic_write_bytes(root / "ground_truth.json", text.encode())
    log.info("wrote %d in-the-wild photos (%s) to %s", o.photos, doc["counts"], root / "images")
    return json.loads(text)  # exactly what the file holds (lists, not tuples)
