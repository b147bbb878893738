"""More channels than the codec (issue 5 item 2): 6/8-channel framebuffers through one JPEG 4:2:0 file.

Train (from scratch — an untrained grouped sandwich is exactly the groups-of-3 baseline — on the synthetic
training scenes; runs ``sandwich train --app``, i.e. :func:`neuralwrap.sandwich.apps.multichannel.train_grouped`)::

    OMP_NUM_THREADS=1 python benchmarks/app_multichannel.py train --app mc6-jpeg --crop 64 --batch-size 8 \
        --lr 1e-3 --steps 800 --minutes 10 --out runs/mc/mc6-jpeg --export runs/mc/mc6-jpeg.safetensors

Evaluate (synthetic test scenes, real bytes; BD-rate with PSNR over all channels vs the groups-of-3 JPEG)::

    OMP_NUM_THREADS=1 python benchmarks/app_multichannel.py eval --app mc6-jpeg \
        --model mc6-jpeg=src/neuralwrap/sandwich/pretrained/mc6-jpeg.safetensors --out runs/mc/eval6

Writes the app evaluation (records.csv, summary.json, rd.png) into ``--out``, ``mc.json`` (BD-rates,
complexity), the RD plot ``{img-prefix}_rd_mcN.png`` and a side-by-side picture of every channel group
``{img-prefix}_mcN.png`` (original, groups-of-3 JPEG, each model, at the rate closest to ``--bpp``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from neuralwrap.io.atomic import atomic_path
from neuralwrap.metrics import psnr
from neuralwrap.rd.plots import plot_rd


def _channel_views(im: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``HxWxC`` framebuffer → displayable panels: RGB, normals, then disparity / mask as gray."""
    views = [("RGB", im[:, :, :3]), ("normals", im[:, :, 3:6])]
    if im.shape[2] >= 8:
        views += [("disparity", np.repeat(im[:, :, 6:7], 3, 2)), ("people mask", np.repeat(im[:, :, 7:8], 3, 2))]
    return views


def side_by_side(app, image: tuple[str, np.ndarray], runs: dict, records: list, bpp: float, path: Path) -> None:
    """Rows: original, then each run at its quality closest to ``bpp`` on this image; columns: channel groups."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name, im = image
    rows = [("original", im, "")]
    for label, run in runs.items():
        cand = [r for r in records if r.label == label and r.image == name]
        rec = min(cand, key=lambda r: abs(np.log(r.bpp / bpp)))
        _, out = run(im, int(rec.quality))
        out = np.rint(np.clip(out, 0, 1) * 255) / 255
        rows.append((f"{label} q={rec.quality:g}", out, f"{rec.bpp:.3f} bpp, {rec.psnr:.2f} dB (all ch.)"))
    cols = len(_channel_views(im))
    fig, axes = plt.subplots(len(rows), cols, figsize=(3.0 * cols, 2.5 * len(rows)), constrained_layout=True)
    for i, (title, img, sub) in enumerate(rows):
        for j, (cname, view) in enumerate(_channel_views(img)):
            ax = axes[i, j]
            ax.imshow(np.clip(view, 0, 1), interpolation="nearest")
            ch_psnr = (
                ""
                if i == 0
                else f" {psnr(_channel_views(im)[j][1].astype(np.float32), view.astype(np.float32)):.1f} dB"
            )
            ax.set_title((f"{title}: {sub}\n" if j == 0 else "\n") + cname + ch_psnr, fontsize=8)
            ax.axis("off")
    fig.suptitle(f"{app.name}, {name}: real bytes at ≈ {bpp} bpp", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


class _Probe(torch.nn.Module):
    def __init__(self, proc: torch.nn.Module) -> None:
        super().__init__()
        self.proc = proc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proc(x, torch.full((x.shape[0],), 50.0))


def _records(path: Path) -> list:
    import csv

    from neuralwrap.rd.sweep import RDRecord

    nan = float("nan")
    with open(path) as fh:
        return [
            RDRecord(
                label=r["label"],
                image=r["image"],
                height=int(r["height"]),
                width=int(r["width"]),
                quality=float(r["quality"]),
                bytes=int(r["bytes"]),
                bpp=float(r["bpp"]),
                psnr=float(r["psnr"]),
                encode_s=nan,
                decode_s=nan,
                seconds=nan,
            )
            for r in csv.DictReader(fh)
        ]


def cmd_train(a: argparse.Namespace) -> int:
    """``sandwich train --app mc6-jpeg|mc8-jpeg`` (grouped training and export) with this benchmark's settings."""
    from neuralwrap.sandwich.cli.main import main as sandwich_main

    argv = [
        "train",
        "--app",
        a.app,
        "--out",
        a.out,
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
        "100",
        "--ckpt-every",
        "200",
        "--grad-clip",
        "1",
        "--seed",
        "0",
        "--name",
        a.name or a.app,
    ]
    for part in ("pre", "post"):
        if getattr(a, part):
            argv += [f"--{part}", getattr(a, part)]
    if a.export:
        argv += ["--export", a.export]
    print("sandwich " + " ".join(argv))
    return sandwich_main(argv)


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--app", required=True, choices=["mc6-jpeg", "mc8-jpeg"])
    t.add_argument("--pre", default=None, help="U-Net preset (tiny, slim, ...) instead of the app's")
    t.add_argument("--post", default=None)
    t.add_argument("--crop", type=int, default=64)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--steps", type=int, default=800)
    t.add_argument("--minutes", type=float, default=10.0)
    t.add_argument("--out", required=True)
    t.add_argument("--export", default=None)
    t.add_argument("--name", default=None)
    p = sub.add_parser("eval")
    p.add_argument("--app", required=True, choices=["mc6-jpeg", "mc8-jpeg"])
    p.add_argument("--model", action="append", default=[], help="LABEL=path.safetensors (repeatable)")
    p.add_argument("--qualities", type=int, nargs="+", default=None)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--img-prefix", default="docs/img/app_multichannel")
    p.add_argument("--bpp", type=float, default=0.6, help="rate of the side-by-side picture")
    p.add_argument("--image", default=None, help="test image of the side-by-side picture (default: the first)")
    p.add_argument("--threads", type=int, default=1)
    a = top.parse_args(argv)
    return cmd_train(a) if a.cmd == "train" else cmd_eval(a)


def cmd_eval(a: argparse.Namespace) -> int:
    import dataclasses

    from neuralwrap.nn import count_parameters, macs_per_pixel
    from neuralwrap.sandwich.apps.multichannel import (
        grouped_model_roundtrip,
        load_grouped,
    )
    from neuralwrap.sandwich.apps.registry import get_app
    from neuralwrap.sandwich.evaluation.image import evaluate_app

    torch.set_num_threads(max(1, a.threads))
    app = get_app(a.app)
    models, complexity = {}, {}
    for spec in a.model:
        label, _, path = spec.partition("=")
        m = load_grouped(path)
        models[label] = grouped_model_roundtrip(m)
        complexity[label] = {
            part: {
                "params": count_parameters(getattr(m, part)),
                "macs_per_pixel": macs_per_pixel(_Probe(getattr(m, part)), getattr(m, part).in_ch),
            }
            for part in ("pre", "post")
        }
    # the grouped models run as extra "baselines" of the app (the framework's model path codes one file)
    app = dataclasses.replace(app, baselines={**app.baselines, **models})
    images = app.eval_data(None)[: a.limit or None]
    out = Path(a.out)
    t0 = time.time()
    summary = evaluate_app(app, {}, out, images=images, qualities=a.qualities, progress=True)
    summary["models"] = complexity
    wall = time.time() - t0
    ch = app.config.in_channels
    avg = {lab: (c["curve"]["bpp"], c["curve"]["psnr"]) for lab, c in summary["curves"].items()}
    recs = _records(out / "records.csv")
    prefix = Path(a.img_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    plot_rd(
        avg,
        f"{prefix}_rd_mc{ch}.png",
        title=f"{app.name}: {len(images)} synthetic test framebuffers, real bytes",
        ylabel=f"PSNR over all {ch} channels (dB)",
    )
    runs = {app.anchor: app.baselines[app.anchor], **models}
    pick = next((im for im in images if im[0] == a.image), images[0])
    side_by_side(app, pick, runs, recs, a.bpp, Path(f"{prefix}_mc{ch}.png"))
    res = {
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_s": wall,
        "n_images": len(images),
        "qualities": summary["qualities"],
        "avg_curves": avg,
        "bd": {lab: c.get("bd", {}) for lab, c in summary["curves"].items()},
        "models": summary["models"],
    }
    (out / "mc.json").write_text(json.dumps(res, indent=2, default=float))
    for lab, c in summary["curves"].items():
        bd = c.get("bd", {}).get(app.anchor, {})
        print(
            f"{lab:20s} vs {app.anchor}: BD-rate {bd.get('bd_rate_img', float('nan')):+.1f}% (per image), "
            f"{bd.get('bd_rate_avg', float('nan')):+.1f}% (avg curve); BD-PSNR {bd.get('bd_psnr_img', float('nan')):+.2f} dB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
