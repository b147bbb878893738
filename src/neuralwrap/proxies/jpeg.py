"""Differentiable JPEG proxy that follows libjpeg-turbo's baseline encoder and decoder step by step.

Pipeline (``x`` is ``(B,3,H,W)`` RGB or ``(B,1,H,W)`` gray, float in [0,1])::

    clip[0,1] -> x255 -> round -> YCbCr (round) -> chroma 2x box down (round, 4:2:0 only)
      -> -128 -> 8x8 DCT -> / Q(quality) -> round = coeffs_q -> * Q -> IDCT -> +128 (round, clamp)
      -> fancy chroma up (round) -> RGB (round, clamp) -> /255

Every ``round`` is straight-through (forward: round, backward: identity) and every ``clamp`` is a
straight-through clamp (identity gradient, also outside the range), so gradients always reach the
input. ``differentiable=True`` replaces all rounding by the identity (the smooth path, used by the
gradchecks) while keeping the clamps. The intermediate roundings (8-bit YCbCr, 8-bit decoder output)
make the proxy match the real codec closely at high quality; ``emulate_8bit=False`` drops them and
keeps only the quantiser rounding (the paper's proxy).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.proxies._ste import clip_ste, round_ste
from neuralwrap.proxies.color import chroma_downsample, chroma_upsample, rgb_to_ycbcr, ycbcr_to_rgb
from neuralwrap.proxies.dct import block_dct, block_idct

__all__ = [
    "IJG_LUMA_TABLE",
    "IJG_CHROMA_TABLE",
    "SUBSAMPLINGS",
    "ZIGZAG",
    "quality_scaled_table",
    "quant_tables",
    "JpegProxyOutput",
    "jpeg_proxy",
    "JpegProxy",
]

SUBSAMPLINGS = ("420", "444", "400")

#: IJG (JPEG Annex K) luminance table, natural (row-major) order, quality 50.
IJG_LUMA_TABLE: tuple[int, ...] = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
#: IJG (JPEG Annex K) chrominance table, natural order, quality 50.
IJG_CHROMA_TABLE: tuple[int, ...] = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip


def _zigzag() -> tuple[int, ...]:
    def key(p: tuple[int, int]) -> tuple[int, int]:  # odd anti-diagonals run down-left, even ones up-right
        s = p[0] + p[1]
        return (s, p[0] if s % 2 else p[1])

    order = sorted(((i, j) for i in range(8) for j in range(8)), key=key)
    return tuple(i * 8 + j for i, j in order)


#: ``ZIGZAG[k]`` = natural (row-major) index of the k-th coefficient in JPEG zigzag order.
ZIGZAG: tuple[int, ...] = _zigzag()


def quality_scaled_table(base: tuple[int, ...], quality: int, force_baseline: bool = True) -> list[int]:
    """libjpeg ``jpeg_quality_scaling`` + ``jpeg_add_quant_table``: 64 integer steps for ``quality`` 1..100."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    hi = 255 if force_baseline else 32767
    return [min(max((b * scale + 50) // 100, 1), hi) for b in base]


_TABLE_CACHE: dict[tuple[torch.dtype, str], Tensor] = {}


def _all_tables(dtype: torch.dtype, device: torch.device) -> Tensor:
    """``(101, 2, 8, 8)`` tables for quality 0..100 (row 0 duplicates quality 1)."""
    key = (dtype, str(device))
    if key not in _TABLE_CACHE:
        rows = [[quality_scaled_table(t, max(q, 1)) for t in (IJG_LUMA_TABLE, IJG_CHROMA_TABLE)] for q in range(101)]
        _TABLE_CACHE[key] = torch.tensor(rows, dtype=dtype, device=device).view(101, 2, 8, 8)
    return _TABLE_CACHE[key]


def quant_tables(
    quality: float | Tensor, batch: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> Tensor:
    """Quantiser steps ``(B,2,8,8)`` (luma, chroma) for ``quality`` in [1,100]: a number or a ``(B,)`` tensor.

    Integer qualities give libjpeg's tables exactly (baseline, clamped to 1..255); non-integer
    qualities interpolate linearly between the two neighbouring integer tables.
    """
    device = torch.device(device)
    tables = _all_tables(dtype, device)
    q = torch.as_tensor(quality, dtype=dtype, device=device).detach()
    if q.ndim == 0:
        q = q.expand(batch)
    if q.shape != (batch,):
        raise InputError(f"quality must be a number or a ({batch},) tensor, got shape {tuple(q.shape)}")
    if bool(((q < 1) | (q > 100) | ~torch.isfinite(q)).any()):
        raise InputError(f"quality must lie in [1, 100], got {q.tolist()}")
    lo = q.floor().long()
    hi = q.ceil().long()
    t = (q - lo.to(dtype)).view(-1, 1, 1, 1)
    return tables[lo] * (1 - t) + tables[hi] * t


@dataclass
class JpegProxyOutput:
    """Result of :func:`jpeg_proxy`.

    ``coeffs`` / ``coeffs_q``: one tensor per component group, ``(B,C,nby,nbx,8,8)`` with C=1 for luma
    and C=2 for chroma (Cb, Cr; absent for 4:0:0). ``coeffs`` are DCT coefficients divided by their step
    (before rounding, float); ``coeffs_q`` the straight-through-rounded quantised integers.
    """

    #: decoded image ``(B,C,H,W)`` in [0,1], input dtype/device
    image: Tensor
    #: scaled coefficients before rounding, per component group
    coeffs: tuple[Tensor, ...]
    #: quantised coefficients (integer values, straight-through gradient), per component group
    coeffs_q: tuple[Tensor, ...]
    #: quantiser steps ``(B,2,8,8)`` (luma, chroma), natural order
    steps: Tensor
    #: "420", "444" or "400"
    subsampling: str

    @property
    def num_pixels(self) -> int:
        """H*W of the image (for bits per pixel)."""
        return int(self.image.shape[-2] * self.image.shape[-1])


def _check_input(x: Tensor, subsampling: str) -> None:
    if subsampling not in SUBSAMPLINGS:
        raise InputError(f"subsampling must be one of {SUBSAMPLINGS}, got {subsampling!r}")
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise InputError(f"x must be a float (B,C,H,W) tensor, got {getattr(x, 'shape', type(x))}")
    want = 1 if subsampling == "400" else 3
    if x.shape[1] != want:
        raise InputError(f"subsampling {subsampling!r} needs {want}-channel input, got {x.shape[1]} channels")


def _quantise(plane: Tensor, step: Tensor, rnd: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Level-shifted plane ``(B,C,H,W)``, steps ``(B,8,8)`` -> (scaled, rounded, reconstructed plane)."""
    size = (plane.shape[-2], plane.shape[-1])
    step = step[:, None, None, None]
    y = block_dct(plane - 128.0) / step
    q = round_ste(y, rnd)
    rec = block_idct(q * step, size) + 128.0
    return y, q, rec


def jpeg_proxy(
    x: Tensor,
    quality: float | Tensor,
    subsampling: str = "420",
    *,
    differentiable: bool = False,
    emulate_8bit: bool = True,
) -> JpegProxyOutput:
    """Differentiable stand-in for a baseline JPEG encode + decode (libjpeg-turbo, ISLOW DCT).

    Args:
        x: ``(B,3,H,W)`` RGB (or ``(B,1,H,W)`` for ``"400"``), float in [0,1] (clipped), any size.
        quality: JPEG quality 1..100, a number or a per-sample ``(B,)`` tensor (non-integer: tables
            interpolated).
        subsampling: ``"420"`` (2x2 chroma), ``"444"`` or ``"400"`` (grayscale).
        differentiable: replace every rounding by the identity (smooth path for gradchecks).
        emulate_8bit: also round the 8-bit intermediates the real codec rounds (YCbCr planes, box
            downsampling, decoder output); otherwise only the quantiser rounds.

    Returns:
        :class:`JpegProxyOutput`; ``.image`` has the input's shape, dtype and device.

    Example:
        >>> out = jpeg_proxy(torch.rand(2, 3, 32, 48), quality=75)
        >>> out.image.shape, out.coeffs_q[0].shape
        (torch.Size([2, 3, 32, 48]), torch.Size([2, 1, 4, 6, 8, 8]))
    """
    _check_input(x, subsampling)
    rnd = not differentiable
    r8 = rnd and emulate_8bit
    h, w = x.shape[-2:]
    steps = quant_tables(quality, x.shape[0], dtype=x.dtype, device=x.device)
    x255 = round_ste(clip_ste(x, 0.0, 1.0) * 255.0, rnd)
    if subsampling == "400":
        y, q, rec = _quantise(x255, steps[:, 0], rnd)
        out = clip_ste(round_ste(rec, r8), 0.0, 255.0)
        return JpegProxyOutput(out / 255.0, (y,), (q,), steps, subsampling)
    ycc = round_ste(rgb_to_ycbcr(x255), r8)
    luma, chroma = ycc[:, :1], ycc[:, 1:]
    if subsampling == "420":
        chroma = round_ste(chroma_downsample(chroma), r8)
    yl, ql, rec_l = _quantise(luma, steps[:, 0], rnd)
    yc, qc, rec_c = _quantise(chroma, steps[:, 1], rnd)
    rec_l = clip_ste(round_ste(rec_l, r8), 0.0, 255.0)
    rec_c = clip_ste(round_ste(rec_c, r8), 0.0, 255.0)
    if subsampling == "420":
        rec_c = round_ste(chroma_upsample(rec_c, (h, w)), r8)
    rgb = clip_ste(round_ste(ycbcr_to_rgb(torch.cat([rec_l, rec_c], 1)), r8), 0.0, 255.0)
    return JpegProxyOutput(rgb / 255.0, (yl, yc), (ql, qc), steps, subsampling)


class JpegProxy(nn.Module):
    """Module form of :func:`jpeg_proxy`: ``x (B,C,H,W) in [0,1] -> JpegProxyOutput``.

    ``quality`` given at call time overrides the one set at construction (e.g. a ``(B,)`` tensor for
    rate-conditioned training).
    """

    def __init__(
        self,
        quality: float = 75.0,
        subsampling: str = "420",
        *,
        differentiable: bool = False,
        emulate_8bit: bool = True,
    ) -> None:
        super().__init__()
        if subsampling not in SUBSAMPLINGS:
            raise InputError(f"subsampling must be one of {SUBSAMPLINGS}, got {subsampling!r}")
        self.quality = quality
        self.subsampling = subsampling
        self.differentiable = differentiable
        self.emulate_8bit = emulate_8bit

    def forward(self, x: Tensor, quality: float | Tensor | None = None) -> JpegProxyOutput:
        q = self.quality if quality is None else quality
        return jpeg_proxy(x, q, self.subsampling, differentiable=self.differentiable, emulate_8bit=self.emulate_8bit)
