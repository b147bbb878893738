"""Rough differentiable proxy of HEVC/AV1 intra coding (``heif``, ``avif``): blockwise DCT + uniform step.

Real HEVC/AV1 intra coding predicts each block from its neighbours, picks among many transform sizes,
uses rate-distortion optimised quantisation and in-loop filters; this proxy keeps only what matters for
training a wrapper (the paper's HEIF experiments reuse a DCT proxy)::

    clip -> x255 -> round -> YCbCr (JFIF) -> chroma 2x box down (4:2:0) -> NxN DCT -> / step -> round
      -> * step -> IDCT -> fancy chroma up -> RGB -> clip -> /255

The step ``Δ(quality)`` comes from a table fitted per codec so that the proxy's PSNR matches the real
codec's median PSNR on training photos at each quality (``intra_params.json``); the rate is a linear model
``bits = w . [Σlog2(1+|q|), #nonzero (luma, chroma), blocks, 1]`` fitted to the real file sizes.
Rounding is straight-through, clipping has an identity gradient.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.proxies._ste import clip_ste, forward_backward, round_ste
from neuralwrap.proxies.color import chroma_downsample, chroma_upsample, rgb_to_ycbcr, ycbcr_to_rgb
from neuralwrap.proxies.dct import block_dct, block_idct
from neuralwrap.resources import package_file

__all__ = [
    "INTRA_FEATURE_NAMES",
    "IntraProxyOutput",
    "intra_step",
    "intra_proxy",
    "intra_rate_features",
    "intra_rate",
    "load_intra_params",
    "IntraProxy",
]

_PARAMS_FILE = package_file("neuralwrap.proxies", "intra_params.json")
#: Columns of :func:`intra_rate_features`.
INTRA_FEATURE_NAMES: tuple[str, ...] = (
    "luma_size", "luma_nonzero", "chroma_size", "chroma_nonzero", "blocks", "header"
)  # fmt: skip
_TAU = 0.1


@lru_cache(maxsize=1)
def _shipped() -> dict:
    if not _PARAMS_FILE.exists():
        raise InputError(f"intra proxy parameters not found: {_PARAMS_FILE}")
    return json.loads(_PARAMS_FILE.read_text())


def load_intra_params(codec: str = "heif") -> dict:
    """Shipped fit for ``codec`` ("heif" or "avif"): ``{"qualities", "steps", "block", "rate_weights", ...}``."""
    data = _shipped()
    if codec not in data.get("codecs", {}):
        raise InputError(f"no intra proxy fit for codec {codec!r}; have {sorted(data.get('codecs', {}))}")
    return data["codecs"][codec]


def intra_step(
    quality: float | Tensor, batch: int = 1, codec: str = "heif", *, dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Tensor:  # fmt: skip
    """Quantiser step ``(B,)`` (8-bit units, orthonormal DCT) for codec ``quality`` (number or ``(B,)``).

    Piecewise-linear in log(step) between the fitted qualities, clamped at the ends of the table.
    """
    p = load_intra_params(codec)
    qs = torch.tensor(p["qualities"], dtype=torch.float64)
    ls = torch.tensor(p["steps"], dtype=torch.float64).log()
    q = torch.as_tensor(quality, dtype=torch.float64).detach().cpu()
    q = q.expand(batch) if q.ndim == 0 else q
    if q.shape != (batch,):
        raise InputError(f"quality must be a number or a ({batch},) tensor, got shape {tuple(q.shape)}")
    q = q.clamp(float(qs[0]), float(qs[-1]))
    i = torch.searchsorted(qs, q, right=True).clamp(1, len(qs) - 1)
    t = (q - qs[i - 1]) / (qs[i] - qs[i - 1])
    return (ls[i - 1] * (1 - t) + ls[i] * t).exp().to(dtype=dtype, device=device)


@dataclass
class IntraProxyOutput:
    """Result of :func:`intra_proxy` (coefficient layout as in :class:`~neuralwrap.proxies.jpeg.JpegProxyOutput`)."""

    #: decoded image ``(B,C,H,W)`` in [0,1]
    image: Tensor
    #: coefficients divided by the step, before rounding: luma ``(B,1,...,N,N)``, chroma ``(B,2,...,N,N)``
    coeffs: tuple[Tensor, ...]
    #: rounded coefficients (straight-through)
    coeffs_q: tuple[Tensor, ...]
    #: step per sample ``(B,)``
    step: Tensor
    subsampling: str

    @property
    def num_pixels(self) -> int:
        """H*W of the image."""
        return int(self.image.shape[-2] * self.image.shape[-1])


def _code(plane: Tensor, step: Tensor, block: int, rnd: bool) -> tuple[Tensor, Tensor, Tensor]:
    size = (plane.shape[-2], plane.shape[-1])
    s = step.view(-1, 1, 1, 1, 1, 1)
    y = block_dct(plane - 128.0, block) / s
    q = round_ste(y, rnd)
    return y, q, block_idct(q * s, size) + 128.0


def intra_proxy(
    x: Tensor,
    quality: float | Tensor | None = None,
    *,
    step: float | Tensor | None = None,
    codec: str = "heif",
    subsampling: str = "420",
    block: int = 8,
    differentiable: bool = False,
) -> IntraProxyOutput:
    """Uniform-step DCT proxy of an intra codec.

    Args:
        x: ``(B,3,H,W)`` RGB (``(B,1,H,W)`` for "400"), float in [0,1].
        quality: codec quality (0..100, number or ``(B,)``) mapped to a step by :func:`intra_step`;
            or give ``step`` (8-bit units) directly.
        codec: which fitted table to use ("heif" or "avif").
        subsampling: "420", "444" or "400".
        block: DCT size (8 or 16; the shipped tables were fitted with the block stored in the params).
        differentiable: replace rounding by the identity (for gradchecks).
    """
    if subsampling not in ("420", "444", "400"):
        raise InputError(f"subsampling must be '420', '444' or '400', got {subsampling!r}")
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != (1 if subsampling == "400" else 3):
        raise InputError(f"x must be (B,{1 if subsampling == '400' else 3},H,W), got {getattr(x, 'shape', None)}")
    if (quality is None) == (step is None):
        raise InputError("give exactly one of quality or step")
    b, rnd = x.shape[0], not differentiable
    if step is None:
        st = intra_step(quality, b, codec, dtype=x.dtype, device=x.device)  # type: ignore[arg-type]
    else:
        st = torch.as_tensor(step, dtype=x.dtype, device=x.device).expand(b)
    x255 = round_ste(clip_ste(x, 0.0, 1.0) * 255.0, rnd)
    if subsampling == "400":
        y, q, rec = _code(x255, st, block, rnd)
        return IntraProxyOutput(clip_ste(rec, 0.0, 255.0) / 255.0, (y,), (q,), st, subsampling)
    ycc = rgb_to_ycbcr(x255)
    luma, chroma = ycc[:, :1], ycc[:, 1:]
    if subsampling == "420":
        chroma = chroma_downsample(chroma)
    yl, ql, rl = _code(luma, st, block, rnd)
    yc, qc, rc = _code(chroma, st, block, rnd)
    if subsampling == "420":
        rc = chroma_upsample(rc, (x.shape[-2], x.shape[-1]))
    rgb = clip_ste(ycbcr_to_rgb(torch.cat([rl, rc], 1)), 0.0, 255.0)
    return IntraProxyOutput(rgb / 255.0, (yl, yc), (ql, qc), st, subsampling)


def intra_rate_features(out: IntraProxyOutput) -> Tensor:
    """``(B, 6)`` features (:data:`INTRA_FEATURE_NAMES`); exact forward values, smooth surrogate gradients."""
    cols = []
    for i in range(2):
        if i < len(out.coeffs):
            y, q = out.coeffs[i], out.coeffs_q[i]
            size = forward_backward(torch.log2(1 + q.detach().abs()), torch.log2(1 + y.abs()))
            nz = forward_backward((q.detach() != 0).to(y.dtype), torch.sigmoid((y.abs() - 0.5) / _TAU))
            cols += [size.flatten(1).sum(1), nz.flatten(1).sum(1)]
        else:
            cols += [torch.zeros_like(out.step)] * 2
    blocks = torch.full_like(out.step, out.num_pixels / 64.0)
    return torch.stack([*cols, blocks, torch.ones_like(out.step)], 1)


def _rate_scale(step: Tensor, p: dict) -> Tensor:
    """Per-sample correction factor, piecewise-linear in log(step) between the fitted qualities' steps."""
    if "rate_scale" not in p:
        return torch.ones_like(step)
    ls = torch.tensor(p["steps"], dtype=torch.float64).log().flip(0)  # increasing
    sc = torch.tensor(p["rate_scale"], dtype=torch.float64).flip(0)
    x = step.detach().double().cpu().log().clamp(float(ls[0]), float(ls[-1]))
    i = torch.searchsorted(ls, x, right=True).clamp(1, len(ls) - 1)
    t = (x - ls[i - 1]) / (ls[i] - ls[i - 1])
    return (sc[i - 1] * (1 - t) + sc[i] * t).to(dtype=step.dtype, device=step.device)


def intra_rate(out: IntraProxyOutput, codec: str = "heif") -> Tensor:
    """Estimated file size in bits ``(B,)`` of the real ``codec`` 4:2:0 (rough; see docs/BENCHMARKS.md).

    ``bits = scale(step) * w . features`` with ``w`` fitted by NNLS and ``scale`` a per-quality correction.
    """
    p = load_intra_params(codec)
    if out.subsampling not in p["rate_weights"]:
        raise InputError(f"no {codec} rate fit for subsampling {out.subsampling!r}")
    f = intra_rate_features(out)
    w = torch.tensor(p["rate_weights"][out.subsampling], dtype=f.dtype, device=f.device)
    return (f @ w) * _rate_scale(out.step, p)


class IntraProxy(nn.Module):
    """Module form of :func:`intra_proxy` (quality fixed at construction or given per call)."""

    def __init__(self, quality: float = 50.0, codec: str = "heif", subsampling: str = "420", block: int = 8) -> None:
        super().__init__()
        self.quality, self.codec, self.subsampling, self.block = quality, codec, subsampling, block

    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> IntraProxyOutput:
        q = self.quality if quality is None else quality
        return intra_proxy(x, q, codec=self.codec, subsampling=self.subsampling, block=self.block)
