"""Multi-channel synthetic images: the deep framebuffer of the procedural landmark (RGB + geometry + semantics).

Each image is one view of a :mod:`neuralwrap.synthetic.landmark` scene, rendered with the same ray caster
(same boxes, solid textures, sun, shadows, haze, colour grading, people-like occluders, 2×2 supersampling),
but returning, per pixel, the channels of a *deep framebuffer* — the representation the rerendering
system (``neuralwrap.rerender``) feeds its network, and what graphics pipelines store as G-buffers:

======  ===========================================  ==========================================
index   channel                                      encoding in [0, 1]
======  ===========================================  ==========================================
0-2     ``r, g, b``: the photo                        8-bit sRGB-like, as the landmark photos
3-5     ``nx, ny, nz``: camera-space unit normal      ``(n + 1) / 2`` (x right, y down, z forward);
                                                      sky = 0.5 (zero vector)
6       ``disparity``: inverse depth                  ``min(1, 4 m / z)``; sky = 0
7       ``transient``: people-occluder coverage       fraction of the pixel's 2×2 subsamples
======  ===========================================  ==========================================

``channels=6`` gives RGB + normals, ``channels=8`` all of the above. All channels are anti-aliased
(averaged over the 2×2 subsamples) and quantised to 8 bits, as a stored framebuffer would be.

**Why this data.** Real multi-channel imagery (G-buffers, RGB-D, multispectral) shares *structure* across
channels but not *values*: object boundaries are edges in every channel, normals are piecewise smooth
and fix the shading of the RGB photo, the disparity's gradient follows the normals, and the semantic mask
is bounded by depth edges — while textures (in RGB only) and the absolute values of each channel are
independent. That is the redundancy a sandwich can exploit and that coding the channels three at a time
with a plain codec cannot (it decorrelates within a group of three, in a fixed YCbCr transform meant for
colour). Stereo pairs were the alternative; their redundancy is a disparity *shift* of up to tens of pixels,
out of reach of the small pre/post networks' receptive field, so they measure the network size more than
the idea.

**Train / test split.** Test images come from scenes with seeds ``0, 1, …``; training images from scenes
with seeds ``10_000 + …``: different building proportions, textures, cameras, appearances and people.

Example::

    imgs = make_multichannel(4, width=128, height=96, channels=8, split="test")
    imgs[0][1].shape  # (96, 128, 8) float32 in [0, 1]
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from neuralwrap.errors import InputError

# the landmark's private rendering pieces: one ray caster, so the RGB channels are the landmark photos
from neuralwrap.synthetic.landmark import (
    _DT,
    Appearance,
    _cast,
    _make_boxes,
    _noise_volume,
    _people,
    _random_appearance,
    look_at,
)
from neuralwrap.train.data import random_crop

__all__ = [
    "MC_CHANNELS",
    "TRAIN_SEED_OFFSET",
    "MultiChannelCrops",
    "make_multichannel",
    "render_gbuffer_view",
]

log = logging.getLogger(__name__)

#: channel names by channel count
MC_CHANNELS: dict[int, tuple[str, ...]] = {
    6: ("r", "g", "b", "nx", "ny", "nz"),
    8: ("r", "g", "b", "nx", "ny", "nz", "disparity", "transient"),
}
#: training scenes use seeds from here on; test scenes start at 0
TRAIN_SEED_OFFSET = 10_000
_NEAR = 4.0  # metres: disparity = min(1, _NEAR / z)


def _check_channels(channels: int) -> None:
    if channels not in MC_CHANNELS:
        raise InputError(f"multichannel images have 6 or 8 channels, got {channels}")


def _gbuffer(
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
) -> np.ndarray:
    """Ray-cast one view; ``(H, W, 8)`` float32 in [0,1] (channel order of :data:`MC_CHANNELS` ``[8]``)."""
    h, w = hw
    c = _cast(boxes, ells, ell_cols, table, K, R, t, hw, app, ss)
    n_cam = torch.where(
        c.hit[:, None], c.normal @ torch.from_numpy(R).to(_DT).T, torch.zeros_like(c.normal)
    )  # rows: R @ n
    z = (c.tmin * c.dc[:, 2]).clamp_min(1e-3)
    disp = torch.where(c.hit, (_NEAR / z).clamp(max=1.0), torch.zeros_like(z))
    trans = ((c.which == 2) & c.hit).to(_DT)
    full = torch.cat([c.rgb, (n_cam + 1) / 2, disp[:, None], trans[:, None]], -1)
    return full.reshape(h, ss, w, ss, 8).mean(dim=(1, 3)).clamp(0, 1).numpy()


def _camera(
    rng: np.random.Generator, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random camera around the building (any azimuth, 7–14 m, 1.2–4 m high): ``K, R, t, centre, target``."""
    ang = math.radians(rng.uniform(0.0, 360.0))
    radius, hgt = rng.uniform(7.0, 14.0), rng.uniform(1.2, 4.0)
    center = np.array([radius * math.cos(ang), radius * math.sin(ang), hgt])
    target = np.array([0.0, 0.0, 2.6]) + rng.uniform(-1.5, 1.5, 3) * np.array([1, 1, 0.6])
    R, t = look_at(center, target, roll_deg=float(rng.uniform(-6, 6)))
    f = 0.9 * width * rng.uniform(0.8, 1.4)
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=np.float64)
    return K, R, t, center, target


def render_gbuffer_view(scene_seed: int, view: int, width: int, height: int, max_people: int = 3) -> np.ndarray:
    """View ``view`` of scene ``scene_seed`` as an ``(H, W, 8)`` float32 deep framebuffer in [0,1], quantised
    to 8 bits (channels: :data:`MC_CHANNELS` ``[8]``). Deterministic in ``(scene_seed, view)``."""
    if width < 16 or height < 16:
        raise InputError(f"multichannel views must be at least 16x16, got {width}x{height}")
    srng = np.random.default_rng(scene_seed)
    gen = torch.Generator().manual_seed(scene_seed)
    table = _noise_volume(torch.rand(32, 32, 32, 3, generator=gen, dtype=_DT))
    boxes = torch.from_numpy(_make_boxes(srng)).to(_DT)
    rng = np.random.default_rng((scene_seed, view))
    K, R, t, center, target = _camera(rng, width, height)
    app = _random_appearance(rng)
    ells, cols = _people(rng, center, target, int(rng.integers(0, max_people + 1)))
    buf = _gbuffer(
        boxes, torch.from_numpy(ells).to(_DT), torch.from_numpy(cols).to(_DT), table, K, R, t, (height, width), app
    )
    return (np.round(buf * 255.0) / 255.0).astype(np.float32)


def _cache_file(cache_dir: str | os.PathLike[str], key: str) -> Path:
    return Path(cache_dir) / f"mc_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def make_multichannel(
    num_images: int,
    width: int = 256,
    height: int = 192,
    *,
    channels: int = 8,
    split: str = "test",
    views_per_scene: int = 4,
    max_people: int = 3,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[tuple[str, np.ndarray]]:
    """``num_images`` named ``(H, W, channels)`` float32 images in [0,1] (8-bit levels).

    ``split`` "test" renders scenes with seeds ``0, 1, …``, "train" scenes with seeds
    ``TRAIN_SEED_OFFSET + 0, 1, …`` (disjoint), ``views_per_scene`` views each. ``cache_dir`` (optional)
    keeps the rendered stack as an ``.npz`` keyed by every argument. About 0.4 s per 256×192 view on one core.
    """
    _check_channels(channels)
    if split not in ("train", "test") or num_images < 1 or views_per_scene < 1:
        raise InputError(
            f"make_multichannel: split 'train'|'test', num_images and views_per_scene >= 1; got {split!r}, {num_images}, {views_per_scene}"
        )
    key = f"v1|{num_images}|{width}|{height}|{split}|{views_per_scene}|{max_people}"
    path = _cache_file(cache_dir, key) if cache_dir is not None else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            stack, names = z["stack"], [str(n) for n in z["names"]]
    else:
        base = TRAIN_SEED_OFFSET if split == "train" else 0
        names, bufs = [], []
        for i in range(num_images):
            scene, view = base + i // views_per_scene, i % views_per_scene
            bufs.append(np.round(render_gbuffer_view(scene, view, width, height, max_people) * 255).astype(np.uint8))
            names.append(f"{split}_s{scene:05d}_v{view:02d}")
        stack = np.stack(bufs)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
            np.savez(tmp, stack=stack, names=np.array(names))
            os.replace(tmp, path)
            log.info("cached %d multichannel images in %s", num_images, path)
    return [(n, stack[i, :, :, :channels].astype(np.float32) / 255.0) for i, n in enumerate(names)]


class MultiChannelCrops(Dataset[torch.Tensor]):
    """Random ``crop×crop`` crops of multi-channel images as ``(C, crop, crop)`` float32 in [0,1].

    Flips are geometry-aware: a horizontal flip mirrors the normal's x component (``nx → 1 − nx`` in the
    [0,1] encoding), a vertical flip its y component, so a flipped crop is still a valid framebuffer. The
    dataset is ``length`` items long; item ``i`` is drawn from a generator seeded with ``(seed, i)``.
    """

    def __init__(self, images: list[np.ndarray], crop: int = 128, length: int = 100_000, seed: int = 0) -> None:
        self.crop, self.length, self.seed = int(crop), int(length), int(seed)
        self.images = [im for im in images if min(im.shape[:2]) >= self.crop]
        if not self.images:
            raise InputError(f"no multichannel image is at least {crop}x{crop} pixels")
        self.has_normals = self.images[0].shape[2] >= 6

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, int(index)))
        patch = random_crop(self.images, self.crop, rng).copy()
        if rng.random() < 0.5:
            patch = patch[:, ::-1].copy()
            if self.has_normals:
                patch[:, :, 3] = 1.0 - patch[:, :, 3]
        if rng.random() < 0.5:
            patch = patch[::-1].copy()
            if self.has_normals:
                patch[:, :, 4] = 1.0 - patch[:, :, 4]
        return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)))
