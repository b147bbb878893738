"""Per-sample distortions a sandwich can be trained on, by name (:data:`DISTORTIONS`).

Each entry is ``fn(x_hat, x) -> (B,)``: reconstruction and reference ``(B,C,H,W)`` float in [0,1] →
per-sample distortion in MSE-like units (8-bit units², i.e. ×255²), so the plain codec's RD slope
``−dD/dbpp`` and the normalisation by the plain codec's distortion keep their meaning whatever the
distortion. The built-in ones (``mse``, ``lpips``, ``msssim``) are one explicit table; a user adds theirs with
:func:`register_distortion`. Nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from neuralwrap.errors import InputError
from neuralwrap.metrics.lpips import lpips
from neuralwrap.metrics.msssim import ms_ssim

__all__ = [
    "DISTORTIONS",
    "LPIPS_TO_MSE",
    "MSSSIM_TO_MSE",
    "PERCEPTUAL_MSE_SHARE",
    "Distortion",
    "get_distortion",
    "lpips_distortion",
    "msssim_distortion",
    "mse_distortion",
    "register_distortion",
]

#: LPIPS (AlexNet, shift-tolerant) → MSE-like units (8-bit units²)
LPIPS_TO_MSE = 3000.0
#: (1 − MS-SSIM) → MSE-like units
MSSSIM_TO_MSE = 2500.0
#: share of plain MSE in both perceptual distortions
PERCEPTUAL_MSE_SHARE = 0.25

#: ``(x_hat, x) -> (B,)`` distortion in 8-bit-units²-like scale.
Distortion = Callable[[Tensor, Tensor], Tensor]


def mse_distortion(x_hat: Tensor, x: Tensor) -> Tensor:
    """Mean squared error per sample in 8-bit units²: ``mean((255·(x̂ − x))²)`` over C, H, W → ``(B,)``."""
    return ((x_hat - x) * 255.0).pow(2).flatten(1).mean(1)


def lpips_distortion(x_hat: Tensor, x: Tensor) -> Tensor:
    """``0.25·MSE + 0.75·3000·LPIPS_alex`` per sample ``(B,)`` for ``(B,3,H,W)`` in [0,1] (H, W ≥ 16)."""
    a = PERCEPTUAL_MSE_SHARE
    return a * mse_distortion(x_hat, x) + (1 - a) * LPIPS_TO_MSE * lpips(x_hat, x, net="alex")


def msssim_distortion(x_hat: Tensor, x: Tensor) -> Tensor:
    """``0.25·MSE + 0.75·2500·(1 − MS-SSIM)`` per sample ``(B,)`` for ``(B,C,H,W)`` in [0,1] (H, W ≥ 11;
    fewer MS-SSIM scales below 161 px, see :mod:`neuralwrap.metrics.msssim`)."""
    a = PERCEPTUAL_MSE_SHARE
    return a * mse_distortion(x_hat, x) + (1 - a) * MSSSIM_TO_MSE * (1 - ms_ssim(x_hat, x))


#: name → distortion: the built-in ones (LPIPS weights load on first use, from stlpips-pytorch)
DISTORTIONS: dict[str, Distortion] = {"mse": mse_distortion, "lpips": lpips_distortion, "msssim": msssim_distortion}


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
