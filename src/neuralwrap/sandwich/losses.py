"""Per-sample distortions a sandwich can be trained on, by name (:data:`DISTORTIONS`).

Each entry is ``fn(x_hat, x) -> (B,)``: reconstruction and reference ``(B,C,H,W)`` float in [0,1] →
per-sample distortion in MSE-like units (8-bit units², i.e. ×255²), so the plain codec's RD slope
``−dD/dbpp`` and the normalisation by the plain codec's distortion keep their meaning whatever the
distortion. Other modules add theirs with :func:`register_distortion`::

    register_distortion("lpips", my_lpips_in_mse_units)
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from neuralwrap.errors import InputError

__all__ = ["DISTORTIONS", "Distortion", "get_distortion", "mse_distortion", "register_distortion"]

#: ``(x_hat, x) -> (B,)`` distortion in 8-bit-units²-like scale.
Distortion = Callable[[Tensor, Tensor], Tensor]


def mse_distortion(x_hat: Tensor, x: Tensor) -> Tensor:
    """Mean squared error per sample in 8-bit units²: ``mean((255·(x̂ − x))²)`` over C, H, W → ``(B,)``."""
    return ((x_hat - x) * 255.0).pow(2).flatten(1).mean(1)


#: name → distortion; "mse" is always there.
DISTORTIONS: dict[str, Distortion] = {"mse": mse_distortion}


def register_distortion(name: str, fn: Distortion) -> None:
    """Add (or replace) the distortion ``name``; ``fn(x_hat, x) -> (B,)`` in MSE-like units (×255²)."""
    if not name or not callable(fn):
        raise InputError(f"register_distortion needs a name and a callable, got {name!r}, {fn!r}")
    DISTORTIONS[name] = fn


def get_distortion(name: str) -> Distortion:
    """The registered distortion ``name``; :class:`InputError` lists the known ones."""
    if name not in DISTORTIONS:
        raise InputError(f"unknown distortion {name!r}; registered: {sorted(DISTORTIONS)}")
    return DISTORTIONS[name]
