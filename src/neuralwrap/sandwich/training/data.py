"""Training data: random crops of a folder of photos, held in memory as uint8."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from neuralwrap.errors import InputError
from neuralwrap.io.images import read_image
from neuralwrap.sandwich.training.split import is_validation
from neuralwrap.train.data import random_crop

__all__ = ["IMAGE_SUFFIXES", "CropDataset", "fixed_training_crops", "list_images", "load_photos"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files below ``folder`` (recursive, sorted), without the validation split
    (:mod:`neuralwrap.sandwich.training.split`); raises :class:`InputError` if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"image folder not found: {root}")
    files = sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not is_validation(p)
    )
    if not files:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {root}")
    return files


def load_photos(folder: str | os.PathLike[str]) -> list[np.ndarray]:
    """Every image below ``folder`` as an ``HxWx3`` uint8 array (decoded once, kept in memory)."""
    return [read_image(p) for p in list_images(folder)]


class CropDataset(Dataset[torch.Tensor]):
    """Random ``crop×crop`` RGB crops with random flips, as ``(3, crop, crop)`` float32 in [0, 1].

    ``photos`` is a folder or the arrays :func:`load_photos` returned (so several datasets can share
    one decode). Images smaller than ``crop`` are skipped (with an error if none is left). The dataset
    is "virtually" ``length`` items long; item ``i`` is drawn from a generator seeded with ``(seed, i)``
    so a run is reproducible whatever the worker layout.
    """

    def __init__(
        self,
        photos: str | os.PathLike[str] | Sequence[np.ndarray],
        crop: int = 128,
        length: int = 100_000,
        seed: int = 0,
    ) -> None:
        self.crop, self.length, self.seed = int(crop), int(length), int(seed)
        images = load_photos(photos) if isinstance(photos, (str, os.PathLike)) else list(photos)
        self.images = [im for im in images if min(im.shape[:2]) >= self.crop]
        if not self.images:
            where = photos if isinstance(photos, (str, os.PathLike)) else "the given photos"
            raise InputError(f"no image in {where} is at least {crop}×{crop} pixels")

    def __len__(self) -> int:
        return self.length

    def random_patch(self, rng: np.random.Generator) -> np.ndarray:
        """A ``crop×crop`` view of a random photo at a random place, drawn from ``rng``."""
        return random_crop(self.images, self.crop, rng)

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, int(index)))
        patch = self.random_patch(rng)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1]
        return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1))).float() / 255.0


def fixed_training_crops(photos: Sequence[np.ndarray], size: int, n: int, seed: int) -> torch.Tensor:
    """``(n, 3, s, s)`` reproducible crops, ``s = min(size, the largest square that fits some photo)``."""
    side = min(size, max(min(im.shape[:2]) for im in photos))
    ds = CropDataset(photos, crop=side, seed=seed)
    return torch.stack([ds[i] for i in range(n)])
