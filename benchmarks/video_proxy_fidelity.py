"""Fidelity of the video proxy against real x265 on the held-out clips (never used by the fit).

For every clip, pixel format and QP: the real encode (the project's ``hevc`` codec, libx265 preset medium,
constant QP, default GOP with B frames) and the proxy (I P P P ..., parameters from ``video_params.json``),
compared frame by frame (display order): PSNR (8-bit, peak 255), bits per frame (MP4 packet sizes), total
file bits; the same for a naive intra-only proxy (every frame coded as an I frame, ``gop=1``); the inter part
(frames 1..) against the real P and B frames; a few CRF encodes through :func:`crf_to_qp`; and unsharp-masked
copies of the clips (yuv420p, label ``yuv420p+usm``), what a sharpening pre-processor produces.

    OMP_NUM_THREADS=1 python benchmarks/video_proxy_fidelity.py --qps 22 27 32 37 --out runs/video_proxy_fidelity

Writes ``rows.csv`` (one row per clip/pix_fmt/qp/frame), ``summary.json`` and ``tables.md``
(pasted into docs/benchmarks_video_proxy.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_common import unsharp_mask
from neuralwrap.io.video import open_frames
from neuralwrap.proxies.video import crf_to_qp, video_proxy
from video_proxy_fit import Clip, gray_clip, psnr, real_encode, to_uint8

_TYPES = {"1": "I", "2": "P", "3": "B"}


def load_clips(root: Path, max_frames: int) -> list[tuple[str, np.ndarray]]:
    """The held-out clips as ``(name, (T,H,W,3) uint8)``."""
    specs = [("BasketballPass", open_frames(root / "basketballpass")),
             ("cars", open_frames(root / "cars_320x240_i420_30f.yuv", size=(320, 240), pix_fmt="yuv420p")),
             ("CiscoVT2people", open_frames(root / "CiscoVT2people_320x192_12fps_i420_9f.yuv", size=(320, 192),
                                            pix_fmt="yuv420p"))]  # fmt: skip
    out = []
    for name, src in specs:
        frames = []
        for f in src:
            frames.append(f)
            if len(frames) == max_frames:
                break
        out.append((name, np.stack(frames)))
    return out


def _proxy(clip: Clip, qp: float, pix_fmt: str, gop: int | None) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    with torch.no_grad():
        out = video_proxy(clip.tensor, qp, pix_fmt=pix_fmt, gop=gop, flow=clip.flow)
    dec = to_uint8(out.frames)
    ps = np.array([psnr(a, b) for a, b in zip(clip.frames, dec)])
    return out.bits.numpy().astype(np.float64), ps, out.header_bits, out.intra_mask.float().mean((1, 2)).numpy()


def clip_rows(name: str, clip: Clip, pix_fmt: str, qp: int, label: str | None = None) -> list[dict]:
    """One row per frame: real vs proxy vs intra-only proxy (``label`` names the variant in the pix_fmt column)."""
    real = real_encode(clip.frames, pix_fmt, qp=qp)
    bits, ps, header, intra = _proxy(clip, qp, pix_fmt, None)
    nbits, nps, _, _ = _proxy(clip, qp, pix_fmt, 1)
    types = [_TYPES.get(t.split(".")[-1], t) for t in real["types"]]
    return [{
        "clip": name, "pix_fmt": label or pix_fmt, "qp": qp, "frame": t, "real_type": types[t],
        "bits_real": real["frame_bits"][t], "bits_proxy": bits[t], "bits_intra_only": nbits[t],
        "psnr_real": real["psnr"][t], "psnr_proxy": ps[t], "psnr_intra_only": nps[t], "proxy_intra_cus": intra[t],
        "file_bits_real": real["file_bits"], "header_bits_proxy": header,
    } for t in range(len(clip.frames))]  # fmt: skip


def _group_stats(rows: list[dict]) -> dict:
    """Statistics of one (clip, pix_fmt, qp) group."""
    g = {k: np.array([r[k] for r in rows]) for k in rows[0] if k not in ("clip", "pix_fmt", "real_type")}
    file_real, header = rows[0]["file_bits_real"], rows[0]["header_bits_proxy"]
    inter = g["frame"] > 0
    out = {"frames": len(rows), "file_bits_real": float(file_real)}
    for m in ("proxy", "intra_only"):
        out[f"dpsnr_{m}"] = float(np.mean(g[f"psnr_{m}"] - g["psnr_real"]))
        out[f"median_abs_rel_frame_bits_{m}"] = float(np.median(np.abs(g[f"bits_{m}"] / g["bits_real"] - 1)))
        out[f"total_rel_err_{m}"] = float((g[f"bits_{m}"].sum() + header) / file_real - 1)
    out["inter_rel_err_proxy"] = float(g["bits_proxy"][inter].sum() / g["bits_real"][inter].sum() - 1)
    out["intra_rel_err_proxy"] = float(g["bits_proxy"][0] / g["bits_real"][0] - 1)
    if inter.sum() > 2:
        out["inter_log_corr"] = float(np.corrcoef(np.log(g["bits_proxy"][inter]), np.log(g["bits_real"][inter]))[0, 1])
    for kind in ("P", "B"):
        sel = np.array([r["real_type"] == kind for r in rows])
        if sel.any():
            out[f"median_ratio_proxy_over_real_{kind}"] = float(np.median(g["bits_proxy"][sel] / g["bits_real"][sel]))
    out["proxy_intra_cu_share_inter_frames"] = float(g["proxy_intra_cus"][inter].mean()) if inter.any() else 0.0
    return out


def summarise(rows: list[dict]) -> dict:
    """Per (pix_fmt, qp) over clips (mean of the clip statistics) and per clip."""
    groups: dict = defaultdict(list)
    for r in rows:
        groups[(r["clip"], r["pix_fmt"], r["qp"])].append(r)
    per = {f"{c}|{f}|{q}": _group_stats(v) for (c, f, q), v in sorted(groups.items())}
    agg: dict = defaultdict(list)
    for key, st in per.items():
        _, f, q = key.split("|")
        agg[f"{f}|{q}"].append(st)
        agg[f"{f}|all"].append(st)
    mean = {k: {m: float(np.mean([s[m] for s in v if m in s])) for m in v[0]} for k, v in agg.items()}
    return {"per_clip": per, "mean_over_clips": mean}


def crf_rows(clips: list[tuple[str, Clip]], crfs: list[int], pix_fmt: str) -> list[dict]:
    """Total bits / mean PSNR of real CRF encodes vs the proxy at :func:`crf_to_qp`."""
    rows = []
    for name, clip in clips:
        for crf in crfs:
            real = real_encode(clip.frames, pix_fmt, crf=crf)
            qp = crf_to_qp(crf, pix_fmt)
            bits, ps, header, _ = _proxy(clip, qp, pix_fmt, None)
            rows.append({"clip": name, "pix_fmt": pix_fmt, "crf": crf, "qp_eff": qp,
                         "total_rel_err": float((bits.sum() + header) / real["file_bits"] - 1),
                         "dpsnr": float(ps.mean() - real["psnr"].mean())})  # fmt: skip
    return rows


def _table(summary: dict, pix_fmts: list[str], qps: list[int]) -> str:
    head = ("| pix_fmt | QP | ΔPSNR proxy (dB) | ΔPSNR intra-only | frame bits med abs rel err: proxy | intra-only "
            "| total bits err: proxy | intra-only | I-frame bits err | inter bits err | corr log inter bits "
            "| proxy/real P | proxy/real B |")  # fmt: skip
    lines = [head, "|" + "---|" * 13]
    for f in pix_fmts:
        for q in [*qps, "all"]:
            s = summary["mean_over_clips"][f"{f}|{q}"]
            lines.append(
                f"| {f} | {q} | {s['dpsnr_proxy']:+.2f} | {s['dpsnr_intra_only']:+.2f} "
                f"| {s['median_abs_rel_frame_bits_proxy']:.0%} | {s['median_abs_rel_frame_bits_intra_only']:.0%} "
                f"| {s['total_rel_err_proxy']:+.0%} | {s['total_rel_err_intra_only']:+.0%} "
                f"| {s['intra_rel_err_proxy']:+.0%} | {s['inter_rel_err_proxy']:+.0%} | {s.get('inter_log_corr', float('nan')):.2f} "
                f"| {s.get('median_ratio_proxy_over_real_P', float('nan')):.2f} "
                f"| {s.get('median_ratio_proxy_over_real_B', float('nan')):.2f} |")  # fmt: skip
    return "\n".join(lines)


def _clip_table(summary: dict) -> str:
    lines = ["| clip | pix_fmt | QP | ΔPSNR (dB) | total bits err | I-frame err | inter err | corr | intra CUs in P |",
             "|" + "---|" * 9]  # fmt: skip
    for key, s in summary["per_clip"].items():
        c, f, q = key.split("|")
        lines.append(f"| {c} | {f} | {q} | {s['dpsnr_proxy']:+.2f} | {s['total_rel_err_proxy']:+.0%} "
                     f"| {s['intra_rel_err_proxy']:+.0%} | {s['inter_rel_err_proxy']:+.0%} "
                     f"| {s.get('inter_log_corr', float('nan')):.2f} | {s['proxy_intra_cu_share_inter_frames']:.0%} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/video")
    ap.add_argument("--qps", type=int, nargs="+", default=[22, 27, 32, 37])
    ap.add_argument("--pix-fmts", nargs="+", default=["yuv420p", "yuv444p", "gray"])
    ap.add_argument("--crfs", type=int, nargs="*", default=[23, 28, 33])
    ap.add_argument("--max-frames", type=int, default=30)
    ap.add_argument(
        "--usm", default="1.0:1.0", help="unsharp-mask AMOUNT:SIGMA variant of the clips (yuv420p); '' = none"
    )
    ap.add_argument("--out", default="runs/video_proxy_fidelity")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    raw = load_clips(Path(args.data), args.max_frames)
    rows, crf = [], []
    for fmt in args.pix_fmts:
        clips = [(n, Clip(n, gray_clip(f) if fmt == "gray" else f)) for n, f in raw]
        for name, clip in clips:
            for qp in args.qps:
                rows += clip_rows(name, clip, fmt, qp)
            print(f"{fmt} {name} done ({time.time() - t0:.0f}s)", flush=True)
        crf += crf_rows(clips, args.crfs, fmt) if fmt == "yuv420p" else []
    if args.usm:  # what a sharpening pre-processor produces: is the proxy still honest? (DESIGN.md)
        amount, sigma = (float(v) for v in args.usm.split(":"))
        for name, frames in raw:
            clip = Clip(name, np.stack([unsharp_mask(f, amount, sigma) for f in frames]))
            for qp in args.qps:
                rows += clip_rows(name, clip, "yuv420p", qp, "yuv420p+usm")
        print(f"usm done ({time.time() - t0:.0f}s)", flush=True)
    with open(out / "rows.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    summary = summarise(rows)
    summary["crf"] = crf
    summary["env"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "seconds": round(time.time() - t0),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    crf_md = "\n".join(["| clip | CRF | effective QP | total bits err | ΔPSNR (dB) |", "|---|---|---|---|---|"]
                       + [f"| {r['clip']} | {r['crf']} | {r['qp_eff']:.1f} | {r['total_rel_err']:+.0%} | {r['dpsnr']:+.2f} |"
                          for r in crf])  # fmt: skip
    labels = [*args.pix_fmts, *(["yuv420p+usm"] if args.usm else [])]
    (out / "tables.md").write_text(_table(summary, labels, args.qps) + "\n\n" + _clip_table(summary)
                                   + "\n\n" + crf_md + "\n")  # fmt: skip
    print((out / "tables.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
