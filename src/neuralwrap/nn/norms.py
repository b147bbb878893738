"""Normalisation layers shared by both systems."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PixelNorm", "pixel_norm", "make_norm"]


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalise each pixel's feature vector to unit RMS over channels.

    Args:
        x: ``(B, C, H, W)`` features, any float dtype.
        eps: added to the mean square before the square root.

    Returns:
        ``(B, C, H, W)``: ``x / sqrt(mean_c(x²) + eps)``.
    """
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    """Module form of :func:`pixel_norm` (ProGAN / Neural Rerendering generator)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x, self.eps)


def make_norm(kind: str | None, channels: int, groups: int = 8) -> nn.Module:
    """Build a norm layer by name: ``None`` (identity), ``"pixel"`` or ``"group"``.

    ``"group"`` uses ``gcd(groups, channels)`` groups so any width works.
    """
    if kind is None or kind == "none":
        return nn.Identity()
    if kind == "pixel":
        return PixelNorm()
    if kind == "group":
        import math

        return nn.GroupNorm(math.gcd(groups, channels), channels)
    raise ValueError(f"unknown norm {kind!r}; expected None, 'pixel' or 'group'")
