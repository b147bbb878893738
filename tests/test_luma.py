"""The one BT.601 luma definition agrees with Pillow's ``convert("L")`` and between its numpy and torch forms."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from neuralwrap.luma import BT601_LUMA, luma_tensor, luma_uint8


def test_luma_matches_pillow_and_torch() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    y = luma_uint8(rgb)
    assert y.shape == (17, 23, 1) and y.dtype == np.uint8
    pil = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    assert np.abs(y[..., 0].astype(int) - pil).max() <= 1  # Pillow rounds in fixed point
    t = luma_tensor(torch.from_numpy(rgb).permute(2, 0, 1).double())
    assert t.shape == (17, 23) and np.array_equal(np.rint(t.numpy()).astype(np.uint8), y[..., 0])
    assert luma_uint8(np.full((1, 1, 3), 255, np.uint8))[0, 0, 0] == 255 and abs(sum(BT601_LUMA) - 1) < 1e-12
    batch = torch.rand(2, 3, 4, 5)
    assert torch.allclose(luma_tensor(batch, 1), torch.stack([luma_tensor(b) for b in batch]))
