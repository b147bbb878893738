"""Residual wrapper with a trainable scalar scale initialised at zero."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ScaledResidual"]


class ScaledResidual(nn.Module):
    """``y = skip(x) + scale · body(x)`` with a trainable scalar ``scale`` (initially ``init_scale``).

    ::

        x ─┬─► skip (identity / projection / PointwiseMLP) ─┐
           └─► body (e.g. UNet) ──► × scale ────────────────┴─(+)─► y

    With the default ``init_scale=0`` the module starts as exactly ``skip(x)``: the body only
    contributes once training moves ``scale`` away from zero (Sandwiched Compression pre/post nets).
    ``skip=None`` means identity (then body must map ``C → C``). Extra ``*args, **kwargs`` of
    ``forward`` go to ``body`` only (e.g. a conditioning code).
    """

    def __init__(self, body: nn.Module, skip: nn.Module | None = None, init_scale: float = 0.0) -> None:
        super().__init__()
        self.body = body
        self.skip = skip if skip is not None else nn.Identity()
        self.scale = nn.Parameter(torch.tensor(float(init_scale)))

    def forward(self, x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        """``(B, C_in, H, W) → (B, C_out, H, W)``."""
        return self.skip(x) + self.scale.to(x.dtype) * self.body(x, *args, **kwargs)
