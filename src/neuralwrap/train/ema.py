"""Exponential moving average of model weights."""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["EMA", "frozen_copy"]


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` in eval mode with gradients off (the EMA shadow; a snapshot of trained weights)."""
    return copy.deepcopy(module).eval().requires_grad_(False)


class EMA:
    """Shadow copy of a module whose floating-point parameters track ``p ← d·p + (1-d)·p_model``.

    Buffers (e.g. batch-norm statistics) are copied as is. ``ema.module`` is an ordinary
    ``nn.Module`` in eval mode, so it can be saved with :func:`save_checkpoint` or used for inference.

    Example:
        >>> ema = EMA(model, decay=0.999)
        >>> ...; optimizer.step(); ema.update(model)
    """

    def __init__(self, module: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.num_updates = 0
        self.module = frozen_copy(module)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Blend ``module``'s current weights into the shadow copy."""
        src = module.state_dict()
        for name, shadow in self.module.state_dict().items():
            value = src[name].detach()
            if shadow.is_floating_point():
                shadow.lerp_(value.to(shadow.dtype), 1.0 - self.decay)
            else:
                shadow.copy_(value)
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, module: nn.Module) -> None:
        """Overwrite ``module``'s weights with the averaged ones."""
        module.load_state_dict(self.module.state_dict())

    def state_dict(self) -> dict[str, object]:
        """``{"decay", "num_updates", "weights": {name: tensor}}``."""
        return {"decay": self.decay, "num_updates": self.num_updates, "weights": self.module.state_dict()}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Inverse of :meth:`state_dict`."""
        self.decay = float(state["decay"])  # type: ignore[arg-type]
        self.num_updates = int(state["num_updates"])  # type: ignore[call-overload]
        self.module.load_state_dict(state["weights"])  # type: ignore[arg-type]
