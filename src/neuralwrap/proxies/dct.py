"""Blockwise orthonormal DCT-II and its inverse by matrix multiplication (differentiable).

Images whose size is not a multiple of the block size are padded by edge replication (as libjpeg
does before its forward DCT) and cropped back after the inverse.

Layout of block coefficients: ``(B, C, nby, nbx, N, N)`` with ``[..., v, u]`` = vertical frequency
``v``, horizontal frequency ``u`` (orthonormal: JPEG's DCT output equals this one, the JPEG 1/8 scaling
being folded into the orthonormal basis for N=8).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import InputError

__all__ = ["dct_matrix", "pad_to_multiple", "block_dct", "block_idct", "BlockDCT", "BlockIDCT"]


def dct_matrix(n: int = 8, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """Orthonormal DCT-II matrix ``D`` ``(n, n)``: ``coeffs = D @ signal``, ``signal = D.T @ coeffs``."""
    k = torch.arange(n, dtype=torch.float64).view(-1, 1)
    i = torch.arange(n, dtype=torch.float64).view(1, -1)
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.to(dtype=dtype, device=device)


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Edge-replicate ``(B,C,H,W)`` on the bottom/right so H and W become multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x


def block_dct(x: Tensor, block: int = 8) -> Tensor:
    """Blockwise DCT: ``(B,C,H,W)`` float -> ``(B,C,ceil(H/N),ceil(W/N),N,N)`` (edge-replicated padding).

    Example: ``block_dct(torch.rand(1, 1, 16, 16)).shape == (1, 1, 2, 2, 8, 8)``.
    """
    if x.ndim != 4 or not x.is_floating_point():
        raise InputError(f"block_dct expects a float (B,C,H,W) tensor, got {x.dtype} {tuple(x.shape)}")
    x = pad_to_multiple(x, block)
    b, c, h, w = x.shape
    blocks = x.reshape(b, c, h // block, block, w // block, block).permute(0, 1, 2, 4, 3, 5)
    d = dct_matrix(block, dtype=x.dtype, device=x.device)
    return d @ blocks @ d.T


def block_idct(coeffs: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    """Inverse of :func:`block_dct`: ``(B,C,nby,nbx,N,N)`` -> ``(B,C,H,W)``, cropped to ``size`` if given."""
    if coeffs.ndim != 6 or coeffs.shape[-1] != coeffs.shape[-2]:
        raise InputError(f"block_idct expects (B,C,nby,nbx,N,N), got {tuple(coeffs.shape)}")
    n = coeffs.shape[-1]
    d = dct_matrix(n, dtype=coeffs.dtype, device=coeffs.device)
    blocks = d.T @ coeffs @ d
    b, c, nby, nbx = blocks.shape[:4]
    x = blocks.permute(0, 1, 2, 4, 3, 5).reshape(b, c, nby * n, nbx * n)
    if size is not None:
        x = x[..., : size[0], : size[1]]
    return x


class BlockDCT(nn.Module):
    """Module form of :func:`block_dct` with a fixed block size."""

    def __init__(self, block: int = 8) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: Tensor) -> Tensor:
        return block_dct(x, self.block)


class BlockIDCT(nn.Module):
    """Module form of :func:`block_idct`."""

    def forward(self, coeffs: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        return block_idct(coeffs, size)
