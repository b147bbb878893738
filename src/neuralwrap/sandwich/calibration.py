"""Real-codec calibration used by training: the codec's own RD slope λ(q) and the rate-proxy refit.

Both are measured with the REAL codec on training crops, never on test images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neuralwrap.codecs import get_codec

__all__ = ["RDSlope", "fit_rd_slope", "real_bits", "refit_rate_correction"]


def _uint8_hwc(x: Tensor) -> np.ndarray:
    """``(C,H,W)`` float in [0,1] → ``HxWxC`` uint8."""
    return (x.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def real_bits(codes: Tensor, qualities: Sequence[int], codec: str, subsampling: str) -> np.ndarray:
    """Bits of the real codec's file for each code image ``(B,C,H,W)`` in [0,1] at its quality."""
    c = get_codec(codec)
    out = np.empty(len(qualities))
    for i, q in enumerate(qualities):
        img = _uint8_hwc(codes[i])
        out[i] = 8.0 * len(c.encode(img, quality=int(q), subsampling=subsampling))
    return out


@dataclass
class RDSlope:
    """The plain codec's RD slope on training data: ``λ(q) = −dMSE/dbpp`` (MSE in 8-bit units²)."""

    qualities: list[int]
    """Quality grid."""
    mse: list[float]
    """Mean MSE (8-bit units²) of the plain codec at each quality."""
    bpp: list[float]
    """Mean bits per pixel of the plain codec at each quality."""
    slope: list[float]
    """``−dMSE/dbpp`` at each quality (MSE units per bpp)."""

    def at(self, quality: Tensor) -> tuple[Tensor, Tensor]:
        """``(λ(q), MSE_plain(q))`` for qualities ``(B,)``, interpolated linearly in log domain."""
        q = quality.detach().float().cpu().numpy()
        lam = np.exp(np.interp(q, self.qualities, np.log(self.slope)))
        mse = np.exp(np.interp(q, self.qualities, np.log(self.mse)))
        return torch.as_tensor(lam, dtype=torch.float32), torch.as_tensor(mse, dtype=torch.float32)


def fit_rd_slope(crops: Tensor, qualities: Sequence[int], codec: str, subsampling: str) -> RDSlope:
    """Encode ``crops`` ``(N,3,H,W)`` in [0,1] with the real codec at each quality; fit ``ln MSE`` as a
    quadratic in ``ln bpp`` and return its slope. Qualities must be increasing."""
    c = get_codec(codec)
    n, _, h, w = crops.shape
    mse, bpp = [], []
    for q in qualities:
        m, b = 0.0, 0.0
        for i in range(n):
            img = _uint8_hwc(crops[i])
            data = c.encode(img, quality=int(q), subsampling=subsampling)
            dec = c.decode(data).astype(np.float64)
            m += float(np.mean((dec - img.astype(np.float64)) ** 2))
            b += 8.0 * len(data) / (h * w)
        mse.append(m / n)
        bpp.append(b / n)
    lb, lm = np.log(bpp), np.log(mse)
    coef = np.polyfit(lb, lm, 2)
    dlog = np.polyval(np.polyder(coef), lb)  # d ln MSE / d ln bpp (negative)
    slope = [max(float(-d * m / b), 1e-6) for d, m, b in zip(dlog, mse, bpp)]
    return RDSlope(list(map(int, qualities)), mse, bpp, slope)


def refit_rate_correction(
    pred_bits: Tensor, real: np.ndarray, bins: Tensor, current: Tensor, momentum: float = 0.5
) -> Tensor:
    """New per-bin log-correction: move each bin toward ``median(log(real / pred))`` of its samples.

    ``pred_bits`` are the proxy's uncorrected bits ``(B,)``, ``real`` the real codec's ``(B,)``,
    ``bins`` the bin index of each sample; bins without samples keep their value.
    """
    new = current.detach().clone()
    ratio = torch.as_tensor(np.log(np.maximum(real, 1.0)), dtype=torch.float32) - pred_bits.detach().float().cpu().clamp_min(1.0).log()
    for b in bins.unique().tolist():
        sel = ratio[bins.cpu() == b]
        target = float(sel.median())
        new[b] = momentum * float(current[b]) + (1 - momentum) * target if math.isfinite(target) else current[b]
    return new
