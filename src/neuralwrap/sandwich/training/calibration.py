"""Real-codec calibration used by training: the codec's own RD slope λ(q) and the rate-proxy refit.

Both are measured with the REAL codec on training crops, never on test images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError
from neuralwrap.sandwich.losses import mse_distortion

__all__ = ["RDSlope", "fit_rd_slope", "real_bits", "refit_rate_correction"]


def _uint8_hwc(x: Tensor) -> np.ndarray:
    """``(C,H,W)`` float in [0,1] → ``HxWxC`` uint8."""
    return (x.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def real_bits(codes: Tensor, qualities: Sequence[int], codec: str, subsampling: str, **settings: Any) -> np.ndarray:
    """Bits of the real codec's file for each code image ``(B,C,H,W)`` in [0,1] at its quality
    (``C = 1``: coded as 4:0:0 grayscale; ``settings``: extra codec settings)."""
    c = get_codec(codec)
    out = np.empty(len(qualities))
    for i, q in enumerate(qualities):
        img = _uint8_hwc(codes[i])
        out[i] = 8.0 * len(c.encode(img, quality=int(q), subsampling=subsampling, **settings))
    return out


@dataclass
class RDSlope:
    """The plain codec's (or an app's anchor baseline's) RD slope on training data: ``λ(q) = −dD/dbpp``
    (D: MSE in 8-bit units², or the app's distortion in the same units)."""

    qualities: list[int]
    """Quality grid."""
    mse: list[float]
    """Mean distortion (MSE in 8-bit units², or the app's distortion) of the plain codec at each quality."""
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


def fit_rd_slope(
    crops: Tensor,
    qualities: Sequence[int],
    codec: str | None = None,
    subsampling: str | None = None,
    *,
    roundtrip: Callable[[np.ndarray, int], tuple[bytes, np.ndarray]] | None = None,
    distortion: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> RDSlope:
    """The RD slope of a codec (or of any real encode → decode pipeline) on ``crops`` ``(N,C,H,W)`` in [0,1].

    Each crop is coded at each quality; ``ln D`` is fitted as a quadratic in ``ln bpp`` and its slope
    returned (qualities must be increasing). Either ``codec`` + ``subsampling`` (the plain codec on
    8-bit crops, MSE in 8-bit units²) or ``roundtrip(image HxWxC float32 [0,1], quality) -> (bytes,
    reconstruction HxWxC float [0,1])`` (an app's anchor baseline) with ``distortion(x_hat, x) -> (B,)``
    (default: MSE in 8-bit units²). Rate: ``8·bytes / (H·W)`` of the crop.
    """
    if roundtrip is not None:
        return _fit_roundtrip(crops, qualities, roundtrip, distortion)
    if codec is None or subsampling is None:
        raise InputError("fit_rd_slope needs codec and subsampling, or a roundtrip")
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
    return _slope(qualities, mse, bpp)


def _fit_roundtrip(
    crops: Tensor,
    qualities: Sequence[int],
    roundtrip: Callable[[np.ndarray, int], tuple[bytes, np.ndarray]],
    distortion: Callable[[Tensor, Tensor], Tensor] | None,
) -> RDSlope:
    dist = distortion or mse_distortion
    n, _, h, w = crops.shape
    images = [crops[i].detach().float().permute(1, 2, 0).cpu().numpy() for i in range(n)]
    mse, bpp = [], []
    for q in qualities:
        d, b = 0.0, 0.0
        for i, img in enumerate(images):
            data, rec = roundtrip(img, int(q))
            rec_t = torch.from_numpy(np.ascontiguousarray(np.asarray(rec, np.float32).transpose(2, 0, 1)))[None]
            if rec_t.shape != crops[i : i + 1].shape:
                raise InputError(
                    f"roundtrip returned shape {tuple(rec_t.shape[1:])} for a crop of shape {tuple(crops.shape[1:])}"
                )
            with torch.no_grad():
                d += float(dist(rec_t, crops[i : i + 1].detach().float().cpu())[0])
            b += 8.0 * len(data) / (h * w)
        mse.append(max(d / n, 1e-6))
        bpp.append(b / n)
    return _slope(qualities, mse, bpp)


def _slope(qualities: Sequence[int], mse: list[float], bpp: list[float]) -> RDSlope:
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
    ratio = (
        torch.as_tensor(np.log(np.maximum(real, 1.0)), dtype=torch.float32)
        - pred_bits.detach().float().cpu().clamp_min(1.0).log()
    )
    for b in bins.unique().tolist():
        sel = ratio[bins.cpu() == b]
        target = float(sel.median())
        new[b] = momentum * float(current[b]) + (1 - momentum) * target if math.isfinite(target) else current[b]
    return new
