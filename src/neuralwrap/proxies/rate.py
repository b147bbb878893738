"""Differentiable estimate of the real (Huffman-optimised, baseline) JPEG file size in bits.

The model follows how JPEG's entropy coder spends bits and is linear in a few per-image features
computed from the quantised coefficients of :func:`~neuralwrap.proxies.jpeg.jpeg_proxy`, separately
for luma and chroma::

    bits = w . [blocks, dc_size, dc_nonzero, ac_size, ac_nonzero per zigzag band, ac_run_starts,
                nonempty_blocks]  (luma and chroma)  + header

* ``*_size``: sum of ``log2(1+|v|)`` -- the magnitude-category ("size") bits;
* ``*_nonzero``: number of nonzero values -- each costs one Huffman symbol (run/size or DC category);
  AC nonzeros are counted in 5 zigzag bands (high-frequency symbols have longer codes);
* ``ac_run_starts``: nonzeros preceded by a zero in zigzag order (symbols with a zero run cost more);
* DC is coded as the difference to the previous block of the same component, in MCU order;
* ``blocks``/``nonempty_blocks``: per-block EOB and DC-category overhead; ``header``: JFIF markers +
  optimised Huffman tables.

Forward values are exact functions of the integer coefficients; gradients come from smooth
surrogates of the unrounded coefficients ``y`` (``log2(1+|y|)`` for the size terms and
``sigmoid((|y|-0.5)/tau)`` for the nonzero indicators). Weights are fitted by non-negative least squares
on relative error against real Pillow/libjpeg-turbo files (:func:`fit_rate_model`); the shipped fit
lives in ``jpeg_rate_params.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.proxies._ste import forward_backward
from neuralwrap.proxies.jpeg import ZIGZAG, JpegProxyOutput
from neuralwrap.resources import package_file

__all__ = [
    "FEATURE_NAMES",
    "NAIVE_FEATURE_NAMES",
    "RateParams",
    "rate_features",
    "naive_rate_features",
    "jpeg_rate",
    "naive_rate",
    "fit_rate_model",
    "refit_scale",
    "load_rate_params",
    "JpegRate",
]

_BANDS = ((1, 3), (3, 10), (10, 21), (21, 36), (36, 64))
_GROUP_FEATURES = (
    "blocks",
    "dc_size",
    "dc_nonzero",
    "ac_size",
    *(f"ac_nonzero_zz{a}_{b - 1}" for a, b in _BANDS),
    "ac_run_starts",
    "nonempty_blocks",
)
#: Names of the columns of :func:`rate_features` (luma block, chroma block, then the constant).
FEATURE_NAMES: tuple[str, ...] = (
    *(f"luma_{n}" for n in _GROUP_FEATURES),
    *(f"chroma_{n}" for n in _GROUP_FEATURES),
    "header",
)
#: Columns of :func:`naive_rate_features`: the paper's ``sum log2(1+|q|)`` over all coefficients.
NAIVE_FEATURE_NAMES: tuple[str, ...] = ("log2_1p_abs_q",)
_PARAMS_FILE = package_file("neuralwrap.proxies", "jpeg_rate_params.json")
_TAU = 0.1


@dataclass
class RateParams:
    """Weights of the linear rate model for one subsampling mode (bits per feature unit)."""

    #: one weight per entry of ``names``
    weights: list[float]
    #: feature names, :data:`FEATURE_NAMES` or :data:`NAIVE_FEATURE_NAMES`
    names: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))

    def tensor(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        """Weights as a ``(F,)`` tensor."""
        return torch.tensor(self.weights, dtype=dtype, device=device)


def _size(q: Tensor, y: Tensor) -> Tensor:
    return forward_backward(torch.log2(1 + q.detach().abs()), torch.log2(1 + y.abs()))


def _nonzero(q: Tensor, y: Tensor) -> Tensor:
    return forward_backward((q.detach() != 0).to(y.dtype), torch.sigmoid((y.abs() - 0.5) / _TAU))


def _mcu_order(dc: Tensor, mcu: int) -> Tensor:
    """DC grid ``(B,C,nby,nbx)`` -> ``(B,C,N)`` in coding order (``mcu`` x ``mcu`` blocks per MCU)."""
    if mcu == 1:
        return dc.flatten(2)
    ph, pw = (-dc.shape[-2]) % mcu, (-dc.shape[-1]) % mcu
    if ph or pw:  # libjpeg's dummy edge blocks repeat the previous DC: replicate
        dc = torch.nn.functional.pad(dc, (0, pw, 0, ph), mode="replicate")
    b, c, h, w = dc.shape
    dc = dc.reshape(b, c, h // mcu, mcu, w // mcu, mcu).permute(0, 1, 2, 4, 3, 5)
    return dc.reshape(b, c, -1)


def _group_features(y: Tensor, q: Tensor, mcu: int) -> Tensor:
    """Scaled / quantised coefficients ``(B,C,nby,nbx,8,8)`` of one group -> ``(B, len(_GROUP_FEATURES))``."""
    b = y.shape[0]
    zz = torch.tensor(ZIGZAG, device=y.device)
    yz = y.flatten(-2)[..., zz]
    qz = q.flatten(-2)[..., zz]
    dc_y = _mcu_order(yz[..., 0], mcu)
    dc_q = _mcu_order(qz[..., 0], mcu)
    n_blocks = dc_q.shape[1] * dc_q.shape[2]
    pad = torch.zeros_like(dc_y[..., :1])
    d_y = torch.diff(dc_y, dim=-1, prepend=pad)
    d_q = torch.diff(dc_q, dim=-1, prepend=pad)
    ac_y, ac_q = yz[..., 1:], qz[..., 1:]
    nz = _nonzero(ac_q, ac_y)  # (B,C,nby,nbx,63), zigzag index k-1
    feats = [
        torch.full((b,), float(n_blocks), dtype=y.dtype, device=y.device),
        _size(d_q, d_y).flatten(1).sum(1),
        _nonzero(d_q, d_y).flatten(1).sum(1),
        _size(ac_q, ac_y).flatten(1).sum(1),
    ]
    feats += [nz[..., a - 1 : e - 1].flatten(1).sum(1) for a, e in _BANDS]
    prev_zero = torch.cat([torch.zeros_like(nz[..., :1]), 1 - nz[..., :-1]], -1)
    feats.append((nz * prev_zero).flatten(1).sum(1))
    empty = torch.prod(1 - nz, dim=-1)  # 1 where a block has no nonzero AC
    feats.append((1 - empty).flatten(1).sum(1))
    return torch.stack(feats, 1)


def rate_features(out: JpegProxyOutput) -> Tensor:
    """Per-image rate features ``(B, len(FEATURE_NAMES))`` of a :class:`JpegProxyOutput` (float, differentiable)."""
    mcu_luma = 2 if out.subsampling == "420" else 1
    luma = _group_features(out.coeffs[0], out.coeffs_q[0], mcu_luma)
    if len(out.coeffs) > 1:
        chroma = _group_features(out.coeffs[1], out.coeffs_q[1], 1)
    else:
        chroma = torch.zeros_like(luma)
    one = torch.ones_like(luma[:, :1])
    return torch.cat([luma, chroma, one], 1)


def naive_rate_features(out: JpegProxyOutput) -> Tensor:
    """``(B,1)``: ``sum log2(1+|q|)`` over every quantised coefficient (the paper's rate proxy, unscaled)."""
    cols = [_size(q, y).flatten(1).sum(1) for y, q in zip(out.coeffs, out.coeffs_q)]
    return torch.stack(cols, 0).sum(0)[:, None]


@lru_cache(maxsize=1)
def _shipped() -> dict:
    if not _PARAMS_FILE.exists():
        raise InputError(f"rate model parameters not found: {_PARAMS_FILE}")
    return json.loads(_PARAMS_FILE.read_text())


def load_rate_params(subsampling: str, kind: str = "rich") -> RateParams:
    """The shipped fit for ``subsampling`` ("420"/"444"/"400"); ``kind`` "rich" or "naive"."""
    data = _shipped()
    try:
        entry = data[kind][subsampling]
    except KeyError as exc:
        raise InputError(f"no shipped {kind!r} rate fit for subsampling {subsampling!r}") from exc
    names = list(FEATURE_NAMES if kind == "rich" else NAIVE_FEATURE_NAMES)
    if entry["names"] != names:
        raise InputError(f"{_PARAMS_FILE.name}: feature names do not match this code version")
    return RateParams(weights=[float(w) for w in entry["weights"]], names=names)


def jpeg_rate(out: JpegProxyOutput, params: RateParams | None = None) -> Tensor:
    """Estimated JPEG file size in bits, ``(B,)`` (differentiable), Huffman-optimised baseline file.

    Example:
        >>> out = jpeg_proxy(x, 50)
        >>> bpp = jpeg_rate(out) / out.num_pixels
    """
    params = params or load_rate_params(out.subsampling, "rich")
    f = rate_features(out)
    return f @ params.tensor(f.dtype, f.device)


def naive_rate(out: JpegProxyOutput, params: RateParams | None = None) -> Tensor:
    """Baseline proxy ``a * sum log2(1+|q|) (+ 0)`` in bits ``(B,)``, ``a`` from the shipped fit."""
    params = params or load_rate_params(out.subsampling, "naive")
    f = naive_rate_features(out)
    return f @ params.tensor(f.dtype, f.device)


def fit_rate_model(features: np.ndarray, real_bits: np.ndarray, names: list[str] | None = None) -> RateParams:
    """Non-negative least squares on relative error: ``min ||(F w - r) / r||``, ``w >= 0``.

    Args:
        features: ``(N, F)`` rows of :func:`rate_features` (or :func:`naive_rate_features`).
        real_bits: ``(N,)`` real file sizes in bits (8 * len(bytes)).
        names: feature names (default :data:`FEATURE_NAMES`).
    """
    from scipy.optimize import nnls

    f = np.asarray(features, dtype=np.float64)
    r = np.asarray(real_bits, dtype=np.float64)
    if f.ndim != 2 or r.shape != (f.shape[0],) or np.any(r <= 0):
        raise InputError(f"features must be (N,F) and real_bits (N,) positive, got {f.shape}, {r.shape}")
    scale = np.maximum(f.max(0), 1e-12)  # column scaling for conditioning
    w, _ = nnls(f / scale / r[:, None], np.ones_like(r), maxiter=50 * f.shape[1])
    names = list(names) if names is not None else list(FEATURE_NAMES)
    if len(names) != f.shape[1]:
        raise InputError(f"{len(names)} names for {f.shape[1]} feature columns")
    return RateParams(weights=(w / scale).tolist(), names=names)


def refit_scale(pred_bits: Tensor | np.ndarray | float, real_bits: Tensor | np.ndarray | float) -> float:
    """Scalar ``s`` so that ``s * pred_bits`` best matches ``real_bits`` in relative (log) terms.

    ``s = exp(mean(log(real / pred)))`` over the given samples (one image or a batch); use it to rescale
    the proxy's rate to the real codec during training, as the paper does.
    """
    p = np.asarray(pred_bits.detach().cpu() if isinstance(pred_bits, Tensor) else pred_bits, dtype=np.float64)
    r = np.asarray(real_bits.detach().cpu() if isinstance(real_bits, Tensor) else real_bits, dtype=np.float64)
    if p.shape != r.shape or np.any(p <= 0) or np.any(r <= 0):
        raise InputError("pred_bits and real_bits must be positive and of the same shape")
    return float(math.exp(np.mean(np.log(r) - np.log(p))))


class JpegRate(nn.Module):
    """Module form of :func:`jpeg_rate`: ``JpegProxyOutput -> bits (B,)``, with an optional scale.

    ``scale`` (a buffer, default 1) multiplies the estimate; set it from :func:`refit_scale`.
    """

    def __init__(self, subsampling: str = "420", params: RateParams | None = None) -> None:
        super().__init__()
        self.params = params or load_rate_params(subsampling, "rich")
        self.register_buffer("weights", torch.tensor(self.params.weights, dtype=torch.float32))
        self.register_buffer("scale", torch.ones(()))

    def forward(self, out: JpegProxyOutput) -> Tensor:
        f = rate_features(out)
        return (f @ self.weights.to(f.dtype)) * self.scale.to(f.dtype)
