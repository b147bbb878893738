"""Perceptual sandwiches (issue 5 item 5): fine-tune jpeg420 for LPIPS / MS-SSIM, evaluate on Kodak.

Train (warm start from the shipped MSE model ``jpeg420``: a step-0 checkpoint holding its weights and
rate correction is written into the run folder, and ``sandwich train --app`` resumes from it)::

    OMP_NUM_THREADS=1 python benchmarks/app_perceptual.py train --app jpeg420-lpips --minutes 11 \
        --out runs/perc/jpeg420-lpips --export src/neuralwrap/sandwich/pretrained/jpeg420-lpips.safetensors

Evaluate (plain JPEG 4:2:0, the MSE jpeg420 and the perceptual models, real bytes, Kodak)::

    OMP_NUM_THREADS=1 python benchmarks/app_perceptual.py eval --out runs/perc/eval \
        --model jpeg420-lpips=src/neuralwrap/sandwich/pretrained/jpeg420-lpips.safetensors \
        --model jpeg420-msssim=src/neuralwrap/sandwich/pretrained/jpeg420-msssim.safetensors

``eval`` writes the app evaluation (records.csv, metrics.csv, summary.json, rd.png, comparison.png)
and ``perceptual.json`` / ``perceptual.md``: BD-rate of every curve against plain JPEG and against the
MSE jpeg420 with the quality axis being PSNR, MS-SSIM (as −10·log10(1 − MS-SSIM), dB), LPIPS (as
−log LPIPS); per image then averaged, and on the averaged curves. Plots go to ``--img-prefix``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from neuralwrap.errors import InputError
from neuralwrap.rd import bd_rate
from neuralwrap.rd.plots import plot_rd

#: quality axes for BD: name -> (metric column, transform to "higher is better")
AXES = {
    "psnr": ("psnr", lambda v: v),
    "msssim_db": ("msssim", lambda v: -10.0 * math.log10(max(1.0 - v, 1e-9))),
    "neg_log_lpips": ("lpips", lambda v: -math.log(max(v, 1e-9))),
}


def warm_start(run_dir: Path, init: str, app_name: str, lr: float) -> None:
    """Write ``run_dir/ckpt_00000000`` holding the shipped model ``init`` (weights + rate correction)."""
    from neuralwrap.sandwich.apps.registry import get_app
    from neuralwrap.sandwich.inference.codec import load_pretrained
    from neuralwrap.sandwich.models.image import Sandwich
    from neuralwrap.train import list_checkpoints
    from neuralwrap.train.checkpoint import save_checkpoint

    if list_checkpoints(run_dir):
        print(f"{run_dir} has checkpoints: resuming, no warm start")
        return
    app = get_app(app_name)
    src = load_pretrained(init)
    if src.config.to_dict() | {"quality_range": None} != app.config.to_dict() | {"quality_range": None}:
        raise SystemExit(f"{init} and app {app_name} have different architectures")
    model = Sandwich(app.config)
    model.load_state_dict(src.model.state_dict(), strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    save_checkpoint(run_dir, 0, {"model": model}, {"main": opt}, config={"init": init}, extra={"world_size": 1})
    print(f"warm start: {run_dir}/ckpt_00000000 = {init}")


def cmd_train(a: argparse.Namespace) -> int:
    from neuralwrap.sandwich.cli.main import main as sandwich_main

    out = Path(a.out)
    if a.init:
        warm_start(out, a.init, a.app, a.lr)
    argv = [
        "train",
        "--app",
        a.app,
        "--out",
        str(out),
        "--steps",
        str(a.steps),
        "--batch-size",
        str(a.batch_size),
        "--lr",
        str(a.lr),
        "--crop",
        str(a.crop),
        "--max-minutes",
        str(a.minutes),
        "--refit-every",
        "50",
        "--ckpt-every",
        "100",
        "--name",
        a.name or a.app,
    ]
    if a.export:
        argv += ["--export", a.export]
    print("sandwich " + " ".join(argv))
    return sandwich_main(argv)


def _read_metrics(path: Path) -> dict[str, dict[str, list[dict[str, float]]]]:
    """metrics.csv → {label: {image: [row, ...]}} (rows with float values)."""
    by: dict[str, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    with open(path) as fh:
        for r in csv.DictReader(fh):
            by[r["label"]][r["image"]].append({k: float(v) for k, v in r.items() if k not in ("label", "image")})
    return by


def _add_psnr(by: dict, records: Path) -> None:
    psnr = {}
    with open(records) as fh:
        for r in csv.DictReader(fh):
            psnr[(r["label"], r["image"], int(float(r["quality"])))] = float(r["psnr"])
    for label, imgs in by.items():
        for image, rows in imgs.items():
            for row in rows:
                row["psnr"] = psnr[(label, image, int(row["quality"]))]


def bd_table(by: dict, anchors: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """{label: {f"{axis} vs {anchor}": {"img": mean per-image BD-rate %, "avg": BD on averaged curves}}}."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label, imgs in by.items():
        out[label] = {}
        for anchor in anchors:
            if anchor == label:
                continue
            for axis, (col, fn) in AXES.items():
                per = []
                for image, rows in imgs.items():
                    ra = sorted(by[anchor][image], key=lambda r: r["quality"])
                    rb = sorted(rows, key=lambda r: r["quality"])
                    try:
                        per.append(
                            bd_rate(
                                [r["bpp"] for r in ra],
                                [fn(r[col]) for r in ra],
                                [r["bpp"] for r in rb],
                                [fn(r[col]) for r in rb],
                                dominated="drop",
                            )
                        )
                    except InputError:  # no overlap on this image: left out (n counts the images used)
                        pass
                ca, cb = _avg_curve(by[anchor], col, fn), _avg_curve(imgs, col, fn)
                try:
                    avg = bd_rate(ca[0], ca[1], cb[0], cb[1], dominated="drop")
                except InputError:
                    avg = math.nan
                out[label][f"{axis} vs {anchor}"] = {
                    "img": float(np.mean(per)) if per else math.nan,
                    "n": len(per),
                    "avg": avg,
                }
    return out


def _avg_curve(imgs: dict, col: str, fn) -> tuple[list[float], list[float]]:
    qs = sorted({r["quality"] for rows in imgs.values() for r in rows})
    bpp = [float(np.mean([r["bpp"] for rows in imgs.values() for r in rows if r["quality"] == q])) for q in qs]
    val = [fn(float(np.mean([r[col] for rows in imgs.values() for r in rows if r["quality"] == q]))) for q in qs]
    return bpp, val


def cmd_eval(a: argparse.Namespace) -> int:
    from neuralwrap.sandwich.apps.registry import get_app
    from neuralwrap.sandwich.evaluation.image import evaluate_app
    from neuralwrap.sandwich.inference.codec import load_model_file

    torch.set_num_threads(max(1, a.threads))
    app = get_app("jpeg420-lpips")
    models = {}
    for spec in a.model:
        label, _, path = spec.partition("=")
        models[label] = load_model_file(path)
    images = app.eval_data(a.data)[:: a.stride][: a.limit or None]
    out = Path(a.out)
    t0 = time.time()
    summary = evaluate_app(
        app,
        models,
        out,
        images=images,
        qualities=a.qualities,
        progress=True,
        comparison_image=a.comparison_image,
        baselines=a.baseline,
    )
    res = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_s": time.time() - t0,
        "images": [n for n, _ in images],
        "qualities": summary["qualities"],
        "complexity": summary["models"],
    }
    (out / "run.json").write_text(json.dumps(res, indent=2, default=float))
    return cmd_report(argparse.Namespace(runs=[str(out)], out=str(out), img_prefix=a.img_prefix))


def cmd_report(a: argparse.Namespace) -> int:
    """Merge the metrics of one or more eval runs (first run wins on duplicate curves) into BD tables + plots."""
    by: dict = {}
    info = []
    for run in map(Path, a.runs):
        part = _read_metrics(run / "metrics.csv")
        _add_psnr(part, run / "records.csv")
        for label, imgs in part.items():
            by.setdefault(label, imgs)
        info.append(json.loads((run / "run.json").read_text()) if (run / "run.json").is_file() else {})
    table = bd_table(by, ["plain-jpeg", "jpeg420-mse"])
    curves = {
        lab: dict(
            zip(
                ("bpp", "psnr", "msssim", "lpips"),
                zip(
                    *[
                        (
                            np.mean([r["bpp"] for r in rows]),
                            np.mean([r["psnr"] for r in rows]),
                            np.mean([r["msssim"] for r in rows]),
                            np.mean([r["lpips"] for r in rows]),
                        )
                        for rows in _by_quality(imgs)
                    ]
                ),
            )
        )
        for lab, imgs in by.items()
    }
    res = {"runs": info, "bd": table, "curves": curves}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "perceptual.json").write_text(json.dumps(res, indent=2, default=float))
    _plots(curves, Path(a.img_prefix))
    print(json.dumps(table, indent=1))
    return 0


def _by_quality(imgs: dict) -> list[list[dict[str, float]]]:
    qs = sorted({r["quality"] for rows in imgs.values() for r in rows})
    return [[r for rows in imgs.values() for r in rows if r["quality"] == q] for q in qs]


def _plots(curves: dict, prefix: Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    for col, ylabel, fn in (
        ("psnr", "PSNR (dB)", lambda v: v),
        ("lpips", "LPIPS (alex, lower = better)", lambda v: v),
        ("msssim", "MS-SSIM (dB) = -10 log10(1 - MS-SSIM)", lambda v: -10 * math.log10(max(1 - v, 1e-9))),
    ):
        data = {lab: (c["bpp"], [fn(v) for v in c[col]]) for lab, c in curves.items()}
        plot_rd(data, f"{prefix}_rd_{col}.png", title=f"Kodak, JPEG 4:2:0, real bytes: {col}", ylabel=ylabel)


def _file_roundtrip(sc):  # -> AppRoundtrip
    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        data = sc.encode(image, int(quality))
        return data, sc.decode_float(data)

    return run


def cmd_picture(a: argparse.Namespace) -> int:
    """Side by side: original, plain JPEG, MSE jpeg420 and each perceptual model on one Kodak image, each at
    the quality whose real rate is closest to ``--bpp`` (searched over q 3…60), crop of ``--crop`` px."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralwrap.io.atomic import atomic_path
    from neuralwrap.metrics import psnr
    from neuralwrap.sandwich.apps.perceptual import lpips_metric, msssim_metric
    from neuralwrap.sandwich.apps.registry import get_app
    from neuralwrap.sandwich.inference.codec import load_model_file

    torch.set_num_threads(max(1, a.threads))
    app = get_app("jpeg420-lpips")
    img = dict(app.eval_data(a.data))[a.image]
    runs = {"plain JPEG 4:2:0": app.baselines["plain-jpeg"], "jpeg420 (MSE)": app.baselines["jpeg420-mse"]}
    for spec in a.model:
        label, _, path = spec.partition("=")
        runs[label] = _file_roundtrip(load_model_file(path))
    lp = lpips_metric("alex")
    panels = []
    for label, run in runs.items():
        best = None
        for q in (3, 5, 7, 9, 11, 13, 16, 20, 25, 30, 40, 50, 60):
            data, rec = run(img, q)
            bpp = 8 * len(data) / (img.shape[0] * img.shape[1])
            if best is None or abs(math.log(bpp / a.bpp)) < abs(math.log(best[0] / a.bpp)):
                best = (bpp, q, rec)
            if bpp > a.bpp * 1.3:
                break
        bpp, q, rec = best
        rec = np.rint(np.clip(rec, 0, 1) * 255).astype(np.float32) / 255
        panels.append(
            (
                f"{label} q={q}",
                rec,
                (
                    f"{bpp:.3f} bpp  PSNR {psnr(img, rec):.2f}  "
                    f"MS-SSIM {msssim_metric(img, rec):.4f}  LPIPS {lp(img, rec):.3f}"
                ),
            )
        )
    h, w = img.shape[:2]
    c = min(a.crop, h, w)
    y0, x0 = (h - c) // 2 + a.dy, (w - c) // 2 + a.dx
    allp = [("original", img, a.image), *panels]
    fig, axes = plt.subplots(1, len(allp), figsize=(3.4 * len(allp), 3.9), constrained_layout=True)
    for ax, (t, im, sub) in zip(axes, allp):
        ax.imshow(np.clip(im[y0 : y0 + c, x0 : x0 + c], 0, 1), interpolation="nearest")
        ax.set_title(f"{t}\n{sub}", fontsize=7)
        ax.axis("off")
    fig.suptitle(
        f"Kodak {a.image}, crop {c}x{c}: every codec at the quality closest to {a.bpp} bpp (real bytes)", fontsize=9
    )
    with atomic_path(Path(a.out)) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    print(a.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--app", required=True, choices=["jpeg420-lpips", "jpeg420-msssim"])
    t.add_argument("--init", default="jpeg420", help="shipped model to fine-tune from ('' = from scratch)")
    t.add_argument("--out", required=True)
    t.add_argument("--export", default=None)
    t.add_argument("--name", default=None)
    t.add_argument("--steps", type=int, default=600)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--minutes", type=float, default=11.0)
    e = sub.add_parser("eval")
    e.add_argument("--model", action="append", default=[], help="LABEL=path.safetensors (repeatable)")
    e.add_argument("--data", default=None, help="test folder (default shared/data/kodak)")
    e.add_argument("--limit", type=int, default=0)
    e.add_argument("--stride", type=int, default=1, help="every N-th test image (3: kodim01, 04, ..., 22)")
    e.add_argument("--qualities", type=int, nargs="+", default=None)
    e.add_argument("--out", default="runs/perc/eval")
    e.add_argument("--img-prefix", default="docs/img/app_perceptual")
    e.add_argument("--comparison-image", default=None)
    e.add_argument("--threads", type=int, default=1)
    e.add_argument(
        "--baseline", action="append", default=None, help="baselines to run (default: all; the anchor always)"
    )
    r = sub.add_parser("report")
    r.add_argument("--runs", nargs="+", required=True, help="eval output folders (first wins on duplicate curves)")
    r.add_argument("--out", required=True)
    r.add_argument("--img-prefix", default="docs/img/app_perceptual")
    pic = sub.add_parser("picture")
    pic.add_argument("--model", action="append", default=[], help="LABEL=path.safetensors (repeatable)")
    pic.add_argument("--data", default=None)
    pic.add_argument("--image", default="kodim23")
    pic.add_argument("--bpp", type=float, default=0.3)
    pic.add_argument("--crop", type=int, default=256)
    pic.add_argument("--dx", type=int, default=0)
    pic.add_argument("--dy", type=int, default=0)
    pic.add_argument("--threads", type=int, default=1)
    pic.add_argument("--out", default="docs/img/app_perceptual_side_by_side.png")
    a = p.parse_args(argv)
    return {"train": cmd_train, "eval": cmd_eval, "report": cmd_report, "picture": cmd_picture}[a.cmd](a)


if __name__ == "__main__":
    raise SystemExit(main())
