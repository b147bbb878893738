"""Fit the video proxy (``neuralwrap.proxies.video``) to real x265 encodes of synthetic camera-motion clips.

Training clips are made from the training photos (``../shared/data/train``, never Kodak, never the held-out
video clips): a crop window moves over a photo along a smooth random trajectory (pan, zoom, small rotation),
rendered with bicubic warps, plus optional temporal noise (independent per pixel, channel and frame). Each clip is
encoded with the project's ``hevc`` codec (libx265, preset medium, default GOP with B frames) at constant QP;
per-frame bits are the MP4 packet sizes (display order), the file's remaining bytes are the header.

Fitted, per pixel format (yuv420p, yuv444p, gray):

1. step scales per QP: bisection in log(scale) so the proxy's mean PSNR equals x265's, first on frame 0
   (``intra_scale``), then on frames 1.. (``inter_scale``);
2. rate weights, NNLS on relative error, chroma weights tied to luma weights: I-frame weights on frame 0, P-frame weights on each clip's sum over
   frames 1.. (x265's inter frames mix P and B frames; the proxy codes P frames only, so only sums match);
   done twice (the intra/inter choice uses the P weights); then per-QP correction factors (geometric mean);
3. header bits: median file bytes minus packet bytes;
4. CRF -> effective QP: the QP whose real total bits (log-interpolated between the QP encodes) equal the
   CRF encode's, median over clips.

    OMP_NUM_THREADS=1 python benchmarks/video_proxy_fit.py --data ../shared/data/train --clips 12 --frames 8 \
        --size 256 192 --qps 17 22 27 32 37 42 --out src/neuralwrap/proxies/video_params.json
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import math
import sys
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from scipy.optimize import nnls

from neuralwrap.codecs import get_codec
from neuralwrap.proxies.video import (
    DEFAULT_PARAMS,
    VIDEO_FEATURE_NAMES,
    estimate_flow,
    video_proxy,
)
from neuralwrap.sandwich.training.video_data import (  # the clip maker lives in the library
    gray_clip,
    make_clip,
)

__all__ = ["Clip", "gray_clip", "make_clip", "psnr", "real_encode", "to_tensor", "to_uint8"]


# -- clips ---------------------------------------------------------------------------------------------------
class Clip:
    """A clip as ``(T,H,W,C)`` uint8 (RGB, or C=1 gray) plus its flow, computed once."""

    def __init__(self, name: str, frames: np.ndarray) -> None:
        self.name, self.frames = name, frames
        self.tensor = to_tensor(frames)
        self.flow = estimate_flow(self.tensor)


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``(T,H,W,C)`` uint8 -> ``(T,C,H,W)`` float32 in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))).float() / 255.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """``(T,C,H,W)`` [0,1] -> ``(T,H,W,C)`` uint8."""
    return np.clip(np.rint(x.detach().permute(0, 2, 3, 1).numpy() * 255), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB, peak 255) over all pixels and channels of two uint8 arrays."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def real_encode(frames: np.ndarray, pix_fmt: str, *, qp: int | None = None, crf: int | None = None) -> dict:
    """x265 via the project's ``hevc`` codec -> ``{file_bits, frame_bits (T,), types, psnr (T,)}`` (display order)."""
    codec = get_codec("hevc")
    kw = {"qp": qp} if qp is not None else {"crf": crf}
    data = codec.encode(list(frames), pix_fmt=pix_fmt, **kw)
    with av.open(io.BytesIO(data)) as c:
        pk = sorted((p.pts, p.size) for p in c.demux(c.streams.video[0]) if p.size)
    with av.open(io.BytesIO(data)) as c:
        types = [str(f.pict_type).split(".")[-1] for f in c.decode(video=0)]
    dec = codec.decode(data)
    bits = np.array([8.0 * s for _, s in pk])
    ps = np.array([psnr(a, b) for a, b in zip(frames, dec)])
    return {"file_bits": 8.0 * len(data), "frame_bits": bits, "types": types, "psnr": ps}


def _type_name(t: str) -> str:
    return {"1": "I", "2": "P", "3": "B"}.get(t, t[:1])


def proxy_run(clip: Clip, qp: float, pix_fmt: str, params: dict, frames: int | None = None) -> dict:
    """Proxy on ``clip`` (first ``frames`` frames) -> ``{bits (T,), psnr (T,), features (T,F), intra}``."""
    x, fl = clip.tensor, clip.flow
    if frames is not None:
        x, fl = x[:frames], fl[:frames]
    with torch.no_grad():
        out = video_proxy(x, qp, pix_fmt=pix_fmt, flow=fl, params=params)
    dec = to_uint8(out.frames)
    ps = np.array([psnr(a, b) for a, b in zip(clip.frames[: len(dec)], dec)])
    return {"bits": out.bits.numpy().astype(np.float64), "psnr": ps, "features": out.features.numpy().astype(np.float64),
            "intra": out.intra_mask.float().mean((1, 2)).numpy()}  # fmt: skip


# -- fitting -------------------------------------------------------------------------------------------------
def _bisect_scale(f, target: float, lo: float = 0.4, hi: float = 2.0, iters: int = 9) -> float:
    """Scale in [lo, hi] (bisection in log) where the decreasing function ``f(scale)`` (PSNR) equals target;
    clamped at the ends (at QP 42 the proxy's P frames cannot get as bad as x265's, see the docs)."""
    a, b = math.log(lo), math.log(hi)
    for _ in range(iters):
        m = 0.5 * (a + b)
        if f(math.exp(m)) > target:
            a = m
        else:
            b = m
    return math.exp(0.5 * (a + b))


def _with_scale(params: dict, qp: float, kind: str, scale: float) -> dict:
    """Copy of ``params`` with a one-entry step table at ``qp`` (the other kind's scale kept or 1)."""
    p = json.loads(json.dumps(params))
    other = "inter" if kind == "intra" else "intra"
    keep = p[f"{other}_scale"] if len(p["qps"]) == 1 else [1.0]
    p["qps"], p[f"{kind}_scale"], p[f"{other}_scale"] = [qp], [scale], keep
    return p


def _mean_psnr(clips: list[Clip], qp: float, pix_fmt: str, params: dict, kind: str) -> float:
    """Mean proxy PSNR of frame 0 (``kind="intra"``, coded alone) or of frames 1.. (``"inter"``)."""
    if kind == "intra":
        return float(np.mean([proxy_run(c, qp, pix_fmt, params, 1)["psnr"][0] for c in clips]))
    return float(np.mean([proxy_run(c, qp, pix_fmt, params)["psnr"][1:].mean() for c in clips]))


def fit_steps(clips: list[Clip], reals: dict, pix_fmt: str, qps: list[int], params: dict) -> tuple[list, list]:
    """Per-QP intra and inter step scales (PSNR matching)."""
    intra, inter = [], []
    for qp in qps:
        r = [reals[(c.name, qp)] for c in clips]
        t_i = float(np.mean([x["psnr"][0] for x in r]))
        si = _bisect_scale(
            lambda s, q=qp: _mean_psnr(clips, q, pix_fmt, _with_scale(params, q, "intra", s), "intra"), t_i
        )
        t_p = float(np.mean([x["psnr"][1:].mean() for x in r]))
        base = _with_scale(params, qp, "intra", si)
        sp = _bisect_scale(
            lambda s, q=qp, b=base: _mean_psnr(clips, q, pix_fmt, _with_scale(b, q, "inter", s), "inter"), t_p
        )
        intra.append(si)
        inter.append(sp)
        print(f"  {pix_fmt} qp {qp}: intra scale {si:.3f} (real I PSNR {t_i:.2f}), inter scale {sp:.3f} "
              f"(real PSNR {t_p:.2f})", flush=True)  # fmt: skip
    return intra, inter


def _nnls_rel(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative weights minimising the relative error ``(a @ w) / y - 1``."""
    w, _ = nnls(a / y[:, None], np.ones(len(y)))
    return w


def _geo_scales(pred: np.ndarray, real: np.ndarray, qp_of_row: np.ndarray, qps: list[int]) -> list[float]:
    return [float(np.exp(np.mean(np.log(real[qp_of_row == q] / np.maximum(pred[qp_of_row == q], 1.0))))) for q in qps]


def _nnls_tied(a: np.ndarray, y: np.ndarray, start: int) -> np.ndarray:
    """:func:`_nnls_rel` on columns ``start..``, with each chroma weight tied to its luma weight (columns
    ``start+0/+1`` luma size/nonzero, ``start+2/+3`` chroma): left free, NNLS gives chroma a zero weight when
    chroma bits correlate with luma's, and a pre-processor would then get chroma detail for free."""
    b = a[:, start:].copy()
    b[:, 0:2] += b[:, 2:4]
    b[:, 2:4] = 0.0
    w = _nnls_rel(b, y)
    w[2:4] = w[0:2]
    return w


def fit_rate(clips: list[Clip], reals: dict, pix_fmt: str, qps: list[int], params: dict) -> dict:
    """I-frame weights on frame 0, P-frame weights on the per-clip sums over frames 1.. (the real inter frames
    mix P and B frames, so single frames cannot be matched; their sum can), then per-QP correction factors."""
    fi, yi, fp, yp, rq = [], [], [], [], []
    for qp in qps:
        for c in clips:
            pr, real = proxy_run(c, qp, pix_fmt, params), reals[(c.name, qp)]
            fi.append(pr["features"][0])
            yi.append(real["frame_bits"][0])
            fp.append(pr["features"][1:].sum(0))
            yp.append(real["frame_bits"][1:].sum())
            rq.append(qp)
    fi, yi, fp, yp, rq = (np.array(v) for v in (fi, yi, fp, yp, rq))
    wi = _nnls_tied(fi, yi, 0)
    # intra CUs in P frames are priced like those of I frames (they are rare: a free fit would be unstable)
    n_intra = 5
    y_inter = np.maximum(yp - fp[:, :n_intra] @ wi[:n_intra], 0.1 * yp)
    wp = np.concatenate([wi[:n_intra], _nnls_tied(fp, y_inter, n_intra)])
    si, sp = _geo_scales(fi @ wi, yi, rq, qps), _geo_scales(fp @ wp, yp, rq, qps)
    ei = np.abs(fi @ wi * np.interp(rq, qps, si) / yi - 1)
    ep = np.abs(fp @ wp * np.interp(rq, qps, sp) / yp - 1)
    print(
        f"  {pix_fmt} rate fit: median |rel err| I frame {np.median(ei):.3f}, inter sum {np.median(ep):.3f}", flush=True
    )
    return {"rate_weights_I": wi.tolist(), "rate_weights_P": wp.tolist(), "rate_qps": [float(q) for q in qps],
            "rate_scale_intra": si, "rate_scale_inter": sp, "train_median_abs_rel_err": {"I": float(np.median(ei)),
            "inter_sum": float(np.median(ep))}}  # fmt: skip


def fit_crf(clips: list[Clip], reals: dict, pix_fmt: str, qps: list[int], crfs: list[int]) -> dict:
    """CRF -> the QP with the same real total bits (log-linear interpolation between QP encodes), median."""
    out = []
    for crf in crfs:
        eff = []
        for c in clips:
            frames = c.frames
            bits = real_encode(frames, pix_fmt, crf=crf)["frame_bits"].sum()
            lb = np.log([reals[(c.name, q)]["frame_bits"].sum() for q in qps])  # decreasing in qp
            eff.append(float(np.interp(-np.log(bits), -lb, qps)))
        out.append(float(np.median(eff)))
        print(f"  {pix_fmt} crf {crf} -> effective qp {out[-1]:.2f}", flush=True)
    return {"crfs": crfs, "qps": out}


def _load_clips(args: argparse.Namespace) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(args.seed)
    photos = sorted(Path(args.data).rglob("*.png"))
    if not photos:
        raise SystemExit(f"no training photos under {args.data}")
    out = []
    for i in rng.choice(len(photos), args.clips, replace=False):
        with Image.open(photos[i]) as im:
            photo = np.asarray(im.convert("RGB"))
        out.append((photos[i].stem, make_clip(photo, args.frames, tuple(args.size), rng)))
    return out


def fit_pix_fmt(raw: list[tuple[str, np.ndarray]], pix_fmt: str, args: argparse.Namespace) -> tuple[dict, dict]:
    clips = [Clip(f"{n}_{i}", gray_clip(f) if pix_fmt == "gray" else f) for i, (n, f) in enumerate(raw)]
    reals = {(c.name, qp): real_encode(c.frames, pix_fmt, qp=qp) for c in clips for qp in args.qps}
    params = dict(DEFAULT_PARAMS)
    if args.steps_from:  # reuse the step tables of an earlier fit
        prev = json.loads(Path(args.steps_from).read_text())["pix_fmts"][pix_fmt]
        intra, inter = prev["intra_scale"], prev["inter_scale"]
    else:
        intra, inter = fit_steps(clips, reals, pix_fmt, args.qps, params)
    params.update({"qps": [float(q) for q in args.qps], "intra_scale": intra, "inter_scale": inter})
    for _ in range(2):  # the intra/inter choice depends on the weights
        params.update(fit_rate(clips, reals, pix_fmt, args.qps, params))
    params["header_bits"] = float(np.median([r["file_bits"] - r["frame_bits"].sum() for r in reals.values()]))
    crf = fit_crf(clips, reals, pix_fmt, args.qps, args.crfs) if args.crfs else None
    if crf is None and args.steps_from:
        crf = json.loads(Path(args.steps_from).read_text()).get("crf_to_qp", {}).get(pix_fmt)
    real_types = sorted({"".join(_type_name(t) for t in r["types"]) for r in reals.values()})
    fitted = {k: params[k] for k in ("qps", "intra_scale", "inter_scale", "rate_weights_I", "rate_weights_P",
                                     "rate_qps", "rate_scale_intra", "rate_scale_inter", "header_bits",
                                     "train_median_abs_rel_err")}  # fmt: skip
    fitted["real_frame_types"] = real_types
    return fitted, crf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/train")
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, nargs=2, default=[256, 192], metavar=("W", "H"))
    ap.add_argument("--qps", type=int, nargs="+", default=[17, 22, 27, 32, 37, 42])
    ap.add_argument("--crfs", type=int, nargs="*", default=[18, 23, 28, 33, 38])
    ap.add_argument("--pix-fmts", nargs="+", default=["yuv420p", "yuv444p", "gray"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps-from", default=None, help="take the step tables from this earlier fit (same --qps)")
    ap.add_argument("--out", default="src/neuralwrap/proxies/video_params.json")
    args = ap.parse_args(argv)
    if "kodak" in str(args.data).lower():
        raise SystemExit("never fit on Kodak")
    t0 = time.time()
    raw = _load_clips(args)
    result: dict = {"format_version": 1, "features": list(VIDEO_FEATURE_NAMES), "pix_fmts": {}, "crf_to_qp": {}}
    for fmt in args.pix_fmts:
        fitted, crf = fit_pix_fmt(raw, fmt, args)
        result["pix_fmts"][fmt] = fitted
        if crf:
            result["crf_to_qp"][fmt] = crf
    result["provenance"] = {
        "command": "python benchmarks/video_proxy_fit.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "data": f"{args.clips} synthetic camera-motion clips ({args.frames} frames, {args.size[0]}x{args.size[1]}) "
                f"from photos under {args.data}, seed {args.seed}",
        "encoder": "neuralwrap hevc codec: libx265 preset medium, default GOP (B frames), constant QP / CRF",
        "date": _dt.date.today().isoformat(), "seconds": round(time.time() - t0, 1),
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
