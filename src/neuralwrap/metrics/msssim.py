"""SSIM and multi-scale SSIM (Wang, Simoncelli & Bovik 2003), differentiable, for torch batches and numpy images.

Definition (the one used everywhere in neuralwrap, identical to ``pytorch-msssim`` 1.0 on images large enough
for it — ``tests/test_msssim.py`` checks this):

* Gaussian window 11×11, σ = 1.5, applied separably as a *valid* convolution (no padding);
  ``C1 = (0.01·L)²``, ``C2 = (0.03·L)²`` with ``L = data_range`` (1.0 for inputs in [0,1]).
* Scale ``j`` contributes its mean contrast-structure term ``cs_j`` (the luminance term only at the coarsest
  scale), each clipped at 0 (ReLU) and raised to the standard weights
  ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``; between scales a 2×2 average pool (odd sides zero-padded
  by one pixel, as ``pytorch-msssim``).
* Computed per channel, then averaged over channels: ``(B,C,H,W) → (B,)``. Any number of channels.

**Small images.** Five scales need a smaller side of at least 161 pixels (161 → 81 → 41 → 21 → 11; the
same bound as ``pytorch-msssim``, which refuses anything smaller). For smaller images we use *fewer scales* — the largest ``n ≤ 5`` whose
coarsest scale still holds a whole 11×11 window — and renormalise the first ``n`` weights to sum to 1
(e.g. 128-pixel training crops use 4 scales, 64-pixel crops 3). This keeps the metric a proper
weighted geometric mean of the same per-scale terms instead of zero-padding, which would add artificial flat
borders. Sides below 11 raise :class:`InputError`. ``scales=`` forces a number of scales.

**Gradients.** The clipped terms are raised to fractional powers; ``x**w`` has an infinite derivative at
0, so in the differentiable path each term is clamped to ``≥ eps`` (1e-6) instead of 0 — values are
unchanged for all but degenerate images.

Example::

    >>> x = torch.rand(2, 3, 64, 64)
    >>> ms_ssim(x, x)            # tensor([1., 1.])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.metrics.ssim import gaussian_window, ssim, ssim_terms

__all__ = ["MSSSIM", "MS_SSIM_WEIGHTS", "ms_ssim", "ms_ssim_image", "ms_ssim_scales", "ssim"]  # ssim: from metrics.ssim

#: Wang et al. 2003 per-scale exponents, finest scale first
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_WIN, _SIGMA, _EPS = 11, 1.5, 1e-6


def _check(x: Tensor, y: Tensor) -> None:
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise InputError(f"ms_ssim expects two tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim != 4 or x.shape != y.shape:
        raise InputError(
            f"ms_ssim expects two (B,C,H,W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if not (x.is_floating_point() and y.is_floating_point()):
        raise InputError(f"ms_ssim expects float tensors, got {x.dtype} and {y.dtype}")
    if min(x.shape[-2:]) < _WIN:
        raise InputError(f"ms_ssim needs images of at least {_WIN}x{_WIN} pixels, got {tuple(x.shape[-2:])}")


def ms_ssim_scales(height: int, width: int) -> int:
    """Number of MS-SSIM scales used for an ``height × width`` image: the largest ``n ≤ 5`` whose coarsest
    scale (after ``n-1`` halvings, odd sides rounded up) still holds an 11×11 window; ≥ 1."""
    side, n = min(height, width), 1
    while n < len(MS_SSIM_WEIGHTS) and -(-side // 2) >= _WIN:
        side, n = -(-side // 2), n + 1
    return n


def ms_ssim(
    x: Tensor,
    y: Tensor,
    data_range: float = 1.0,
    *,
    scales: int | None = None,
    weights: Sequence[float] | None = None,
    eps: float = _EPS,
) -> Tensor:
    """MS-SSIM per image ``(B,)`` of ``(B,C,H,W)`` float tensors (in [0, data_range]); 1 for identical images.

    ``scales`` defaults to :func:`ms_ssim_scales` (5 for sides ≥ 161 px, fewer below: see the module
    docstring); ``weights`` default to the first ``scales`` of :data:`MS_SSIM_WEIGHTS`, renormalised to sum
    to 1 when fewer than 5. Per-scale terms are clamped to ``≥ eps`` (finite gradients). Differentiable;
    follows the inputs' device and dtype.
    """
    _check(x, y)
    n = ms_ssim_scales(*x.shape[-2:]) if scales is None else int(scales)
    if weights is None:
        w = list(MS_SSIM_WEIGHTS[:n])
        w = [v / sum(w) for v in w] if n < len(MS_SSIM_WEIGHTS) else w
    else:
        w = [float(v) for v in weights]
    if len(w) != n or n < 1:
        raise InputError(f"ms_ssim: {n} scales but {len(w)} weights")
    if -(-min(x.shape[-2:]) // 2 ** (n - 1)) < _WIN:
        raise InputError(f"ms_ssim: {tuple(x.shape[-2:])} is too small for {n} scales (coarsest side < {_WIN})")
    win = gaussian_window(_WIN, _SIGMA, dtype=x.dtype, device=x.device)
    terms = []
    for j in range(n):
        s, cs = ssim_terms(x, y, win, data_range)
        if j < n - 1:
            terms.append(cs)
            pad = [x.shape[-2] % 2, x.shape[-1] % 2]
            x = F.avg_pool2d(x, 2, padding=pad) if any(pad) else F.avg_pool2d(x, 2)
            y = F.avg_pool2d(y, 2, padding=pad) if any(pad) else F.avg_pool2d(y, 2)
    terms.append(s)
    stack = torch.stack(terms).relu().clamp_min(eps)  # (n, B, C)
    wt = torch.as_tensor(w, dtype=stack.dtype, device=stack.device).view(-1, 1, 1)
    return torch.prod(stack**wt, dim=0).mean(1)


class MSSSIM(nn.Module):
    """Module form of :func:`ms_ssim`: ``forward(x, y) -> (B,)``; ``as_loss=True`` returns ``1 - MS-SSIM``."""

    def __init__(self, data_range: float = 1.0, as_loss: bool = False) -> None:
        super().__init__()
        self.data_range, self.as_loss = data_range, as_loss

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        v = ms_ssim(x, y, self.data_range)
        return 1.0 - v if self.as_loss else v


def ms_ssim_image(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM of two numpy images ``HxW`` or ``HxWxC`` of one shape and dtype (uint8 → /255, uint16 →
    /65535, float taken as [0,1]), computed in float64 over all channels."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or a.shape != b.shape or a.dtype != b.dtype:
        raise InputError("ms_ssim_image expects two numpy arrays of one shape and dtype")
    peak = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)

    def t(im: np.ndarray) -> Tensor:
        im = im[:, :, None] if im.ndim == 2 else im
        return torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))).double()[None] / peak

    return float(ms_ssim(t(a), t(b))[0])
