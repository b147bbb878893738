"""Learning-rate schedules as trainer hooks (a function of the step only, so resume is exact)."""

from __future__ import annotations

import math
from typing import Any

from neuralwrap.errors import InputError

__all__ = ["cosine_lr", "CosineLRHook", "lr_schedule_hooks"]


def cosine_lr(step: int, total: int, base: float, warmup: int = 0, final_frac: float = 0.05) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``base`` to ``final_frac · base`` at ``total``."""
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = min(max(step - warmup, 0) / max(total - warmup, 1), 1.0)
    return base * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


class CosineLRHook:
    """Trainer hook: before each step ``s`` every optimizer's learning rate is ``cosine_lr(s, ...)``."""

    def __init__(self, base: float, total: int, warmup: int = 0, final_frac: float = 0.05) -> None:
        self.base, self.total, self.warmup, self.final_frac = base, total, warmup, final_frac

    def __call__(self, trainer: Any, step: int) -> None:
        lr = cosine_lr(step, self.total, self.base, self.warmup, self.final_frac)
        for opt in trainer.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr


def lr_schedule_hooks(schedule: str, base: float, total: int, max_warmup: int) -> list[CosineLRHook]:
    """Trainer hooks of a named schedule: ``"cosine"`` (warm-up ``min(max_warmup, total // 10)`` steps, then
    cosine decay from ``base``) or ``"constant"`` (no hook); any other name raises :class:`InputError`."""
    if schedule == "cosine":
        return [CosineLRHook(base, total, warmup=min(max_warmup, total // 10))]
    if schedule != "constant":
        raise InputError(f"lr_schedule must be 'cosine' or 'constant', got {schedule!r}")
    return []
