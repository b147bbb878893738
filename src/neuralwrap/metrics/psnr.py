"""Pixel-error metrics: MSE and PSNR for numpy images and torch batches.

One definition everywhere (DESIGN.md "Metrics"): the MSE is taken over all pixels *and* channels, and
PSNR = ``10 * log10(peak**2 / MSE)`` in dB. The peak follows the dtype: 255 for uint8, 65535 for uint16,
1.0 for float. Identical images give ``inf``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from neuralwrap.errors import InputError

__all__ = ["mse", "psnr", "default_peak", "mse_torch", "psnr_torch"]

_PEAKS: dict[np.dtype, float] = {
    np.dtype(np.uint8): 255.0,
    np.dtype(np.uint16): 65535.0,
    np.dtype(np.float16): 1.0,
    np.dtype(np.float32): 1.0,
    np.dtype(np.float64): 1.0,
}


def default_peak(dtype: np.dtype | type) -> float:
    """Peak signal value for ``dtype``: 255 (uint8), 65535 (uint16), 1.0 (float16/32/64)."""
    dt = np.dtype(dtype)
    if dt not in _PEAKS:
        raise InputError(f"no PSNR peak for dtype {dt}; use uint8, uint16 or float")
    return _PEAKS[dt]


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise InputError(f"expected two numpy arrays, got {type(a).__name__} and {type(b).__name__}")
    if a.shape != b.shape:
        raise InputError(f"shape mismatch: {a.shape} vs {b.shape}")
    if a.dtype != b.dtype:
        raise InputError(f"dtype mismatch: {a.dtype} vs {b.dtype} (convert both to one dtype first)")
    if a.size == 0:
        raise InputError(f"empty images (shape {a.shape})")
    default_peak(a.dtype)  # rejects unsupported dtypes


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all pixels and channels, in the arrays' own units (e.g. 0..255² for uint8).

    ``a`` and ``b`` must have the same shape and dtype (uint8, uint16 or float); computed in float64.
    """
    _check_pair(a, b)
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray, peak: float | None = None) -> float:
    """PSNR in dB between two images of equal shape and dtype; ``inf`` when identical.

    Args:
        a, b: ``HxW`` or ``HxWxC`` arrays (uint8, uint16, or float in [0, 1]).
        peak: peak signal value; default from the dtype (255 / 65535 / 1.0).

    Example:
        >>> psnr(np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 1, np.uint8))  # MSE = 1
        48.1308...
    """
    err = mse(a, b)
    p = default_peak(a.dtype) if peak is None else float(peak)
    if p <= 0:
        raise InputError(f"peak must be > 0, got {peak}")
    if err == 0.0:
        return math.inf
    return 10.0 * math.log10(p * p / err)


def _check_batch(x: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise InputError(f"expected two tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim != 4:
        raise InputError(f"expected (N,C,H,W) tensors, got shape {tuple(x.shape)}")
    if x.shape != y.shape:
        raise InputError(f"shape mismatch: {tuple(x.shape)} vs {tuple(y.shape)}")
    if not (x.is_floating_point() and y.is_floating_point()):
        raise InputError(f"expected float tensors in [0, 1], got {x.dtype} and {y.dtype}")


def mse_torch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image MSE of ``(N,C,H,W)`` float tensors -> ``(N,)`` (mean over C, H, W); differentiable."""
    _check_batch(x, y)
    return (x - y).pow(2).flatten(1).mean(dim=1)


def psnr_torch(x: torch.Tensor, y: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Per-image PSNR in dB of ``(N,C,H,W)`` float tensors in [0, 1] -> ``(N,)``; ``inf`` where identical.

    Follows the inputs' device and dtype; differentiable where the MSE is non-zero.

    Example:
        >>> psnr_torch(torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.1))
        tensor([20.0000, 20.0000])
    """
    err = mse_torch(x, y)
    return 10.0 * torch.log10(peak * peak / err)
