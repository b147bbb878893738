"""Data of the ``hdr`` sandwich app: the PU21 representation, HDR test images, synthetic HDR training crops.

**Representation.** The sandwich core works on images in [0, 1]. An HDR image (linear RGB, relative units) is
first mapped to display light (:func:`neuralwrap.metrics.hdr.display_luminance`: its maximum → 4000 cd/m²),
then each channel is PU21-encoded and divided by ``PU(4000) ≈ 527.5``::

    rep = PU21(L) / PU21(L_PEAK)  ∈ [0, 1]        L = PU21⁻¹(rep · PU21(L_PEAK))  (cd/m²)

so one 8-bit code step of ``rep`` is ≈ 2.07 PU units (≈ 2 JNDs), and an MSE on ``rep`` is a PU-MSE up to a
constant (the sandwich's "mse" distortion trains for PU-PSNR directly). The per-image scale factor
(``4000 / max``) is one float a real file would carry next to the bitstream; it is the same for every
method compared and is not counted in the rate.

**Training data** (:class:`SyntheticHDRCrops`). The 9 HDR images are the test set, far too few to train on,
so HDR crops are synthesised from the LDR training photos (``../shared/data/train``, never Kodak). Per crop:

1. sRGB (+ ±½ LSB dither, so the 8-bit steps of the source do not survive) → linear light;
2. deeper shadows: ``lin ** g``, ``g ~ U(1, 1.3)``;
3. inverse tone mapping of highlights: pixels with luminance above a knee ``t ~ U(0.45, 0.9)`` are boosted
   smoothly, up to ``k ~ logU(2, 100)`` × at the LDR white (``1 + (k−1)·s²``, ``s`` = position above the knee);
4. with probability ½ a bright "sky" band: a vertical gradient from the top of the crop, ``logU(2, 50)`` ×
   the mean brighter at the top, tinted blue-white, fading over a random height;
5. ``Poisson(1.5)`` specular spots: Gaussian blobs (σ 0.7–5 px) of ``logU(10, 1000)`` × the crop's mean
   luminance, near-white with a random warm/cool tint;
6. display mapping: the crop's maximum → ``4000 · 10^−U(0, 0.5)`` cd/m² (a crop of a real image rarely holds
   that image's peak), then the representation above.

Measured on 300 crops of 128 px: dynamic range (max / 1st-percentile luminance) 5th–95th percentile
≈ 2·10² … 2·10⁵, median ≈ 6·10³; max / median luminance median ≈ 330 (the 9 test images: 9 … 8·10⁵).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from neuralwrap.errors import InputError
from neuralwrap.io.hdr import HDR_SUFFIXES, read_hdr
from neuralwrap.metrics.hdr import L_PEAK, display_luminance, pu21_decode, pu21_encode
from neuralwrap.resources import require_data
from neuralwrap.sandwich.training.data import CropDataset

if TYPE_CHECKING:  # pragma: no cover
    from neuralwrap.sandwich.config import SandwichTrainConfig

__all__ = [
    "EVAL_MAX_SIDE",
    "PU_PEAK",
    "SyntheticHDRCrops",
    "hdr_eval_data",
    "hdr_to_rep",
    "hdr_train_data",
    "list_hdr_images",
    "rep_to_luminance",
    "srgb_to_linear",
    "synthesize_hdr",
]

log = logging.getLogger(__name__)

#: test images whose longer side exceeds this are halved (2×2 box filter in linear light) for evaluation
EVAL_MAX_SIDE = 700
#: PU21 value of the display peak: ``rep = PU21(L) / PU_PEAK``
PU_PEAK = float(pu21_encode(np.float64(L_PEAK)))

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def hdr_to_rep(linear: np.ndarray, peak: float = L_PEAK) -> np.ndarray:
    """Relative linear RGB ``(H,W,3)`` float → the app's representation ``(H,W,3)`` float32 in [0,1]
    (max → ``peak`` cd/m², PU21 per channel, divided by ``PU21(L_PEAK)``)."""
    lum = display_luminance(linear, peak)
    return np.clip(pu21_encode(lum.astype(np.float64)) / PU_PEAK, 0.0, 1.0).astype(np.float32)


def rep_to_luminance(rep: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """The representation (any shape, numpy or torch) → absolute linear light in cd/m² (differentiable)."""
    if isinstance(rep, np.ndarray):
        return pu21_decode(np.clip(rep.astype(np.float64), 0.0, 1.0) * PU_PEAK).astype(np.float32)
    return pu21_decode(rep.clamp(0.0, 1.0) * PU_PEAK)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0,1] → linear light (IEC 61966-2-1 curve)."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# synthetic HDR


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _expand_highlights(lin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lum = lin @ _LUMA
    knee, gain = rng.uniform(0.45, 0.9), _log_uniform(rng, 2.0, 100.0)
    s = np.clip((lum - knee) / (1.0 - knee), 0.0, 1.0)
    return lin * (1.0 + (gain - 1.0) * s * s)[..., None]


def _add_sky(lin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h = lin.shape[0]
    height = rng.uniform(0.2, 0.8) * h
    ramp = np.clip(1.0 - np.arange(h, dtype=np.float32) / height, 0.0, 1.0) ** rng.uniform(1.0, 3.0)
    tint = np.array([rng.uniform(0.6, 1.0), rng.uniform(0.8, 1.0), 1.0], dtype=np.float32)
    level = _log_uniform(rng, 2.0, 50.0) * max(float(lin.mean()), 1e-3)
    return lin + level * ramp[:, None, None] * tint


def _add_spots(lin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = lin.shape[:2]
    mean = max(float((lin @ _LUMA).mean()), 1e-3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(int(rng.poisson(1.5))):
        cy, cx, sigma = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.7, 5.0)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma * sigma))
        tint = np.clip(1.0 + rng.normal(0.0, 0.12, 3), 0.6, 1.2).astype(np.float32)
        lin = lin + _log_uniform(rng, 10.0, 1000.0) * mean * blob[..., None] * tint
    return lin


def synthesize_hdr(srgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An LDR photo ``(H,W,3)`` (uint8 or float sRGB in [0,1]) → a synthetic HDR image ``(H,W,3)`` float32 of
    relative linear light (steps 1–5 of the module doc; no display mapping yet)."""
    x = srgb.astype(np.float32) / 255.0 if srgb.dtype == np.uint8 else srgb.astype(np.float32)
    x = np.clip(x + rng.uniform(-0.5, 0.5, x.shape).astype(np.float32) / 255.0, 0.0, 1.0)
    lin = srgb_to_linear(x) ** np.float32(rng.uniform(1.0, 1.3))
    lin = _expand_highlights(lin, rng)
    if rng.random() < 0.5:
        lin = _add_sky(lin, rng)
    return _add_spots(lin, rng).astype(np.float32)


class SyntheticHDRCrops(CropDataset):
    """Random ``crop×crop`` crops of LDR photos turned into synthetic HDR, as ``(3, crop, crop)`` float32
    in [0,1] in the app's representation (PU21 / PU21(4000)). Item ``i`` is a function of ``(seed, i)``.

    ``photos``: a folder or uint8 ``HxWx3`` arrays; ones smaller than ``crop`` are skipped.
    """

    def linear(self, index: int) -> np.ndarray:
        """Item ``index`` as linear HDR ``(crop, crop, 3)`` float32 in absolute display light (cd/m², after step 6)."""
        rng = np.random.default_rng((self.seed, int(index), 7))
        patch = self.random_patch(rng)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        lin = synthesize_hdr(np.ascontiguousarray(patch), rng)
        return display_luminance(lin, L_PEAK * 10.0 ** -rng.uniform(0.0, 0.5))

    def __getitem__(self, index: int) -> torch.Tensor:
        lum = self.linear(index)
        rep = np.clip(pu21_encode(lum.astype(np.float64)) / PU_PEAK, 0.0, 1.0).astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(rep.transpose(2, 0, 1)))


def hdr_train_data(cfg: SandwichTrainConfig, seed: int) -> SyntheticHDRCrops:
    """The app's ``train_data``: synthetic HDR crops (``cfg.crop``) from the LDR photos in ``cfg.data``."""
    return SyntheticHDRCrops(cfg.data, crop=cfg.crop, seed=seed)


# ----------------------------------------------------------------------------------------------
# test images


def list_hdr_images(folder: str | os.PathLike[str]) -> list[Path]:
    """HDR files (``.exr``, ``.hdr``, …) directly in ``folder``, sorted; :class:`InputError` if none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"HDR image folder not found: {root}")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in HDR_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"no HDR images ({', '.join(HDR_SUFFIXES)}) in {root}")
    return files


def _halve(img: np.ndarray) -> np.ndarray:
    h, w = (img.shape[0] // 2) * 2, (img.shape[1] // 2) * 2
    return img[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3)).astype(np.float32)


def hdr_eval_data(data: str | None = None, *, max_side: int | None = EVAL_MAX_SIDE) -> list[tuple[str, np.ndarray]]:
    """The app's ``eval_data``: every HDR file in ``data`` (default: the ``hdr`` folder of
    :func:`neuralwrap.resources.default_data`) as ``(name, rep)``, ``rep`` ``(H,W,3)`` float32 in [0,1]; images
    longer than ``max_side`` are halved (in linear light) until they fit (``None`` = full size)."""
    out = []
    for path in list_hdr_images(data or require_data("hdr")):
        lin = read_hdr(path)
        while max_side is not None and max(lin.shape[:2]) > max_side:
            lin = _halve(lin)
        out.append((path.stem, hdr_to_rep(lin)))
    return out
