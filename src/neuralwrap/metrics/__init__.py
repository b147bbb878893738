"""Image-quality and rate-distortion metrics: PSNR/MSE, Bjøntegaard BD-rate/BD-PSNR, RD plots.

Definitions follow DESIGN.md "Metrics": PSNR on 8-bit RGB with MSE over all pixels and channels (peak 255);
BD-rate with piecewise-cubic (PCHIP) interpolation on log-rate over the overlapping quality range.
"""

from neuralwrap.metrics.bd import bd_psnr, bd_rate, psnr_at_bpp
from neuralwrap.metrics.psnr import default_peak, mse, mse_torch, psnr, psnr_torch

__all__ = [
    "bd_psnr",
    "bd_rate",
    "default_peak",
    "mse",
    "mse_torch",
    "plot_rd",
    "psnr",
    "psnr_at_bpp",
    "psnr_torch",
]


def __getattr__(name: str) -> object:
    # matplotlib is imported lazily: plotting is optional for metric users.
    if name == "plot_rd":
        from neuralwrap.metrics.plots import plot_rd

        return plot_rd
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
