"""Colour-transfer baselines for rerendering: make a point render look like a reference photo.

* :func:`reinhard_transfer` — Reinhard et al. 2001 statistics transfer, done in CIE Lab (D65): every
  Lab channel of the source is shifted/scaled to the reference's mean and standard deviation.
* :func:`affine_transfer` — per-RGB-channel least-squares affine map ``ref ≈ a·src + b`` fitted on
  pixels where both images see the same thing (e.g. the left half of a held-out photo and its render).

Images are ``(3,H,W)`` float tensors in [0,1] (sRGB); masks are ``(H,W)`` bool tensors selecting the pixels
whose statistics are used (e.g. pixels with a splatted point, in the left half). Outputs are clipped to [0,1].

Example::

    out = reinhard_transfer(render, photo, src_mask=hit & left, ref_mask=hit & left)
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuralwrap.errors import InputError

__all__ = ["affine_transfer", "lab_to_rgb", "reinhard_transfer", "rgb_to_lab"]

_M = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)
_EPS, _KAPPA = 216 / 24389, 24389 / 27


def _check(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[0] != 3 or not x.is_floating_point():
        raise InputError(f"{name} must be a (3,H,W) float tensor in [0,1], got {getattr(x, 'shape', type(x))}")


def rgb_to_lab(x: Tensor) -> Tensor:
    """sRGB ``(3,H,W)`` in [0,1] → CIE Lab (D65): L in [0,100], a/b roughly [−128, 127]."""
    _check(x, "x")
    lin = torch.where(x > 0.04045, ((x + 0.055) / 1.055).pow(2.4), x / 12.92)
    xyz = torch.einsum("ij,jhw->ihw", _M.to(x), lin) / _WHITE.to(x)[:, None, None]
    f = torch.where(xyz > _EPS, xyz.clamp_min(1e-12).pow(1 / 3), (_KAPPA * xyz + 16) / 116)
    return torch.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def lab_to_rgb(lab: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_lab`; result clipped to [0,1]."""
    _check(lab, "lab")
    fy = (lab[0] + 16) / 116
    f = torch.stack([fy + lab[1] / 500, fy, fy - lab[2] / 200])
    xyz = torch.where(f.pow(3) > _EPS, f.pow(3), (116 * f - 16) / _KAPPA) * _WHITE.to(lab)[:, None, None]
    lin = torch.einsum("ij,jhw->ihw", torch.linalg.inv(_M).to(lab), xyz).clamp(0, 1)
    return torch.where(lin > 0.0031308, 1.055 * lin.clamp_min(1e-12).pow(1 / 2.4) - 0.055, 12.92 * lin).clamp(0, 1)


def _pixels(x: Tensor, mask: Tensor | None) -> Tensor:
    """``(3, K)`` selected pixels (all when ``mask`` is None)."""
    flat = x.flatten(1)
    if mask is None:
        return flat
    if mask.shape != x.shape[1:]:
        raise InputError(f"mask must be {tuple(x.shape[1:])}, got {tuple(mask.shape)}")
    return flat[:, mask.flatten().bool()]


def reinhard_transfer(
    src: Tensor, ref: Tensor, *, src_mask: Tensor | None = None, ref_mask: Tensor | None = None, min_pixels: int = 16
) -> Tensor:
    """``src`` recoloured so its Lab mean/std (over ``src_mask``) match ``ref``'s (over ``ref_mask``).

    ``src`` and ``ref`` may differ in size. With fewer than ``min_pixels`` selected pixels on either side
    ``src`` is returned unchanged. Returns ``(3,H,W)`` in [0,1] like ``src``.
    """
    _check(src, "src")
    _check(ref, "ref")
    ls, lr = rgb_to_lab(src), rgb_to_lab(ref)
    ps, pr = _pixels(ls, src_mask), _pixels(lr, ref_mask)
    if ps.shape[1] < min_pixels or pr.shape[1] < min_pixels:
        return src.clone()
    ms, ss = ps.mean(1), ps.std(1).clamp_min(1e-3)
    mr, sr = pr.mean(1), pr.std(1)
    out = (ls - ms[:, None, None]) * (sr / ss)[:, None, None] + mr[:, None, None]
    return lab_to_rgb(out)


def affine_transfer(src: Tensor, ref: Tensor, mask: Tensor | None = None, *, min_pixels: int = 16) -> Tensor:
    """Per-channel least-squares ``a·src + b`` fitted to ``ref`` on the paired pixels ``mask`` (same size images).

    Returns ``(3,H,W)`` in [0,1]; ``src`` unchanged when fewer than ``min_pixels`` pixels are selected.
    """
    _check(src, "src")
    _check(ref, "ref")
    if src.shape != ref.shape:
        raise InputError(f"affine_transfer needs pixel-aligned images, got {tuple(src.shape)} and {tuple(ref.shape)}")
    ps, pr = _pixels(src, mask).double(), _pixels(ref, mask).double()
    if ps.shape[1] < min_pixels:
        return src.clone()
    ms, mr = ps.mean(1, keepdim=True), pr.mean(1, keepdim=True)
    var = ((ps - ms) ** 2).mean(1, keepdim=True)
    a = ((ps - ms) * (pr - mr)).mean(1, keepdim=True) / var.clamp_min(1e-8)
    b = mr - a * ms
    return (src * a.to(src)[:, :, None] + b.to(src)[:, :, None]).clamp(0, 1)
