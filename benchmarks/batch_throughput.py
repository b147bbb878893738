"""Batch throughput (issue 21): images/s of ``sandwich encode FOLDER OUT`` on the local and the Ray engine against
one ``sandwich encode IMAGE OUT.jpg`` call per image.

    python benchmarks/batch_throughput.py --images 200 --out runs/batch_bench

Inputs: ``--images`` crops of 768×512 from the training photos (``--data``, default ``train/`` of the shared data;
never Kodak), cut at a few fixed offsets of every photo large enough, written as PNG into ``OUT/in``. Each
engine run is a real command line in a fresh output folder, timed from process start to exit (Python, torch and
Ray start-up and model loading included). The per-image baseline runs ``--baseline-calls`` separate command
lines on the first images and extrapolates their mean time per call to all images (said so in the table). Every
engine's files are compared byte for byte with the first engine's. Writes ``results.json`` and ``table.md``.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from neuralwrap.io.images import read_image, write_image
from neuralwrap.resources import require_data

W, H = 768, 512
#: crop origins as fractions of the free margin (x, y): up to five crops per photo
OFFSETS = ((0.5, 0.5), (0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0))
#: engine runs: label → extra command-line flags
ENGINES = {
    "local (2 threads)": ["--engine", "local", "--num-cpus", "2"],
    "local (1 thread)": ["--engine", "local", "--num-cpus", "1"],
    "ray (1 CPU)": ["--engine", "ray", "--num-cpus", "1"],
    "ray (2 CPUs = all)": ["--engine", "ray", "--num-cpus", "2"],
}


def make_crops(data: Path, folder: Path, n: int) -> list[Path]:
    """``n`` 768×512 PNG crops of the photos under ``data`` (sorted, fixed offsets), written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    made: list[Path] = []
    for offsets in OFFSETS:
        for p in photos:
            if len(made) == n:
                return made
            out = folder / f"{len(made):04d}.png"
            if not out.exists():
                img = read_image(p)
                h, w = img.shape[:2]
                if h < H or w < W:
                    continue
                y, x = int(offsets[1] * (h - H)), int(offsets[0] * (w - W))
                write_image(out, np.ascontiguousarray(img[y : y + H, x : x + W]))
            made.append(out)
    if len(made) < n:
        raise SystemExit(f"only {len(made)} crops of {W}x{H} from {data}")
    return made


def _sandwich(*args: str) -> list[str]:
    return [sys.executable, "-m", "neuralwrap.sandwich.cli", "-q", *args]


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="training photos (default: train/ of the shared data)")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--baseline-calls", type=int, default=10, help="per-image command lines timed")
    ap.add_argument("--model", default="jpeg420")
    ap.add_argument("--quality", type=int, default=50)
    ap.add_argument("--engine", action="append", choices=sorted(ENGINES), help="engines to run (default: all)")
    ap.add_argument("--out", default="runs/batch_bench")
    args = ap.parse_args()
    out = Path(args.out)
    crops = make_crops(Path(args.data) if args.data else require_data("train"), out / "in", args.images)
    model = ["--model", args.model, "--quality", str(args.quality)]
    results: dict[str, dict[str, float | int | str]] = {}

    single = out / "single"
    single.mkdir(parents=True, exist_ok=True)
    times = []
    for p in crops[: args.baseline_calls]:
        target = single / f"{p.stem}.jpg"
        target.unlink(missing_ok=True)
        seconds, proc = timed(_sandwich("encode", str(p), str(target), *model))
        if proc.returncode:
            raise SystemExit(proc.stderr)
        times.append(seconds)
    per_call = float(np.mean(times))
    results["per-image CLI (baseline)"] = {
        "images": len(times),
        "seconds": float(np.sum(times)),
        "images_per_s": 1.0 / per_call,
        "load_1min": os.getloadavg()[0],
        "note": f"{len(times)} calls timed, mean {per_call:.2f} s per call; "
        f"{args.images} images extrapolated to {per_call * args.images:.0f} s",
    }
    print(json.dumps(results), flush=True)
    write_tables(out, results, args)

    reference: Path | None = None
    for label in args.engine or list(ENGINES):
        dest = out / ("out-" + label.split(" (")[0] + "-" + ENGINES[label][-1])
        subprocess.run(["rm", "-rf", str(dest)], check=True)
        seconds, proc = timed(_sandwich("encode", str(out / "in"), str(dest), *model, *ENGINES[label]))
        if proc.returncode:
            raise SystemExit(f"{label}: {proc.stderr[-2000:]}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        same = "reference"
        if reference is None:
            reference = dest
        else:
            names = [c.stem + ".jpg" for c in crops]
            _, mismatch, errors = filecmp.cmpfiles(reference, dest, names, shallow=False)
            same = "identical" if not mismatch and not errors else f"{len(mismatch) + len(errors)} files differ"
        results[label] = {
            "images": summary["ok"],
            "seconds": seconds,
            "images_per_s": summary["ok"] / seconds,
            "mean_bpp": summary["mean_bpp"],
            "workers": summary["workers"],
            "bytes_vs_first_engine": same,
            "load_1min": os.getloadavg()[0],
        }
        print(label, json.dumps(results[label]), flush=True)
        write_tables(out, results, args)  # after every engine: a long run cut short keeps what it measured


def write_tables(out: Path, results: dict[str, dict[str, float | int | str]], args: argparse.Namespace) -> None:
    """``results.json`` and ``table.md`` (images/s and the factor over the per-image command line)."""
    base = results["per-image CLI (baseline)"]["images_per_s"]
    lines = [
        f"{args.images} crops {W}×{H}, `{args.model}` q={args.quality}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {date.today()}",
        "",
        "| run | images | wall s | images/s | × per-image CLI | load (1-min avg at end) | bytes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, r in results.items():
        speed = float(r["images_per_s"])
        lines.append(
            f"| {label} | {r['images']} | {float(r['seconds']):.1f} | {speed:.3f} | {speed / float(base):.1f} | "
            f"{float(r['load_1min']):.1f} | {r.get('bytes_vs_first_engine', '') or r.get('note', '')} |"
        )
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "table.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
