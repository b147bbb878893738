"""Helpers for the sandwich tests: a folder of small textured training photos and a tiny model config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig

TINY = ProcessorConfig(unet_enc=(8,), unet_dec=(8, 8), mlp_hidden=8)


def textured_image(h: int, w: int, seed: int) -> np.ndarray:
    """``HxWx3`` uint8: smooth colour gradients, random rectangles (edges) and fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.3 * np.sin(3 * x + k + 4 * y * k) for k in range(3)], -1)
    for _ in range(12):
        y0, x0 = rng.integers(0, h - 8), rng.integers(0, w - 8)
        img[y0 : y0 + rng.integers(4, h // 2), x0 : x0 + rng.integers(4, w // 2)] = rng.random(3)
    img += 0.04 * np.sin(40 * x + 30 * y)[..., None] + 0.02 * rng.standard_normal((h, w, 3))
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def make_photo_folder(root: Path, n: int = 4, size: tuple[int, int] = (96, 128)) -> Path:
    """Write ``n`` textured PNGs into ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(textured_image(*size, seed=i)).save(root / f"img_{i:02d}.png")
    return root


def tiny_config(pre: bool = True, subsampling: str = "420") -> SandwichConfig:
    """A ~3K-parameter sandwich for fast tests."""
    return SandwichConfig(
        subsampling=subsampling, pre=TINY if pre else None, post=TINY, quality_range=(10, 90), rate_bins=4
    )
