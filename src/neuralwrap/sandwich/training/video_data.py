"""Training clips for video sandwiches: synthetic camera motion (pan, zoom, small rotation) over still photos.

A crop window moves over a photo along a smooth random trajectory, rendered with bicubic warps, plus optional
temporal noise (independent per pixel, channel and frame). Made from the training photos
(``../shared/data/train``), never from Kodak or the held-out video clips. Used by
:mod:`neuralwrap.sandwich.training.video` and by ``benchmarks/video_proxy_fit.py``.

Example::

    ds = ClipDataset(load_photos("../shared/data/train"), frames=4, size=96)
    item = ds[0]; item["clip"].shape == (4, 3, 96, 96); item["flow"].shape == (4, 2, 96, 96)
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from neuralwrap.errors import InputError
from neuralwrap.luma import luma_uint8
from neuralwrap.proxies.video import estimate_flow
from neuralwrap.sandwich.training.data import load_photos

__all__ = ["ClipDataset", "fixed_clips", "gray_clip", "make_clip"]


def make_clip(
    photo: np.ndarray,
    frames: int,
    size: tuple[int, int],
    rng: np.random.Generator,
    scale_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Synthetic camera motion over ``photo`` (HxWx3 uint8): ``(T, h, w, 3)`` uint8 with ``size = (w, h)``.

    ``scale_range``: the photo is resampled by a factor drawn uniformly from it (0.5 = the window sees a region
    twice its size, downsampled); None = the window sees 1/1.6 … 1/1.05 of the photo's smaller side (the
    whole photo shrunk to the window: dense detail, the proxy-fit default)."""
    w, h = size
    ph, pw = photo.shape[:2]
    if scale_range is None:
        scale0 = max(w / pw, h / ph) * rng.uniform(1.05, 1.6)  # the window sees part of the photo
    else:
        scale0 = max(rng.uniform(*scale_range), 1.02 * max(w / pw, h / ph))
    vel = rng.normal(0, 1.5, 2)  # px/frame in output pixels
    acc = rng.normal(0, 0.15, 2)
    zoom = rng.normal(0, 0.006)  # relative per frame
    rot = rng.normal(0, 0.25)  # degrees per frame
    noise = rng.choice([0.0, 0.0, 1.0, 2.0])
    cx, cy = pw / 2 + rng.uniform(-0.15, 0.15) * pw, ph / 2 + rng.uniform(-0.15, 0.15) * ph
    out = []
    for t in range(frames):
        s = scale0 * (1 + zoom) ** t
        m = cv2.getRotationMatrix2D((cx, cy), rot * t, s)
        shift = vel * t + 0.5 * acc * t * t
        m[:, 2] += np.array([w / 2 - cx, h / 2 - cy]) - shift
        f = cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        if noise:
            f = np.clip(np.rint(f + rng.normal(0, noise, f.shape)), 0, 255).astype(np.uint8)
        out.append(f)
    return np.stack(out)


def gray_clip(frames: np.ndarray) -> np.ndarray:
    """RGB ``(T,H,W,3)`` uint8 -> BT.601 luma ``(T,H,W,1)`` uint8 (the 4:0:0 input)."""
    return luma_uint8(frames)


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))).float() / 255.0


class ClipDataset(Dataset[dict[str, torch.Tensor]]):
    """Synthetic-motion RGB clips with their source flow.

    Item ``i``: ``{"clip": (T,3,S,S) float32 in [0,1], "flow": (T,2,S,S)}`` where ``flow`` is
    :func:`~neuralwrap.proxies.video.estimate_flow` of the clip (computed once, on the *source*). Drawn from a
    generator seeded with ``(seed, i)``, so a run is reproducible whatever the worker layout; the dataset is
    "virtually" ``length`` items long. ``photos``: a folder or the arrays ``load_photos`` returned.
    """

    def __init__(
        self,
        photos: str | os.PathLike[str] | Sequence[np.ndarray],
        frames: int = 4,
        size: int = 96,
        length: int = 100_000,
        seed: int = 0,
        scale_range: tuple[float, float] | None = None,
    ) -> None:
        if frames < 2 or size < 16:
            raise InputError(f"ClipDataset needs frames >= 2 and size >= 16, got frames={frames}, size={size}")
        self.images = load_photos(photos) if isinstance(photos, (str, os.PathLike)) else list(photos)
        if not self.images:
            raise InputError("ClipDataset: no photos")
        self.frames, self.size, self.length, self.seed = int(frames), int(size), int(length), int(seed)
        self.scale_range = None if scale_range is None else (float(scale_range[0]), float(scale_range[1]))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, int(index)))
        photo = self.images[int(rng.integers(len(self.images)))]
        if rng.random() < 0.5:
            photo = photo[:, ::-1]
        clip = _to_tensor(
            make_clip(np.ascontiguousarray(photo), self.frames, (self.size, self.size), rng, self.scale_range)
        )
        return {"clip": clip, "flow": estimate_flow(clip)}


def fixed_clips(
    photos: Sequence[np.ndarray],
    n: int,
    frames: int,
    size: int,
    seed: int,
    scale_range: tuple[float, float] | None = None,
) -> list[dict[str, torch.Tensor]]:
    """``n`` reproducible items of :class:`ClipDataset` (calibration / validation clips)."""
    ds = ClipDataset(photos, frames=frames, size=size, seed=seed, scale_range=scale_range)
    return [ds[i] for i in range(n)]
