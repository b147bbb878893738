"""Colour conversion and chroma resampling as libjpeg-turbo does them (differentiable).

* RGB <-> YCbCr: JPEG/JFIF full-range BT.601 on the 0..255 scale (Cb, Cr centred on 128).
* 4:2:0 downsampling: 2x2 box average (libjpeg ``h2v2_downsample``), odd sizes edge-replicated first.
* 4:2:0 upsampling: libjpeg-turbo's default "fancy" upsampling, a separable triangle filter with
  weights 3/4, 1/4 and edge replication, i.e. bilinear interpolation with half-pixel centres.

All functions take and return float tensors ``(B,C,H,W)`` on the 0..255 scale unless stated, and keep
the input's device and dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.luma import BT601_LUMA

__all__ = [
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "chroma_downsample",
    "chroma_upsample",
    "RgbToYCbCr",
    "YCbCrToRgb",
]

# Rows: Y, Cb, Cr. JFIF (ITU-T T.871) full-range BT.601 coefficients, as in libjpeg jccolor.c.
_RGB2YCC = (
    BT601_LUMA,
    (-0.16873589164785552, -0.33126410835214446, 0.5),
    (0.5, -0.41868758915834514, -0.08131241084165486),
)
# Rows: R, G, B from (Y, Cb-128, Cr-128), as in libjpeg jdcolor.c.
_YCC2RGB = (
    (1.0, 0.0, 1.402),
    (1.0, -0.34413628620102216, -0.7141362862010222),
    (1.0, 1.772, 0.0),
)


def _check_bchw(x: Tensor, channels: int | None = None, name: str = "x") -> None:
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise InputError(f"{name} must be a (B,C,H,W) tensor, got {getattr(x, 'shape', type(x))}")
    if channels is not None and x.shape[1] != channels:
        raise InputError(f"{name} must have {channels} channels, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"{name} must be a float tensor, got {x.dtype}")


def _mix(x: Tensor, matrix: tuple[tuple[float, ...], ...]) -> Tensor:
    m = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("oc,bchw->bohw", m, x)


def rgb_to_ycbcr(x: Tensor) -> Tensor:
    """RGB ``(B,3,H,W)`` in 0..255 -> YCbCr ``(B,3,H,W)``; Y in 0..255, Cb/Cr centred on 128 (JFIF)."""
    _check_bchw(x, 3)
    y = _mix(x, _RGB2YCC)
    offset = torch.tensor([0.0, 128.0, 128.0], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return y + offset


def ycbcr_to_rgb(x: Tensor) -> Tensor:
    """YCbCr ``(B,3,H,W)`` (JFIF, 0..255, chroma centred on 128) -> RGB ``(B,3,H,W)``, not clipped."""
    _check_bchw(x, 3)
    offset = torch.tensor([0.0, 128.0, 128.0], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return _mix(x - offset, _YCC2RGB)


def chroma_downsample(x: Tensor) -> Tensor:
    """2x box average ``(B,C,H,W) -> (B,C,ceil(H/2),ceil(W/2))``; odd H/W are edge-replicated first."""
    _check_bchw(x)
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


def chroma_upsample(x: Tensor, size: tuple[int, int]) -> Tensor:
    """libjpeg-turbo fancy 2x upsampling ``(B,C,h,w) -> (B,C,*size)`` (triangle 3/4-1/4, replicated edges).

    ``size`` is the full-resolution ``(H, W)``; the 2x result is cropped to it (odd sizes).
    """
    _check_bchw(x)
    h, w = x.shape[-2:]
    up = F.interpolate(x, size=(2 * h, 2 * w), mode="bilinear", align_corners=False)
    return up[..., : size[0], : size[1]]


class RgbToYCbCr(nn.Module):
    """Module form of :func:`rgb_to_ycbcr` (``(B,3,H,W)``, 0..255 scale)."""

    def forward(self, x: Tensor) -> Tensor:
        return rgb_to_ycbcr(x)


class YCbCrToRgb(nn.Module):
    """Module form of :func:`ycbcr_to_rgb` (``(B,3,H,W)``, 0..255 scale)."""

    def forward(self, x: Tensor) -> Tensor:
        return ycbcr_to_rgb(x)
