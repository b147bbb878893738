"""Sandwiched video (per-frame models) vs plain encodes on the shared clips, real bytes.

    OMP_NUM_THREADS=2 python benchmarks/video_eval.py --out runs/video_eval \
        --setup hevc420:yuv420p:jpeg420,jpeg420-postonly --setup hevc444:yuv444p:jpeg444

MODELS are shipped model names or model files (``*.safetensors``).

Each ``--setup NAME:ANCHOR_PIX_FMTS:MODELS`` runs the plain encoder at the anchor pixel format(s) (``+``-joined,
``FMT@2`` = bicubic half resolution; the first is the BD anchor) and each model per frame, over every clip, at ``--crf``. Writes, per setup and clip,
the outputs of :func:`neuralwrap.sandwich.evaluation.video.evaluate_video`, and ``summary.md`` with one table.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from datetime import date
from pathlib import Path

from neuralwrap.io.video import open_frames
from neuralwrap.sandwich.evaluation.video import (
    SandwichVideo,
    VideoEvalSpec,
    evaluate_video,
    parse_anchor,
)
from neuralwrap.sandwich.inference.codec import load_model_file, load_pretrained

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video"
CLIPS = {  # name: (path, open_frames kwargs)
    "basketballpass": ("basketballpass", {"fps": 50}),
    "cars": ("cars_320x240_i420_30f.yuv", {"size": (320, 240), "fps": 30}),
    "ciscovt2people": ("CiscoVT2people_320x192_12fps_i420_9f.yuv", {"size": (320, 192), "fps": 12}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--setup", action="append", required=True, help="NAME:ANCHOR_PIX_FMTS:MODELS")
    ap.add_argument("--clip", action="append", choices=list(CLIPS), default=None)
    ap.add_argument("--codec", default="hevc")
    ap.add_argument("--crf", type=int, nargs="+", default=[22, 27, 32, 37])
    ap.add_argument("--qp", action="store_true", help="the --crf values are constant QPs (x265 qp=) instead")
    ap.add_argument("--preset", default=None)
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--lpips", action="store_true", help="also measure per-frame LPIPS (alex) and BD-rate under it")
    args = ap.parse_args()
    out = Path(args.out)
    lines = [
        (
            f"Video eval — codec {args.codec}, {'QP' if args.qp else 'CRF'} {args.crf}, preset {args.preset or 'default'}, "
            f"{platform.machine()} CPU, {date.today()}"
        ),
        "",
        "| setup | clip | entry | mean bpp | mean PSNR (dB) | BD-rate vs anchor | BD-PSNR (dB) | flicker | cond q |"
        + (" mean LPIPS | BD-rate under LPIPS |" if args.lpips else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|---|" if args.lpips else ""),
    ]
    for setup in args.setup:
        name, anchors, models = setup.split(":")
        refs = [m for m in models.split(",") if m]
        loaded = [load_model_file(m) if m.endswith(".safetensors") else load_pretrained(m) for m in refs]
        labels = [Path(m).stem if m.endswith(".safetensors") else m for m in refs]  # a file: its stem
        for clip in args.clip or list(CLIPS):
            rel, kw = CLIPS[clip]
            src = open_frames(Path(args.data) / rel, **kw)
            entries = [parse_anchor(a, args.codec) for a in anchors.split("+")]
            entries += [SandwichVideo(lb, m) for lb, m in zip(labels, loaded)]
            t0 = time.perf_counter()
            summary = evaluate_video(
                entries,
                src,
                out / name / clip,
                VideoEvalSpec(
                    codec=args.codec,
                    crfs=tuple(args.crf),
                    preset=args.preset,
                    max_frames=args.max_frames,
                    rate_control="qp" if args.qp else "crf",
                    lpips=args.lpips,
                ),
                name=clip,
            )
            print(f"{name}/{clip}: {time.perf_counter() - t0:.0f} s")
            cq: dict[str, list[str]] = {}
            with open(out / name / clip / "records.csv", newline="") as fh:
                for row in csv.DictReader(fh):
                    cq.setdefault(row["label"], []).append(row["cond_quality"])
            for label, e in summary["entries"].items():
                bd = (
                    "anchor"
                    if label == summary["anchor"]
                    else (f"{e['bd_rate_pct']:+.1f}%" if e.get("bd_rate_pct") is not None else "no overlap")
                )
                bp = "" if label == summary["anchor"] or e.get("bd_psnr_db") is None else f"{e['bd_psnr_db']:+.2f}"
                line = (
                    f"| {name} | {clip} | {label} | {e['mean_bpp']:.3f} | {e['mean_psnr']:.2f} | {bd} | {bp} | "
                    f"{e['mean_flicker']:.2f} | {'/'.join(q for q in cq.get(label, []) if q) or '–'} |"
                )
                if args.lpips:
                    bl = e.get("bd_rate_lpips_pct")
                    line += (
                        f" {e['mean_lpips']:.4f} | "
                        + ("anchor" if label == summary["anchor"] else "no overlap" if bl is None else f"{bl:+.1f}%")
                        + " |"
                    )
                lines.append(line)
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    (out / "args.json").write_text(json.dumps(vars(args), indent=1))


if __name__ == "__main__":
    main()
