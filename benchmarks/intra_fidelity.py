"""Intra proxy (uniform-step DCT) vs the real heif / avif codecs: PSNR and bits per image and quality.

Used by ``proxy_fidelity.py --intra``; the quality -> step tables and rate weights were fitted on training
crops (``proxy_fit.py --what intra``), never on Kodak.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from _proxy_common import encode_decode, load_rgb, psnr
from neuralwrap.proxies.intra import intra_proxy, intra_rate

__all__ = ["intra_rows", "intra_summary"]


def intra_rows(paths: list[Path], args: argparse.Namespace) -> list[dict]:
    """One row per (image, codec, quality), 4:2:0."""
    rows = []
    for path in paths:
        img = load_rgb(path)
        x = torch.from_numpy(np.array(img.transpose(2, 0, 1)))[None].float() / 255
        for codec in getattr(args, "intra_codecs", ["heif", "avif"]):
            for q in args.intra_qualities:
                data, dec = encode_decode(img, codec, q, "420")
                with torch.no_grad():
                    out = intra_proxy(x, q, codec=codec)
                    bits = float(intra_rate(out, codec)[0])
                rec = np.clip(np.rint(out.image[0].permute(1, 2, 0).numpy() * 255), 0, 255).astype(np.uint8)
                rows.append({
                    "image": path.stem, "codec": codec, "quality": q, "psnr_real": psnr(img, dec),
                    "psnr_proxy": psnr(img, rec), "bits_real": 8 * len(data), "bits_proxy": bits,
                })  # fmt: skip
        print(f"intra {path.stem} done", flush=True)
    return rows


def _stats(rows: list[dict]) -> dict:
    d = np.array([r["psnr_proxy"] - r["psnr_real"] for r in rows])
    rel = np.array([r["bits_proxy"] / r["bits_real"] - 1 for r in rows])
    return {
        "n": len(rows), "mean_abs_dpsnr_db": float(np.abs(d).mean()), "mean_dpsnr_db": float(d.mean()),
        "median_abs_rel_bits": float(np.median(np.abs(rel))), "median_rel_bits": float(np.median(rel)),
    }  # fmt: skip


def intra_summary(rows: list[dict]) -> dict:
    """Per codec: overall and per-quality statistics."""
    out: dict = {"overall": {}}
    by_codec: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_codec[r["codec"]].append(r)
    for codec, rs in by_codec.items():
        per_q: dict[int, list[dict]] = defaultdict(list)
        for r in rs:
            per_q[r["quality"]].append(r)
        out["overall"][codec] = _stats(rs)
        out[codec] = {q: _stats(v) for q, v in sorted(per_q.items())}
    return out
