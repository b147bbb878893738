"""BT.601 luma, full range: the gray that JPEG codes as Y and that 4:0:0 codecs carry. One definition for all
modules (colour conversion, gray anchors, augmentation, stereo matching)."""

from __future__ import annotations

import numpy as np
from torch import Tensor

__all__ = ["BT601_LUMA", "luma_tensor", "luma_uint8"]

#: BT.601 / JFIF luma weights of R, G, B
BT601_LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)


def luma_tensor(x: Tensor, dim: int = -3) -> Tensor:
    """Luma of an RGB tensor whose axis ``dim`` has size 3 (any scale; the result keeps it), that axis removed."""
    r, g, b = x.unbind(dim)
    return BT601_LUMA[0] * r + BT601_LUMA[1] * g + BT601_LUMA[2] * b


def luma_uint8(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB → ``(..., 1)`` uint8 luma (0..255, rounded half to even)."""
    y = rgb.astype(np.float64) @ np.array(BT601_LUMA)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)[..., None]
