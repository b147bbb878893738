"""SSIM (Wang et al. 2004) on ``(B,C,H,W)`` float tensors in [0,1].

Standard definition: an 11×11 Gaussian window (σ = 1.5), constants ``C1 = (0.01·L)²``, ``C2 = (0.03·L)²``
with data range ``L = 1``, "valid" filtering (no padding), SSIM map averaged over pixels and then over
channels (RGB, not luma). Matches ``pytorch_msssim.ssim(x, y, data_range=1, size_average=False)`` to
float precision. Identical images give exactly 1.

Example::

    ssim(x, y)            # x, y (B,3,H,W) in [0,1] -> (B,)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import InputError

__all__ = ["SSIM", "gaussian_window", "ssim", "ssim_terms"]


def gaussian_window(
    size: int = 11, sigma: float = 1.5, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> Tensor:
    """Normalised 1-D Gaussian ``(size,)`` (the SSIM window is its outer product)."""
    if size < 1 or size % 2 == 0 or sigma <= 0:
        raise InputError(f"SSIM window needs an odd size >= 1 and sigma > 0, got {size}, {sigma}")
    x = torch.arange(size, dtype=dtype, device=device) - size // 2
    g = torch.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


def _filter(x: Tensor, g: Tensor) -> Tensor:
    """Separable valid Gaussian blur of ``(B,C,H,W)`` (depthwise)."""
    c = x.shape[1]
    k = g.numel()
    x = F.conv2d(x, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


def ssim(x: Tensor, y: Tensor, *, window: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> Tensor:
    """Per-image SSIM ``(B,)`` of ``(B,C,H,W)`` float tensors (range ``[0, data_range]``); 1 = identical.

    Images must be at least ``window`` pixels on each side. Differentiable; follows the inputs' device/dtype.
    """
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)) or x.ndim != 4 or x.shape != y.shape:
        raise InputError(
            f"ssim needs two (B,C,H,W) tensors of one shape, got {getattr(x, 'shape', x)} and {getattr(y, 'shape', y)}"
        )
    if not (x.is_floating_point() and y.is_floating_point()):
        raise InputError(f"ssim needs float tensors, got {x.dtype} and {y.dtype}")
    if min(x.shape[-2:]) < window:
        raise InputError(f"ssim needs images of at least {window}x{window} pixels, got {tuple(x.shape[-2:])}")
    g = gaussian_window(window, sigma, dtype=x.dtype, device=x.device)
    return ssim_terms(x, y, g, data_range)[0].mean(1)


def ssim_terms(x: Tensor, y: Tensor, g: Tensor, data_range: float = 1.0) -> tuple[Tensor, Tensor]:
    """Mean SSIM and mean contrast-structure term per image and channel, each ``(B,C)``, of ``(B,C,H,W)``
    tensors with the separable window ``g`` (:func:`gaussian_window`); shared by SSIM and MS-SSIM."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = _filter(x, g), _filter(y, g)
    sxx = _filter(x * x, g) - mx * mx
    syy = _filter(y * y, g) - my * my
    sxy = _filter(x * y, g) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (lum * cs).flatten(2).mean(-1), cs.flatten(2).mean(-1)


class SSIM(nn.Module):
    """Module form of :func:`ssim` (no parameters)."""

    def __init__(self, window: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> None:
        super().__init__()
        self.window, self.sigma, self.data_range = window, sigma, data_range

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """See :func:`ssim`."""
        return ssim(x, y, window=self.window, sigma=self.sigma, data_range=self.data_range)
