"""Image-quality metrics: PSNR/MSE, SSIM/MS-SSIM, LPIPS, PU21/HDR-FLIP (Bjøntegaard BD-rate/BD-PSNR and RD plots: :mod:`neuralwrap.rd`).

Definitions follow DESIGN.md "Metrics": PSNR on 8-bit RGB with MSE over all pixels and channels (peak 255);
BD-rate with piecewise-cubic (PCHIP) interpolation on log-rate over the overlapping quality range.
"""

from neuralwrap.metrics.hdr import (
    PU21Decode,
    PU21Encode,
    display_luminance,
    hdr_flip,
    pu21_decode,
    pu21_encode,
    pu_psnr,
)
from neuralwrap.metrics.msssim import ms_ssim
from neuralwrap.metrics.psnr import default_peak, mse, mse_torch, psnr, psnr_torch
from neuralwrap.metrics.ssim import ssim

__all__ = [
    "PU21Decode",
    "PU21Encode",
    "default_peak",
    "display_luminance",
    "hdr_flip",
    "load_lpips",
    "ms_ssim",
    "mse",
    "mse_torch",
    "psnr",
    "psnr_torch",
    "pu21_decode",
    "pu21_encode",
    "pu_psnr",
    "ssim",
    "vgg16_features",
]


def __getattr__(name: str) -> object:
    # stlpips-pytorch is imported lazily: heavy, and optional for most metric users.
    if name in ("load_lpips", "vgg16_features"):  # the function lpips() lives in neuralwrap.metrics.lpips
        import importlib

        return getattr(importlib.import_module("neuralwrap.metrics.lpips"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
