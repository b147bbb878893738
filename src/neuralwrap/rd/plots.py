"""Rate-distortion plots (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path

__all__ = ["plot_rd"]

log = logging.getLogger(__name__)

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p")
_LINES = ("-", "--", "-.", ":")


def plot_rd(
    curves: Mapping[str, tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray]],
    path: str | os.PathLike[str],
    title: str = "",
    ylabel: str = "PSNR (dB)",
    *,
    xlabel: str = "bits per pixel (bpp)",
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    dpi: int = 150,
) -> None:
    """Plot RD curves ``{label: (bpps, values)}`` (one line with markers each) to an image file at ``path``.

    Points are sorted by rate; NaNs are skipped. The format follows the suffix (``.png``, ``.pdf``, ``.svg``).
    The file is written atomically: an existing file is only replaced if plotting succeeds.
    """
    if not curves:
        raise InputError("plot_rd: no curves given")
    fig, ax = plt.subplots(figsize=(7.5, 5.5), constrained_layout=True)
    try:
        for i, (label, (xs, ys)) in enumerate(curves.items()):
            x = np.asarray(xs, dtype=np.float64).ravel()
            y = np.asarray(ys, dtype=np.float64).ravel()
            if x.shape != y.shape:
                raise InputError(f"plot_rd: curve {label!r} has {x.size} rates but {y.size} values")
            ok = np.isfinite(x) & np.isfinite(y)
            order = np.argsort(x[ok], kind="stable")
            ax.plot(
                x[ok][order],
                y[ok][order],
                marker=_MARKERS[i % len(_MARKERS)],
                linestyle=_LINES[(i // len(_MARKERS)) % len(_LINES)],
                markersize=4.5,
                linewidth=1.6,
                label=str(label),
            )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        if xlim is not None:
            ax.set_xlim(*xlim)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.grid(True, which="major", alpha=0.45)
        ax.minorticks_on()
        ax.grid(True, which="minor", alpha=0.15)
        ax.legend(loc="lower right", frameon=True, fontsize=9)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=tmp.suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(fig)
    log.info("wrote RD plot %s (%d curves)", path, len(curves))
