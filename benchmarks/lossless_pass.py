"""What the lossless mozjpeg pass (``JpegSettings.lossless_pass``, on by default) saves, and BD-rates with and without it.

    OMP_NUM_THREADS=1 python benchmarks/lossless_pass.py --kodak ../shared/data/kodak --kodak-limit 8 \
        --validation runs/validation/photos --out runs/lossless_pass

For each image set and quality, four curves with the real codec and real bytes:

- ``jpeg420opt``: plain JPEG 4:2:0 with optimised Huffman tables, no pass (libjpeg-turbo's file; the anchor so far);
- ``jpeg420opt+pass``: the same file after the pass (what the package now writes for plain JPEG);
- ``jpeg420``: the shipped ``jpeg420`` sandwich, its file after the pass (the default);
- ``jpeg420-nopass``: the same sandwich file without the pass.

The pass never changes pixels: every pair of files is decoded and compared (an error if they differ), so each
pair shares its PSNR. Reports the mean size saving per quality, the BD-rate of the sandwich against both plain
anchors, and the time of the pass and of decoding (baseline vs progressive). Writes ``records.csv``,
``summary.json`` and ``table.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.metrics.psnr import psnr
from neuralwrap.rd.sweep import RDRecord, bd_vs_anchor, load_images, write_csv
from neuralwrap.sandwich.inference.codec import load_pretrained
from neuralwrap.sandwich.inference.fileformat import SandwichTag, metadata_settings

QUALITIES = (5, 10, 15, 20, 30, 40, 50, 60, 75, 90)
SAVING_Q = (10, 30, 50, 75)
PLAIN, PLAIN_PASS, MODEL, MODEL_NOPASS = "jpeg420opt", "jpeg420opt+pass", "jpeg420", "jpeg420-nopass"


def _record(label: str, name: str, img: np.ndarray, q: int, data: bytes, db: float) -> RDRecord:
    h, w = img.shape[:2]
    nan = float("nan")
    return RDRecord(label, name, h, w, float(q), len(data), 8.0 * len(data) / (h * w), db, nan, nan, nan)


def _pair(img: np.ndarray, q: int, **settings: Any) -> tuple[bytes, bytes]:
    """The JPEG of ``img`` with and without the pass; raises if their decoded pixels differ."""
    c = get_codec("jpeg")
    with_pass = c.encode(img, quality=q, **settings)
    without = c.encode(img, quality=q, lossless_pass=False, **settings)
    if not np.array_equal(c.decode(with_pass), c.decode(without)):
        raise AssertionError(f"the lossless pass changed the pixels (q={q})")
    return with_pass, without


def sweep(images: dict[str, np.ndarray], qualities: tuple[int, ...]) -> list[RDRecord]:
    """The four curves of the module doc over ``images``."""
    from tqdm import tqdm

    sc = load_pretrained(MODEL)
    c = get_codec("jpeg")
    records: list[RDRecord] = []
    for name, img in tqdm(images.items(), desc="images", unit="img"):
        for q in qualities:
            a, b = _pair(img, q, subsampling="420", optimize=True)
            db = psnr(img, c.decode(a))
            records += [_record(PLAIN_PASS, name, img, q, a, db), _record(PLAIN, name, img, q, b, db)]
            code = sc.code_image(img, q)
            meta = metadata_settings("jpeg", SandwichTag(sc.name, sc.version, q))
            a, b = _pair(code, q, subsampling=sc.config.subsampling, **meta)
            db = psnr(img, sc.decode(a))
            records += [_record(MODEL, name, img, q, a, db), _record(MODEL_NOPASS, name, img, q, b, db)]
    return records


def savings(records: list[RDRecord], label: str, base: str, qualities: tuple[int, ...]) -> dict[str, float]:
    """``{quality: mean over images of 1 − bytes(label)/bytes(base)}`` in %, plus ``"all"`` over the given qualities."""
    by = {(r.image, r.quality): r.bytes for r in records if r.label == base}
    out: dict[str, float] = {}
    every = []
    for q in qualities:
        if not any(r.quality == q for r in records):
            continue
        s = [100.0 * (1.0 - r.bytes / by[(r.image, r.quality)]) for r in records if r.label == label and r.quality == q]
        out[str(q)] = float(np.mean(s))
        every += s
    out["all"] = float(np.mean(every))
    return out


def timing(images: dict[str, np.ndarray], n: int = 4, q: int = 50, repeat: int = 5) -> dict[str, float]:
    """Median ms per image on the first ``n`` images at quality ``q``: encode without and with the pass, decode of
    the baseline and of the progressive file."""
    c = get_codec("jpeg")

    def best(fn: Any) -> float:
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return 1e3 * float(np.median(ts))

    rows = []
    for img in list(images.values())[:n]:
        a, b = _pair(img, q, subsampling="420", optimize=True)
        rows.append(
            [
                best(partial(c.encode, img, quality=q, subsampling="420", lossless_pass=False)),
                best(partial(c.encode, img, quality=q, subsampling="420")),
                best(partial(c.decode, b)),
                best(partial(c.decode, a)),
            ]
        )
    m = np.mean(rows, axis=0)
    return {"encode_ms": m[0], "encode_pass_ms": m[1], "decode_baseline_ms": m[2], "decode_progressive_ms": m[3]}


def summarize_set(records: list[RDRecord]) -> dict[str, Any]:
    """Savings and BD-rates of one image set."""
    return {
        "n_images": len({r.image for r in records}),
        "saving_plain_pct": savings(records, PLAIN_PASS, PLAIN, SAVING_Q),
        "saving_sandwich_pct": savings(records, MODEL, MODEL_NOPASS, SAVING_Q),
        "saving_plain_all_q_pct": savings(records, PLAIN_PASS, PLAIN, QUALITIES)["all"],
        "bd": {
            "jpeg420 vs jpeg420opt": bd_vs_anchor(records, MODEL, PLAIN),
            "jpeg420 vs jpeg420opt+pass": bd_vs_anchor(records, MODEL, PLAIN_PASS),
            "jpeg420-nopass vs jpeg420opt": bd_vs_anchor(records, MODEL_NOPASS, PLAIN),
            "jpeg420opt+pass vs jpeg420opt": bd_vs_anchor(records, PLAIN_PASS, PLAIN),
        },
    }


def table(summary: dict[str, Any]) -> str:
    """The markdown tables of docs/BENCHMARKS.md."""
    qs = [str(q) for q in SAVING_Q]
    lines = [
        "| set | file | " + " | ".join(f"q {q}" for q in qs) + " |",
        "|---|---|" + "---|" * len(qs),
    ]
    for name, s in summary["sets"].items():
        for what, key in (
            ("plain JPEG 4:2:0 (opt)", "saving_plain_pct"),
            ("`jpeg420` sandwich", "saving_sandwich_pct"),
        ):
            lines.append(
                f"| {name} ({s['n_images']}) | {what} | "
                + " | ".join(f"−{s[key].get(q, float('nan')):.2f}%" for q in qs)
                + " |"
            )
    lines += [
        "",
        "| set | BD-rate of | vs | avg / img (n) | BD-PSNR avg |",
        "|---|---|---|---|---|",
    ]
    for name, s in summary["sets"].items():
        for pair, bd in s["bd"].items():
            lab, anchor = pair.split(" vs ")
            lines.append(
                f"| {name} | `{lab}` | `{anchor}` | {bd['bd_rate_avg']:+.1f}% / {bd['bd_rate_img']:+.1f}% ({bd['n_img']}) "
                f"| {bd['bd_psnr_avg']:+.2f} dB |"
            )
    t = summary["timing_ms"]
    lines += [
        "",
        f"Time per 768×512 Kodak image at q 50 (ms, mean of {summary['timing_images']} images, median of 5): encode "
        f"{t['encode_ms']:.1f} → {t['encode_pass_ms']:.1f} with the pass; decode {t['decode_baseline_ms']:.1f} "
        f"(baseline) → {t['decode_progressive_ms']:.1f} (progressive).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", default="../shared/data/kodak")
    ap.add_argument("--kodak-limit", type=int, default=8, help="first N Kodak images (0 = all)")
    ap.add_argument("--validation", default="runs/validation/photos", help="validation photos (make_validation.py)")
    ap.add_argument("--out", default="runs/lossless_pass")
    ap.add_argument("--qualities", type=int, nargs="+", default=list(QUALITIES))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    kodak = load_images(args.kodak)
    if args.kodak_limit:
        kodak = dict(list(kodak.items())[: args.kodak_limit])
    sets = {"Kodak": kodak}
    if Path(args.validation).is_dir():
        sets["validation"] = load_images(args.validation)
    summary: dict[str, Any] = {"date": date.today().isoformat(), "machine": platform.machine(), "sets": {}}
    every: list[RDRecord] = []
    for name, images in sets.items():
        recs = sweep(images, tuple(args.qualities))
        every += [RDRecord(**{**r.__dict__, "image": f"{name}/{r.image}"}) for r in recs]
        summary["sets"][name] = summarize_set(recs)
    summary["timing_images"] = 4
    summary["timing_ms"] = timing(kodak, n=4)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(every, out / "records.csv")
    atomic_write_bytes(out / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    md = table(summary)
    atomic_write_bytes(out / "table.md", md.encode())
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
