"""Rate–distortion: sweeps over real codecs with rates from real bytes (sweep.py), Bjøntegaard BD-rate / BD-PSNR (bd.py), RD plots (plots.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "RDRecord": "neuralwrap.rd.sweep",
    "Roundtrip": "neuralwrap.rd.sweep",
    "average_curve": "neuralwrap.rd.sweep",
    "bd_psnr": "neuralwrap.rd.bd",
    "bd_rate": "neuralwrap.rd.bd",
    "bd_vs_anchor": "neuralwrap.rd.sweep",
    "curves_by_image": "neuralwrap.rd.sweep",
    "load_images": "neuralwrap.rd.sweep",
    "mean_psnr_at_bpp": "neuralwrap.rd.sweep",
    "plot_rd": "neuralwrap.rd.plots",
    "psnr_at_bpp": "neuralwrap.rd.bd",
    "rd_curve": "neuralwrap.rd.bd",
    "rd_sweep": "neuralwrap.rd.sweep",
    "read_csv": "neuralwrap.rd.sweep",
    "summarize": "neuralwrap.rd.sweep",
    "write_csv": "neuralwrap.rd.sweep",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
