"""Differentiable proxy of x265 (HEVC) video coding: an I frame, then motion-compensated P frames.

Per clip (one ``(T,C,H,W)`` tensor), frames coded in order, each predicted from the previous *decoded*
proxy frame so that coding errors propagate as in a real codec::

    frames [0,1] -> x255 -> round -> Y'CbCr (BT.601 limited range, like swscale) [-> 2x2 box down, 4:2:0]
      -> edge-pad to a multiple of 16 -> per 16x16 CU:
           intra  r = x - 128                       (frame 0, every ``gop``-th frame, chosen CUs; the DC is
                                                     priced as a difference to the left block's, DPCM)
           inter  r = x - warp(decoded[t-1], mv)    (bicubic; mv: OpenCV Farneback flow of the *source*
                                                     frames, averaged per CU, rounded to 1/4 pel, no gradient)
         8x8 DCT(r) / step -> dead-zone rounding (straight-through) -> * step -> IDCT -> + prediction
         -> clip 0..255 (the decoded reference of the next frame)
      -> RGB (limited-range BT.601, bilinear chroma up) -> clip, round (straight-through) -> /255

    step(QP) = scale_type(QP) * 2 ** ((QP + offset_type - 4) / 6)          (HEVC's Qstep, calibrated)
    bits_t   = rate_scale_type(QP) * w_type . features_t                   (fitted to x265 packet sizes)

* Intra/inter choice per CU (frames > 0): the smaller ``J = SSD + lambda(QP) * R_est`` where ``R_est``
  applies the fitted rate weights to the CU's own features and ``lambda = 0.57 * 2 ** ((QP - 12) / 3)``
  (the HM reference encoder's lambda). The choice is discrete (no gradient); gradients flow through the
  chosen candidate's prediction and residual, including through the reference into earlier frames.
* Rate features per frame (:data:`VIDEO_FEATURE_NAMES`): ``Σ log2(1+|q|)`` and nonzero counts for luma
  and chroma, separately for intra and inter CUs, CU counts, coded (non-skip) inter CUs, motion-vector
  bits (exp-Golomb length of the difference to the left CU's vector), and a per-frame constant. Forward
  values are exact, gradients come from smooth surrogates of the unrounded coefficients.
* Not modelled (see docs/benchmarks_video_proxy.md): x265's B frames (the proxy codes I P P P ...),
  HEVC intra prediction (intra CUs are coded from 128), transform sizes other than 8x8, RDOQ,
  in-loop filters (deblocking, SAO), adaptive quantisation. The calibration absorbs their average effect:
  sums of ``bits`` over a clip track x265's file size (roughly +10% on real video for yuv420p / gray, +27%
  for yuv444p); single frames do not (x265's P frames cost more, its B frames less), so put
  ``bits.sum()`` in a loss, not per-frame values.

Example::

    out = video_proxy(frames, qp=32, pix_fmt="yuv420p")     # frames: (T,3,H,W) float in [0,1]
    loss = F.mse_loss(out.frames, frames) + lam * out.bits.sum() / frames[0].numel()
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.luma import luma_tensor
from neuralwrap.proxies._ste import clip_ste, forward_backward, round_ste
from neuralwrap.proxies.color import chroma_downsample, chroma_upsample
from neuralwrap.proxies.dct import block_dct, block_idct, pad_to_multiple
from neuralwrap.resources import package_file

__all__ = [
    "VIDEO_FEATURE_NAMES",
    "VIDEO_PIX_FMTS",
    "VideoProxy",
    "VideoProxyOutput",
    "crf_to_qp",
    "estimate_flow",
    "load_video_params",
    "video_proxy",
    "video_step",
]

_PARAMS_FILE = package_file("neuralwrap.proxies", "video_params.json")
#: pixel formats the proxy models (x265's 8-bit formats)
VIDEO_PIX_FMTS: tuple[str, ...] = ("yuv420p", "yuv444p", "gray")
#: columns of :attr:`VideoProxyOutput.features`
VIDEO_FEATURE_NAMES: tuple[str, ...] = (
    "intra_luma_size", "intra_luma_nonzero", "intra_chroma_size", "intra_chroma_nonzero", "intra_cus",
    "inter_luma_size", "inter_luma_nonzero", "inter_chroma_size", "inter_chroma_nonzero", "inter_cus",
    "inter_coded_cus", "mv_bits", "frame",
)  # fmt: skip
_CU, _BLOCK, _TAU = 16, 8, 0.1
_QP_RANGE = (0.0, 51.0)
#: parameters used when no fit is shipped (or a pix_fmt lacks one); also the fit script's starting point
DEFAULT_PARAMS: dict = {
    "intra_qp_offset": -6 * math.log2(1.4),  # x265 --ipratio 1.4: I slices are coded ~2.9 QP finer
    "inter_qp_offset": 0.0,
    "rounding_offset": {"intra": 1 / 3, "inter": 1 / 6},  # x265 quant.cpp dead zone (171/512, 85/512)
    "lambda_scale": 0.57,
    "qps": [22.0, 37.0],
    "intra_scale": [1.0, 1.0],
    "inter_scale": [1.0, 1.0],
    "rate_weights_I": [1.8, 0.5, 1.8, 0.5, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 64.0],
    "rate_weights_P": [1.8, 0.5, 1.8, 0.5, 4.0, 1.8, 0.5, 1.8, 0.5, 1.0, 4.0, 1.0, 64.0],
    "rate_qps": [22.0, 37.0],
    "rate_scale_intra": [1.0, 1.0],
    "rate_scale_inter": [1.0, 1.0],
    "header_bits": 0.0,
}

# BT.601 limited range (swscale's default for RGB <-> YUV in both directions), 0..255 scale.
_RGB2YUV = torch.tensor([
    [0.299 * 219 / 255, 0.587 * 219 / 255, 0.114 * 219 / 255],
    [-0.168736 * 224 / 255, -0.331264 * 224 / 255, 0.5 * 224 / 255],
    [0.5 * 224 / 255, -0.418688 * 224 / 255, -0.081312 * 224 / 255],
], dtype=torch.float64)  # fmt: skip
_YUV_OFFSET = (16.0, 128.0, 128.0)


# -- parameters ------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _shipped() -> dict:
    return json.loads(_PARAMS_FILE.read_text()) if _PARAMS_FILE.exists() else {}


def load_video_params(pix_fmt: str = "yuv420p") -> dict:
    """Fitted parameters for ``pix_fmt`` (``video_params.json``), defaults filled in for missing keys."""
    _check_pix_fmt(pix_fmt)
    fitted = _shipped().get("pix_fmts", {}).get(pix_fmt, {})
    return {**DEFAULT_PARAMS, **fitted, "header_bits": fitted.get("header_bits", 0.0)}


def _interp(qp: float, xs: list[float], ys: list[float]) -> float:
    return float(np.interp(qp, xs, ys))  # clamped at the ends of the table


def video_step(qp: float, frame_type: str = "P", pix_fmt: str = "yuv420p", params: dict | None = None) -> float:
    """Quantiser step (8-bit units, orthonormal 8x8 DCT) of an ``"I"`` or ``"P"`` frame coded at ``qp``."""
    p = load_video_params(pix_fmt) if params is None else params
    kind = "intra" if frame_type == "I" else "inter"
    scale = _interp(qp, p["qps"], p[f"{kind}_scale"])
    return scale * 2.0 ** ((qp + p[f"{kind}_qp_offset"] - 4.0) / 6.0)


def crf_to_qp(crf: float, pix_fmt: str = "yuv420p") -> float:
    """Effective constant QP of an x265 ``crf`` encode: the QP whose real bits match the CRF encode's on the
    training clips (piecewise linear in the fitted table; ``crf + 0`` without a fit). Rough: CRF adapts QP
    per frame and per block to the content."""
    table = _shipped().get("crf_to_qp", {}).get(pix_fmt)
    if table is None:
        return float(crf)
    crfs, qps = table["crfs"], table["qps"]
    if crf <= crfs[0] or crf >= crfs[-1]:  # extrapolate with the end slope
        i = 0 if crf <= crfs[0] else len(crfs) - 2
        return float(qps[i] + (crf - crfs[i]) * (qps[i + 1] - qps[i]) / (crfs[i + 1] - crfs[i]))
    return _interp(crf, crfs, qps)


# -- colour ----------------------------------------------------------------------------------------------
def _rgb_to_yuv(x255: Tensor) -> Tensor:
    m = _RGB2YUV.to(dtype=x255.dtype, device=x255.device)
    off = torch.tensor(_YUV_OFFSET, dtype=x255.dtype, device=x255.device).view(1, 3, 1, 1)
    return torch.einsum("oc,bchw->bohw", m, x255) + off


def _yuv_to_rgb(yuv: Tensor) -> Tensor:
    m = torch.linalg.inv(_RGB2YUV).to(dtype=yuv.dtype, device=yuv.device)
    off = torch.tensor(_YUV_OFFSET, dtype=yuv.dtype, device=yuv.device).view(1, 3, 1, 1)
    return torch.einsum("oc,bchw->bohw", m, yuv - off)


def _to_planes(frames: Tensor, pix_fmt: str, rnd: bool) -> list[Tensor]:
    """``(T,C,H,W)`` [0,1] -> [luma ``(T,1,H,W)``, chroma ``(T,2,h,w)``] on the 0..255 scale, 8-bit rounded."""
    x255 = round_ste(clip_ste(frames, 0.0, 1.0) * 255.0, rnd)
    if pix_fmt == "gray":
        return [x255]
    yuv = round_ste(_rgb_to_yuv(x255), rnd)
    chroma = yuv[:, 1:]
    if pix_fmt == "yuv420p":
        chroma = round_ste(chroma_downsample(chroma), rnd)
    return [yuv[:, :1], chroma]


def _from_planes(planes: list[Tensor], pix_fmt: str, size: tuple[int, int], rnd: bool) -> Tensor:
    if pix_fmt == "gray":
        return round_ste(clip_ste(planes[0], 0.0, 255.0), rnd) / 255.0
    chroma = planes[1]
    if pix_fmt == "yuv420p":
        chroma = chroma_upsample(chroma, size)
    rgb = _yuv_to_rgb(torch.cat([planes[0], chroma], 1))
    return round_ste(clip_ste(rgb, 0.0, 255.0), rnd) / 255.0


# -- motion ----------------------------------------------------------------------------------------------
def estimate_flow(frames: Tensor) -> Tensor:
    """Backward optical flow ``(T,2,H,W)`` (x, y in pixels) of ``(T,C,H,W)`` [0,1] frames, no gradient.

    ``flow[t]`` maps frame ``t`` onto frame ``t-1``: ``frame[t](y, x) ≈ frame[t-1](y + flow[t,1], x + flow[t,0])``;
    ``flow[0]`` is zero. OpenCV's classical Farneback method on the luma (no learned weights).
    """
    import cv2  # opencv-python-headless

    channels = frames.shape[1] if isinstance(frames, Tensor) and frames.ndim == 4 and frames.shape[1] == 1 else 3
    _check_frames(frames, channels)
    x = frames.detach().to("cpu", torch.float64).clamp(0, 1)
    gray = x[:, 0] if x.shape[1] == 1 else luma_tensor(x, 1)
    g = np.rint(gray.numpy() * 255).astype(np.uint8)
    out = np.zeros((len(g), 2, g.shape[1], g.shape[2]), np.float32)
    for t in range(1, len(g)):
        f = cv2.calcOpticalFlowFarneback(g[t], g[t - 1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
        out[t] = f.transpose(2, 0, 1)
    return torch.from_numpy(out).to(dtype=frames.dtype, device=frames.device)


def _cu_motion(flow: Tensor) -> Tensor:
    """Dense flow ``(2,H,W)`` (padded to 16) -> one vector per CU ``(2,ncy,ncx)``, rounded to 1/4 pel."""
    return torch.round(F.avg_pool2d(flow[None], _CU)[0] * 4.0) / 4.0


def _mv_bits(mv: Tensor) -> Tensor:
    """Exp-Golomb length of each CU's vector difference to its left neighbour (quarter pels) ``(ncy,ncx)``."""
    q = torch.round(mv * 4.0)
    d = q - F.pad(q, (1, 0))[..., :-1]
    return (1.0 + 2.0 * torch.floor(torch.log2(1.0 + d.abs()))).sum(0)


def _warp(plane: Tensor, flow: Tensor) -> Tensor:
    """Backward warp ``(1,C,h,w)`` by ``flow`` ``(2,h,w)`` pixels: bicubic (HEVC: 8/4-tap), edge-replicated borders."""
    h, w = plane.shape[-2:]
    ys = torch.arange(h, dtype=plane.dtype, device=plane.device).view(-1, 1)
    xs = torch.arange(w, dtype=plane.dtype, device=plane.device).view(1, -1)
    gx = (xs + flow[0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + flow[1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], -1)[None]
    return F.grid_sample(plane, grid, mode="bicubic", padding_mode="border", align_corners=True)


# -- coding of one plane ---------------------------------------------------------------------------------
def _quantise(y: Tensor, offset: float, rnd: bool) -> Tensor:
    """Dead-zone rounding ``sign(y) * floor(|y| + offset)`` forward, identity gradient."""
    if not rnd:
        return y
    return y + (torch.sign(y) * torch.floor(y.abs() + offset) - y).detach()


def _to_cu(stat: Tensor, factor: int) -> Tensor:
    """Sum a per-block or per-pixel map ``(h,w)`` over CUs of ``factor x factor`` cells -> ``(ncy,ncx)``."""
    if factor == 1:
        return stat
    return F.avg_pool2d(stat[None, None], factor)[0, 0] * factor * factor


@dataclass
class _Candidate:
    rec: Tensor  # (1,C,h,w) reconstruction
    size: Tensor  # (ncy,ncx) Σ log2(1+|q|)
    nonzero: Tensor  # (ncy,ncx)
    ssd: Tensor  # (ncy,ncx), no gradient


def _size_nonzero(y: Tensor, q: Tensor, offset: float) -> tuple[Tensor, Tensor]:
    """``log2(1+|q|)`` and ``q != 0`` (exact forward) with smooth surrogate gradients from ``y``."""
    size = forward_backward(torch.log2(1 + q.detach().abs()), torch.log2(1 + y.abs()))
    nz = forward_backward((q.detach() != 0).to(y.dtype), torch.sigmoid((y.abs() - (1 - offset)) / _TAU))
    return size, nz


def _dc_dpcm(y: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """Intra DC minus the left block's quantised DC (the upper block's in the first column), ``(1,C,nby,nbx)``:
    a stand-in for HEVC's intra (DC/planar) prediction, which makes smooth areas cheap."""
    qd = q[..., 0, 0].detach()
    pred = torch.zeros_like(qd)
    pred[..., :, 1:] = qd[..., :, :-1]
    pred[..., 1:, 0] = qd[..., :-1, 0]
    return y[..., 0, 0] - pred, q[..., 0, 0] - pred


def _code(x: Tensor, pred: Tensor | float, step: float, offset: float, sub: int, rnd: bool) -> _Candidate:
    """Code one plane ``(1,C,h,w)`` (chroma subsampled by ``sub``) against a prediction; stats per CU.
    ``pred`` a number = intra: the DC is then priced as a difference to its neighbour's (:func:`_dc_dpcm`)."""
    y = block_dct(x - pred, _BLOCK) / step
    q = _quantise(y, offset, rnd)
    rec = clip_ste(pred + block_idct(q * step, (x.shape[-2], x.shape[-1])), 0.0, 255.0)
    size, nz = _size_nonzero(y, q, offset)
    total_size, total_nz = size.sum((4, 5)), nz.sum((4, 5))
    if not isinstance(pred, Tensor):
        dc_size, dc_nz = _size_nonzero(*_dc_dpcm(y, q), offset)
        total_size = total_size - size[..., 0, 0] + dc_size
        total_nz = total_nz - nz[..., 0, 0] + dc_nz
    blocks_per_cu = _CU // (_BLOCK * sub)
    ssd = _to_cu(((x - rec).detach() ** 2).sum((0, 1)), _CU // sub)
    return _Candidate(rec, _to_cu(total_size.sum(1)[0], blocks_per_cu), _to_cu(total_nz.sum(1)[0], blocks_per_cu), ssd)


def _cu_features(cands: list[_Candidate], inter: bool, mv_bits: Tensor | None) -> Tensor:
    """Per-CU rate features ``(F,ncy,ncx)`` of one coding option (:data:`VIDEO_FEATURE_NAMES`)."""
    luma = cands[0]
    z, one = torch.zeros_like(luma.size), torch.ones_like(luma.size)
    cs, cn = (cands[1].size, cands[1].nonzero) if len(cands) > 1 else (z, z)
    if not inter:
        return torch.stack([luma.size, luma.nonzero, cs, cn, one] + [z] * 8)
    coded = ((luma.nonzero + cn).detach() > 0).to(z.dtype)
    return torch.stack([z] * 5 + [luma.size, luma.nonzero, cs, cn, one, coded, mv_bits, z])  # type: ignore[list-item]


def _cu_mask(m: Tensor, sub: int) -> Tensor:
    """CU map ``(ncy,ncx)`` -> pixel map ``(1,1,h,w)`` of a plane subsampled by ``sub``."""
    k = _CU // sub
    return m.repeat_interleave(k, 0).repeat_interleave(k, 1)[None, None]


def _decide(f_intra: Tensor, f_inter: Tensor, ssd_intra: Tensor, ssd_inter: Tensor, qp: float, p: dict) -> Tensor:
    """1 where inter coding has the lower ``SSD + lambda * R_est`` ``(ncy,ncx)``, no gradient."""
    w = torch.tensor(p["rate_weights_P"], dtype=f_intra.dtype, device=f_intra.device)
    lam = p["lambda_scale"] * 2.0 ** ((qp - 12.0) / 3.0)
    j_intra = ssd_intra + lam * torch.einsum("f,fhw->hw", w, f_intra.detach())
    j_inter = ssd_inter + lam * torch.einsum("f,fhw->hw", w, f_inter.detach())
    return (j_inter <= j_intra).to(f_intra.dtype)


def _code_frame(cur: list[Tensor], ref: list[Tensor] | None, mv: Tensor, qp: float, p: dict,
                subs: list[int], rnd: bool) -> tuple[list[Tensor], Tensor, Tensor]:  # fmt: skip
    """Code one frame (planes ``(1,C,h,w)``); ``ref is None`` = I frame. -> (recon planes, features, inter map)."""
    off = p["rounding_offset"]
    step = video_step(qp, "I" if ref is None else "P", params=p)
    intra = [_code(x, 128.0, step, off["intra"], s, rnd) for x, s in zip(cur, subs)]
    f_intra = _cu_features(intra, False, None)
    if ref is None:
        m = torch.zeros_like(intra[0].size)
        return [c.rec for c in intra], f_intra.sum((1, 2)) + _frame_one(f_intra), m
    inter = []
    for x, r, s in zip(cur, ref, subs):
        dense = (mv / s).repeat_interleave(_CU // s, 1).repeat_interleave(_CU // s, 2)
        inter.append(_code(x, _warp(r, dense), step, off["inter"], s, rnd))
    f_inter = _cu_features(inter, True, _mv_bits(mv))
    m = _decide(f_intra, f_inter, sum(c.ssd for c in intra), sum(c.ssd for c in inter), qp, p)
    rec = [_cu_mask(m, s) * ce.rec + (1 - _cu_mask(m, s)) * ci.rec for ci, ce, s in zip(intra, inter, subs)]
    feats = (f_intra * (1 - m) + f_inter * m).sum((1, 2)) + _frame_one(f_intra)
    return rec, feats, m


def _frame_one(f: Tensor) -> Tensor:
    one = torch.zeros(f.shape[0], dtype=f.dtype, device=f.device)
    one[-1] = 1.0
    return one


# -- public API ------------------------------------------------------------------------------------------
@dataclass
class VideoProxyOutput:
    """Result of :func:`video_proxy`."""

    #: decoded frames ``(T,C,H,W)`` in [0,1] (8-bit values), same dtype/device as the input
    frames: Tensor
    #: estimated bits per frame ``(T,)`` (x265 packet payload, display order = coding order here)
    bits: Tensor
    #: ``(T, ceil(H/16), ceil(W/16))`` bool, True where the 16x16 CU was intra coded (all of an I frame)
    intra_mask: Tensor
    #: rate features ``(T, F)`` (:data:`VIDEO_FEATURE_NAMES`), the inputs of the rate model
    features: Tensor
    #: "I" or "P" per frame
    frame_types: tuple[str, ...]
    qp: float
    pix_fmt: str
    #: constant MP4 + parameter-set overhead of a real file (bits, fitted); not part of :attr:`bits`
    header_bits: float = 0.0

    @property
    def total_bits(self) -> Tensor:
        """Estimated size of the whole MP4 file in bits (``bits.sum() + header_bits``), 0-d tensor."""
        return self.bits.sum() + self.header_bits


def _check_pix_fmt(pix_fmt: str) -> None:
    if pix_fmt not in VIDEO_PIX_FMTS:
        raise InputError(f"pix_fmt must be one of {VIDEO_PIX_FMTS}, got {pix_fmt!r}")


def _check_frames(frames: Tensor, channels: int) -> None:
    if not isinstance(frames, Tensor) or frames.ndim != 4:
        raise InputError(f"frames must be a (T,C,H,W) tensor, got {getattr(frames, 'shape', type(frames).__name__)}")
    if frames.shape[0] == 0:
        raise InputError("frames holds no frames (T=0)")
    if frames.shape[1] != channels:
        raise InputError(f"frames must have {channels} channel(s) for this pix_fmt, got shape {tuple(frames.shape)}")
    if not frames.is_floating_point():
        raise InputError(f"frames must be a float tensor in [0,1], got {frames.dtype}")
    if frames.shape[-2] < 8 or frames.shape[-1] < 8:
        raise InputError(f"frames must be at least 8x8 pixels, got {frames.shape[-1]}x{frames.shape[-2]}")
    if not bool(torch.isfinite(frames).all()):
        raise InputError("frames contain NaN or infinite values")


def _check_qp(qp: float | Tensor) -> float:
    if isinstance(qp, bool) or not isinstance(qp, (int, float, Tensor)) or (isinstance(qp, Tensor) and qp.numel() != 1):
        raise InputError(f"qp must be a number or a one-element tensor, got {qp!r}")
    q = float(qp)
    if not math.isfinite(q) or not _QP_RANGE[0] <= q <= _QP_RANGE[1]:
        raise InputError(f"qp={q} is out of range [{_QP_RANGE[0]:g}, {_QP_RANGE[1]:g}] (HEVC 8-bit QP)")
    return q


def _check_options(gop: int | None, flow: Tensor | None, frames: Tensor) -> None:
    if gop is not None and (isinstance(gop, bool) or not isinstance(gop, int) or gop < 1):
        raise InputError(f"gop must be None or an int >= 1, got {gop!r}")
    want = (frames.shape[0], 2, frames.shape[-2], frames.shape[-1])
    if flow is not None and (not isinstance(flow, Tensor) or tuple(flow.shape) != want):
        raise InputError(f"flow must be a {want} tensor (see estimate_flow), got {getattr(flow, 'shape', flow)}")


def video_proxy(
    frames: Tensor,
    qp: float | Tensor,
    *,
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    flow: Tensor | None = None,
    params: dict | None = None,
    differentiable: bool = False,
) -> VideoProxyOutput:
    """Differentiable proxy of an x265 constant-QP encode of one clip.

    Args:
        frames: ``(T,3,H,W)`` RGB (``(T,1,H,W)`` for ``gray``) float in [0,1]; values outside are clipped
            (identity gradient).
        qp: constant QP 0..51 of the P frames (number or one-element tensor; no gradient). For a CRF
            encode use :func:`crf_to_qp`.
        pix_fmt: ``"yuv420p"``, ``"yuv444p"`` or ``"gray"`` (true 4:0:0, the input luma coded as is).
        gop: an I frame every ``gop`` frames (None: only frame 0, as x265's default keyint of 250 gives
            for short clips).
        flow: precomputed :func:`estimate_flow` of ``frames`` (``(T,2,H,W)``), e.g. of the *source* clip when
            ``frames`` is a pre-processed version of it; None computes it from ``frames`` (no gradient).
        params: override the fitted parameters (fit scripts); default :func:`load_video_params`.
        differentiable: replace every rounding by the identity (for gradchecks).
    Returns:
        :class:`VideoProxyOutput` (decoded frames, bits per frame, intra CU map, rate features).
    Raises:
        InputError: wrong shape/dtype/channels, T=0, non-finite values, QP out of range, bad gop/flow.

    Example: ``out = video_proxy(torch.rand(4, 3, 64, 64), 32); out.bits.shape == (4,)``.
    """
    _check_pix_fmt(pix_fmt)
    _check_frames(frames, 1 if pix_fmt == "gray" else 3)
    q = _check_qp(qp)
    _check_options(gop, flow, frames)
    p = load_video_params(pix_fmt) if params is None else {**DEFAULT_PARAMS, **params}
    h, w = frames.shape[-2:]
    flow = estimate_flow(frames) if flow is None else flow.detach().to(frames)
    flow = pad_to_multiple(flow, _CU)
    rnd = not differentiable
    planes = _to_planes(pad_to_multiple(frames, _CU), pix_fmt, rnd)
    subs = [1] if pix_fmt == "gray" else [1, 2 if pix_fmt == "yuv420p" else 1]
    recs, feats, masks, types = _code_clip(planes, flow, q, p, subs, gop, rnd)
    out = _from_planes([torch.cat(r, 0) for r in zip(*recs)], pix_fmt, planes[0].shape[-2:], rnd)[..., :h, :w]
    features = torch.stack(feats)
    bits = _rate(features, types, q, p)
    intra_mask = torch.stack(masks) < 0.5
    return VideoProxyOutput(out, bits, intra_mask, features, tuple(types), q, pix_fmt, float(p["header_bits"]))


def _rate(features: Tensor, types: list[str], qp: float, p: dict) -> Tensor:
    """Bits per frame ``(T,)``: I frames and P frames have their own weights and per-QP correction."""
    w = torch.tensor([p["rate_weights_I"] if t == "I" else p["rate_weights_P"] for t in types],
                     dtype=features.dtype, device=features.device)  # fmt: skip
    scale = [_interp(qp, p["rate_qps"], p["rate_scale_intra" if t == "I" else "rate_scale_inter"]) for t in types]
    return (features * w).sum(1) * torch.tensor(scale, dtype=features.dtype, device=features.device)


def _code_clip(planes: list[Tensor], flow: Tensor, qp: float, p: dict, subs: list[int], gop: int | None,
               rnd: bool) -> tuple[list, list, list, list]:  # fmt: skip
    recs, feats, masks, types, ref = [], [], [], [], None
    for t in range(planes[0].shape[0]):
        intra = t == 0 or (gop is not None and t % gop == 0)
        cur = [pl[t : t + 1] for pl in planes]
        rec, f, m = _code_frame(cur, None if intra else ref, _cu_motion(flow[t]), qp, p, subs, rnd)
        recs.append(rec)
        feats.append(f)
        masks.append(m)
        types.append("I" if intra else "P")
        ref = rec
    return recs, feats, masks, types


class VideoProxy(nn.Module):
    """Module form of :func:`video_proxy` (QP, pixel format and GOP fixed at construction; QP overridable)."""

    def __init__(self, qp: float = 32.0, pix_fmt: str = "yuv420p", gop: int | None = None) -> None:
        super().__init__()
        _check_pix_fmt(pix_fmt)
        self.qp, self.pix_fmt, self.gop = _check_qp(qp), pix_fmt, gop

    def forward(self, frames: Tensor, qp: float | Tensor | None = None, flow: Tensor | None = None) -> VideoProxyOutput:
        return video_proxy(frames, self.qp if qp is None else qp, pix_fmt=self.pix_fmt, gop=self.gop, flow=flow)
