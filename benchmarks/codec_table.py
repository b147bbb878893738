"""Plain-codec RD table on Kodak: every image codec variant, PSNR at fixed bpp, BD-rate vs JPEG anchors.

Usage (from the repository root)::

    python benchmarks/codec_table.py --data ../shared/data/kodak --out runs/codec_table
    python benchmarks/codec_table.py --codecs jpeg420 jpeg420opt webp --qualities webp=0,10,50,90

Writes ``<out>/records.csv`` (one row per image x quality), ``<out>/summary.json``, ``<out>/rd_kodak.png`` and
``<out>/table.md``. Per-variant CSVs are cached in ``<out>/per_codec/`` and reused unless ``--force``.
Conventions follow BASELINES.md: bpp from real file bytes, PSNR on 8-bit RGB, per-image curves read off at the
target bpp (linear in log-bpp) and averaged; BD-rate per image then averaged ("img") and on the averaged curve
("avg"); piecewise-cubic (PCHIP) Bjøntegaard. Names as in BASELINES.md: ``jpegXXX`` = Pillow defaults
(no Huffman optimisation), ``jpegXXXopt`` = ``optimize=True``, both without the package's lossless mozjpeg pass;
``jpegXXXpass`` = ``optimize=True`` plus that pass (the package default); ``jpeg400*`` code the BT.601 luma only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.luma import luma_uint8
from neuralwrap.rd.plots import plot_rd
from neuralwrap.rd.sweep import (
    RDRecord,
    load_images,
    rd_sweep,
    read_csv,
    summarize,
    write_csv,
)

log = logging.getLogger("codec_table")

JPEG_Q = [2, 4, 6, 8, 10, 15, 20, 30, 40, 50, 60, 75, 85, 90, 95]
TARGETS = (0.25, 0.5, 0.75, 1.0, 1.5)
ANCHORS = ("jpeg420", "jpeg420opt")


@dataclass
class Variant:
    """One row of the table: a registered codec with fixed settings and its quality grid."""

    codec: str
    """Registered codec name."""
    qualities: list[int]
    """Quality grid (chosen to cover ~0.2-1.6 bpp on every Kodak image)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Fixed codec settings."""
    speed_q: int = 75
    """Quality at which the enc+dec speed is reported."""
    prepare: Callable[[np.ndarray], np.ndarray] | None = None
    """Transform before encoding (grayscale codecs); PSNR is measured against the colour original."""


_NOPASS = {"lossless_pass": False}  # the variants of BASELINES.md: libjpeg-turbo's own output
VARIANTS: dict[str, Variant] = {
    "jpeg420": Variant("jpeg", JPEG_Q, {"subsampling": "420", "optimize": False, **_NOPASS}),
    "jpeg420opt": Variant("jpeg", JPEG_Q, {"subsampling": "420", "optimize": True, **_NOPASS}),
    "jpeg420pass": Variant("jpeg", JPEG_Q, {"subsampling": "420", "optimize": True, "lossless_pass": True}),
    "jpeg444": Variant("jpeg", JPEG_Q, {"subsampling": "444", "optimize": False, **_NOPASS}),
    "jpeg444opt": Variant("jpeg", JPEG_Q, {"subsampling": "444", "optimize": True, **_NOPASS}),
    "jpeg444pass": Variant("jpeg", JPEG_Q, {"subsampling": "444", "optimize": True, "lossless_pass": True}),
    "jpeg400": Variant("jpeg", JPEG_Q, {"subsampling": "400", "optimize": False, **_NOPASS}, prepare=luma_uint8),
    "jpeg400opt": Variant("jpeg", JPEG_Q, {"subsampling": "400", "optimize": True, **_NOPASS}, prepare=luma_uint8),
    "webp": Variant("webp", [0, 5, 10, 20, 30, 45, 60, 75, 85, 90, 95]),
    "avif": Variant("avif", [10, 20, 30, 40, 50, 60, 70, 80, 90], speed_q=60),
    "heif": Variant("heif", [5, 10, 18, 25, 32, 40, 50, 60, 70], speed_q=60),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/kodak"), help="folder of test images")
    p.add_argument("--out", type=Path, default=Path("runs/codec_table"), help="output folder")
    p.add_argument("--codecs", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), help="variants to run")
    p.add_argument(
        "--qualities", nargs="*", default=[], metavar="VARIANT=Q1,Q2,...", help="override a variant's quality grid"
    )
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0 = all)")
    p.add_argument("--force", action="store_true", help="re-run variants whose per-codec CSV exists")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    return p.parse_args(argv)


def _grids(overrides: Sequence[str]) -> dict[str, list[int]]:
    out = {}
    for item in overrides:
        name, _, qs = item.partition("=")
        if name not in VARIANTS or not qs:
            raise SystemExit(f"--qualities: expected VARIANT=Q1,Q2,... with VARIANT in {list(VARIANTS)}, got {item!r}")
        out[name] = [int(q) for q in qs.split(",")]
    return out


def run_variants(args: argparse.Namespace) -> list[RDRecord]:
    """Sweep each requested variant (or reuse its cached CSV); anchors are always included."""
    images = load_images(args.data)
    if args.limit:
        images = dict(list(images.items())[: args.limit])
    grids = _grids(args.qualities)
    names = list(dict.fromkeys([*ANCHORS, *args.codecs]))
    records: list[RDRecord] = []
    for name in names:
        cache = args.out / "per_codec" / f"{name}.csv"
        if cache.exists() and not args.force:
            log.info("%s: reusing %s", name, cache)
            records += read_csv(cache)
            continue
        v = VARIANTS[name]
        t0 = time.perf_counter()
        recs = rd_sweep(
            v.codec,
            images,
            grids.get(name, v.qualities),
            label=name,
            prepare=v.prepare,
            progress=not args.no_progress,
            **v.settings,
        )
        log.info("%s: %d points in %.1f s", name, len(recs), time.perf_counter() - t0)
        write_csv(recs, cache)
        records += recs
    return records


def _fmt(x: float, spec: str = ".2f", suffix: str = "") -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:{spec}}{suffix}"


def _bd_cell(bd: dict[str, Any]) -> str:
    return f"{_fmt(bd['bd_rate_avg'], '+.1f', '%')} / {_fmt(bd['bd_rate_img'], '+.1f', '%')} ({bd['n_img']})"


def markdown_table(summary: dict[str, dict[str, Any]], order: Sequence[str]) -> str:
    """BASELINES.md-style table: PSNR at fixed bpp, BD-rate vs both JPEG anchors, BD-PSNR, speed."""
    head = [f"{t:g} bpp" for t in TARGETS]
    lines = [
        "| codec | " + " | ".join(head) + " | BD-rate vs jpeg420 avg / img (n) | BD-rate vs jpeg420opt avg / img (n)"
        " | BD-PSNR vs jpeg420 avg | enc+dec MP/s (q) |",
        "|---" * (len(head) + 5) + "|",
    ]
    for name in order:
        s = summary[name]
        sq = f"{VARIANTS[name].speed_q:g}"
        speed = f"{_fmt(s['mp_per_s'].get(sq, math.nan), '.1f')} (q={sq})"
        cells = [_fmt(s["psnr_at"][f"{t:g}"]) for t in TARGETS]
        cells += [_bd_cell(s["bd"][a]) for a in ANCHORS]
        cells += [_fmt(s["bd"]["jpeg420"]["bd_psnr_avg"], "+.2f", " dB"), speed]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweep, write CSV / JSON / PNG / markdown; return 0 on success."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    records = run_variants(args)
    write_csv(records, args.out / "records.csv")
    order = [n for n in VARIANTS if n in {r.label for r in records}]
    summary = summarize(records, anchors=ANCHORS, targets=TARGETS)
    meta = {
        "date": _dt.date.today().isoformat(),
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(["codec_table.py", *argv]),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "n_images": len({r.image for r in records}),
        "variants": {
            n: {
                "codec": VARIANTS[n].codec,
                "settings": VARIANTS[n].settings,
                "qualities": sorted({int(r.quality) for r in records if r.label == n}),
            }
            for n in order
        },
    }
    atomic_write_bytes(
        args.out / "summary.json", json.dumps(_jsonable({"meta": meta, "summary": summary}), indent=2).encode()
    )
    curves = {n: (summary[n]["curve"]["bpp"], summary[n]["curve"]["psnr"]) for n in order}
    plot_rd(
        curves,
        args.out / "rd_kodak.png",
        f"Kodak ({meta['n_images']} images), mean over images per quality",
        xlim=(0.0, 2.0),
        ylim=(20.0, 42.0),
    )
    table = markdown_table(summary, order)
    atomic_write_bytes(args.out / "table.md", table.encode())
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
