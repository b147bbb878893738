"""Straight-through helpers shared by the proxies (private)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["round_ste", "clip_ste", "forward_backward"]


def round_ste(x: Tensor, enabled: bool = True) -> Tensor:
    """``round(x)`` in the forward pass, identity gradient; ``enabled=False`` returns ``x`` unchanged."""
    if not enabled:
        return x
    return x + (torch.round(x) - x).detach()


def clip_ste(x: Tensor, lo: float, hi: float) -> Tensor:
    """``clamp(x, lo, hi)`` in the forward pass, identity gradient everywhere (also outside the range)."""
    return x + (x.clamp(lo, hi) - x).detach()


def forward_backward(exact: Tensor, surrogate: Tensor) -> Tensor:
    """Value of ``exact`` with the gradient of ``surrogate`` (both same shape)."""
    return surrogate + (exact - surrogate).detach()
