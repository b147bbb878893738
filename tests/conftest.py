"""Shared test helpers: the read-only data folder and synthetic test images.

``shared_data`` is the repository's sibling ``shared/data`` folder (see its MANIFEST.md); tests that
use it are skipped with a clear message when it is absent. ``smooth_image`` makes deterministic
natural-ish content (smooth gradients + mild noise) so codec tests need no files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

#: ``<repo>/../shared/data``, located relative to this file (never via the working directory)
SHARED_DATA: Path = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def smooth_image(
    h: int, w: int, c: int = 3, dtype: type = np.uint8, *, seed: int = 0, noise: float = 0.01
) -> np.ndarray:
    """Deterministic ``(h, w, c)`` image of smooth gradients/blobs plus Gaussian noise (``noise`` in [0,1] units).

    dtype uint8 → 0…255, uint16 → 0…65535, float32 → [0, 1].
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    y, x = y / max(h - 1, 1), x / max(w - 1, 1)
    chans = []
    for k in range(c):
        fx, fy, ph = 1.0 + k, 1.5 + 0.5 * k, 0.7 * k
        base = 0.5 + 0.25 * np.sin(2 * np.pi * fx * x + ph) * np.cos(2 * np.pi * fy * y) + 0.2 * (x - y)
        chans.append(base)
    img = np.clip(np.stack(chans, axis=-1) + rng.normal(0.0, noise, (h, w, c)), 0.0, 1.0)
    if dtype == np.float32:
        return img.astype(np.float32)
    peak = np.iinfo(dtype).max
    return np.rint(img * peak).astype(dtype)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``shared/data``; skips the test when the folder is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA} (needs the ../shared/data checkout)")
    return SHARED_DATA


@pytest.fixture()
def make_image() -> Callable[..., np.ndarray]:
    """The :func:`smooth_image` factory, for tests that prefer a fixture over an import."""
    return smooth_image
