"""Perceptual applications: the JPEG 4:2:0 sandwich trained for LPIPS or MS-SSIM instead of MSE.

* ``jpeg420-lpips``: distortion ``"lpips"`` = ``0.25·MSE + 0.75·3000·LPIPS`` (shift-tolerant LPIPS, AlexNet);
* ``jpeg420-msssim``: distortion ``"msssim"`` = ``0.25·MSE + 0.75·2500·(1 − MS-SSIM)``.

Both have the architecture and codec setting of the shipped MSE model ``jpeg420`` (slim pre 57K + post
488K, JPEG 4:2:0 with optimised Huffman tables), and the shipped ``jpeg420-lpips`` / ``jpeg420-msssim``
were fine-tuned from the ``jpeg420`` weights (``benchmarks/app_perceptual.py train``). Baselines:
``plain-jpeg`` (the anchor: plain JPEG 4:2:0) and ``jpeg420-mse`` (the shipped MSE-trained sandwich).
Eval metrics: ``lpips`` (AlexNet, the training metric), ``lpips_vgg`` (VGG, a metric the models never saw;
only with ``--metrics-vgg``-style use, it is slow on CPU), ``msssim``.

**Why a mix, and the scales.** Pure LPIPS training lets colours drift (LPIPS normalises each feature
channel and barely sees flat-colour offsets), and pure MS-SSIM is blind to a uniform luminance/colour shift
at fine scales; a 0.25 share of MSE holds colours without undoing the perceptual optimum. The scale turns
the perceptual term into MSE-like units (8-bit units², :mod:`neuralwrap.sandwich.losses`): on the plain
codec over training crops (q 5–95, 128 px, JPEG 4:2:0) ``MSE / LPIPS`` runs from 1400 (q 5) to 5700
(q 70), median ≈ 3700, and ``MSE / (1 − MS-SSIM)`` from 1900 to 2900, median ≈ 2600; so ``3000·LPIPS``
and ``2500·(1 − MS-SSIM)`` are about the plain codec's MSE and the two terms of the mix pull with similar
weight. The exchange rate with bits needs no such care: training measures λ(q) = −dD/dbpp of the
plain codec *in the app's distortion D* (``fit_rd_slope(..., distortion=...)``), and divides by the plain
codec's D(q), exactly as the MSE model does with MSE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from neuralwrap.metrics.lpips import lpips
from neuralwrap.metrics.msssim import ms_ssim
from neuralwrap.sandwich.apps.builtin import (
    kodak_eval_data,
    model_roundtrip,
    plain_roundtrip,
    rgb_train_data,
)
from neuralwrap.sandwich.apps.registry import AppSpec
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig

__all__ = [
    "JPEG420_LPIPS",
    "JPEG420_MSSSIM",
    "lpips_metric",
    "msssim_metric",
]

log = logging.getLogger(__name__)

_INIT_MODEL = "jpeg420"


def _t(img: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.asarray(img, dtype=np.float32).transpose(2, 0, 1)))[None]


def lpips_metric(net: str = "alex") -> Callable[[np.ndarray, np.ndarray], float]:
    """Eval metric ``(reference, reconstruction) -> LPIPS`` for ``HxWx3`` float [0,1] images (lower = better)."""

    def fn(ref: np.ndarray, rec: np.ndarray) -> float:
        with torch.inference_mode():
            return float(lpips(_t(rec), _t(ref), net=net)[0])

    return fn


def msssim_metric(ref: np.ndarray, rec: np.ndarray) -> float:
    """Eval metric: MS-SSIM of ``HxWxC`` float [0,1] images (higher = better)."""
    with torch.inference_mode():
        return float(ms_ssim(_t(rec), _t(ref))[0])


#: the architecture and codec setting of the shipped MSE model ``jpeg420``
_CFG = SandwichConfig(
    codec="jpeg",
    subsampling="420",
    pre=ProcessorConfig(unet_enc=(32,), unet_dec=(32, 32)),
    post=ProcessorConfig(unet_enc=(16, 32, 64), unet_dec=(128, 64, 32, 16)),
    quality_range=(5, 95),
)


def _spec(name: str, distortion: str, what: str) -> AppSpec:
    return AppSpec(
        name=name,
        summary=f"JPEG 4:2:0 sandwich trained for {what} (fine-tuned from jpeg420); vs plain JPEG and the MSE jpeg420",
        config=_CFG,
        train_data=rgb_train_data,
        eval_data=kodak_eval_data,
        distortion=distortion,
        baselines={"plain-jpeg": plain_roundtrip("jpeg", "420"), "jpeg420-mse": model_roundtrip(_INIT_MODEL)},
        metrics={"lpips": lpips_metric("alex"), "msssim": msssim_metric},
        anchor="plain-jpeg",
        qualities=(5, 10, 20, 30, 50, 80),
        comparison_bpp=0.3,
    )


JPEG420_LPIPS = _spec("jpeg420-lpips", "lpips", "LPIPS (0.25 MSE + 0.75 LPIPS-alex)")
JPEG420_MSSSIM = _spec("jpeg420-msssim", "msssim", "MS-SSIM (0.25 MSE + 0.75 (1 - MS-SSIM))")

#: the apps of this module (collected by :mod:`neuralwrap.sandwich.apps.registry`)
APPS = (JPEG420_LPIPS, JPEG420_MSSSIM)
