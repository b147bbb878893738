"""Bjøntegaard delta metrics (BD-rate, BD-PSNR) and reading a PSNR off an RD curve at a fixed rate.

Variant: VCEG-M33 integrals with piecewise-cubic Hermite (PCHIP, :class:`scipy.interpolate.PchipInterpolator`)
interpolants, as in the JVET common-test-conditions "pchip" spreadsheet. Each curve is interpolated through its
own points (no global polynomial fit) and the interpolants are integrated exactly over the overlap:

* BD-rate: ``log10(rate)`` as a function of distortion (PSNR), integrated over the overlapping PSNR range;
  result ``(10**mean_diff - 1) * 100`` in percent. Negative = curve B needs fewer bits than anchor A.
* BD-PSNR: PSNR as a function of ``log10(rate)``, integrated over the overlapping log-rate range; result in dB.
  Positive = curve B is better.

Point handling: each curve needs at least 2 distinct points (2 points -> the interpolant is a straight line;
3+ -> PCHIP). Points may come in any order; they are sorted by rate. Exact duplicate points are merged.
A point that has more rate but not more quality than an earlier point makes the curve non-monotonic; by default
that raises :class:`InputError` (``dominated="raise"``), with ``dominated="drop"`` such points are dropped
(only the Pareto-efficient points are kept). Curves whose ranges do not overlap raise :class:`InputError`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.interpolate import PchipInterpolator

from neuralwrap.errors import InputError

__all__ = ["bd_rate", "bd_psnr", "psnr_at_bpp", "rd_curve"]

log = logging.getLogger(__name__)

Dominated = Literal["raise", "drop"]


def rd_curve(
    rates: Sequence[float] | np.ndarray,
    dists: Sequence[float] | np.ndarray,
    *,
    dominated: Dominated = "raise",
    name: str = "curve",
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one RD curve; return ``(rates, dists)`` as float64, sorted by rate, strictly increasing in both.

    Rates must be finite and > 0 (e.g. bpp or kbit/s); distortions finite (e.g. PSNR in dB, higher = better).
    """
    r = np.asarray(rates, dtype=np.float64).ravel()
    d = np.asarray(dists, dtype=np.float64).ravel()
    if r.shape != d.shape:
        raise InputError(f"{name}: {r.size} rates but {d.size} distortion values")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d))):
        raise InputError(f"{name}: rates and distortions must be finite, got {r.tolist()} / {d.tolist()}")
    if np.any(r <= 0):
        raise InputError(f"{name}: rates must be > 0 (log-rate), got {r.tolist()}")
    pts = sorted(set(zip(r.tolist(), d.tolist(), strict=True)))  # sort by rate, merge exact duplicates
    keep: list[tuple[float, float]] = []
    for rate, dist in pts:
        if keep and (rate <= keep[-1][0] or dist <= keep[-1][1]):
            if dominated == "raise":
                raise InputError(
                    f"{name}: RD curve is not strictly increasing: point (rate {rate:g}, dist {dist:g}) after "
                    f"(rate {keep[-1][0]:g}, dist {keep[-1][1]:g}); pass dominated='drop' to drop such points"
                )
            log.debug("%s: dropping dominated point (%g, %g)", name, rate, dist)
            continue
        keep.append((rate, dist))
    if len(keep) < 2:
        raise InputError(f"{name}: need at least 2 distinct RD points, got {len(keep)} usable of {r.size}")
    arr = np.asarray(keep)
    return arr[:, 0], arr[:, 1]


def _mean_gap(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, yb: np.ndarray, what: str) -> float:
    """Mean of ``f_b(x) - f_a(x)`` over the overlap of the x ranges (PCHIP interpolants, exact integrals)."""
    lo, hi = max(xa[0], xb[0]), min(xa[-1], xb[-1])
    if not hi > lo:
        raise InputError(
            f"RD curves do not overlap in {what}: anchor [{xa[0]:.4g}, {xa[-1]:.4g}] vs "
            f"test [{xb[0]:.4g}, {xb[-1]:.4g}]"
        )
    int_a = PchipInterpolator(xa, ya).integrate(lo, hi)
    int_b = PchipInterpolator(xb, yb).integrate(lo, hi)
    return float((int_b - int_a) / (hi - lo))


def bd_rate(
    rate_a: Sequence[float] | np.ndarray,
    dist_a: Sequence[float] | np.ndarray,
    rate_b: Sequence[float] | np.ndarray,
    dist_b: Sequence[float] | np.ndarray,
    *,
    dominated: Dominated = "raise",
) -> float:
    """BD-rate of curve B against anchor A, in percent (negative = B needs fewer bits at equal quality).

    Example: B with every rate of A scaled by 0.9 (same PSNRs) gives -10.0.
    """
    ra, da = rd_curve(rate_a, dist_a, dominated=dominated, name="anchor")
    rb, db = rd_curve(rate_b, dist_b, dominated=dominated, name="test")
    gap = _mean_gap(da, np.log10(ra), db, np.log10(rb), "quality")
    return (10.0**gap - 1.0) * 100.0


def bd_psnr(
    rate_a: Sequence[float] | np.ndarray,
    dist_a: Sequence[float] | np.ndarray,
    rate_b: Sequence[float] | np.ndarray,
    dist_b: Sequence[float] | np.ndarray,
    *,
    dominated: Dominated = "raise",
) -> float:
    """BD-PSNR (mean quality gain) of curve B over anchor A, in dB (positive = B is better at equal rate)."""
    ra, da = rd_curve(rate_a, dist_a, dominated=dominated, name="anchor")
    rb, db = rd_curve(rate_b, dist_b, dominated=dominated, name="test")
    return _mean_gap(np.log10(ra), da, np.log10(rb), db, "log-rate")


def psnr_at_bpp(
    rates: Sequence[float] | np.ndarray,
    psnrs: Sequence[float] | np.ndarray,
    target_bpp: float,
) -> float:
    """PSNR (dB) at ``target_bpp``, interpolated linearly in log-bpp; NaN outside ``[min(rates), max(rates)]``.

    Points are sorted by rate; no monotonicity in PSNR is required. Needs >= 1 point (a single point only
    answers at exactly its own rate). Duplicate rates are averaged.
    """
    r = np.asarray(rates, dtype=np.float64).ravel()
    p = np.asarray(psnrs, dtype=np.float64).ravel()
    if r.shape != p.shape or r.size == 0:
        raise InputError(f"psnr_at_bpp: need equally many (>= 1) rates and PSNRs, got {r.size} and {p.size}")
    if np.any(r <= 0) or not np.all(np.isfinite(r)):
        raise InputError(f"psnr_at_bpp: rates must be finite and > 0, got {r.tolist()}")
    if not (target_bpp > 0 and math.isfinite(target_bpp)):
        raise InputError(f"psnr_at_bpp: target_bpp must be finite and > 0, got {target_bpp}")
    ur, inv = np.unique(r, return_inverse=True)
    up = np.bincount(inv, weights=p) / np.bincount(inv)
    if target_bpp < ur[0] or target_bpp > ur[-1]:
        return math.nan
    return float(np.interp(math.log(target_bpp), np.log(ur), up))
