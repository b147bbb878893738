"""Benchmark of the ``hdr`` sandwich app (issue 5 item 4): HDR through an 8-bit JPEG.

Runs ``sandwich eval --app hdr`` (:func:`neuralwrap.sandwich.evaluation.image.evaluate_app`) with the shipped
``hdr-jpeg`` model (or ``--model FILE``) on the 9 HDR test images (OpenEXR + Radiance, halved when longer
than 700 px), real bytes, then adds what the generic report lacks:

* BD-rate / BD-PSNR on PU21-PSNR (``rep`` PSNR differs from PU21-PSNR by the constant 20·log10(527.5/256)
  = 6.28 dB, so the BD numbers are the same) vs the 8-bit anchor and vs 10-bit HEIF;
* BD-FLIP: mean HDR-FLIP difference at equal rate (negative = sandwich better);
* ``docs/img/app_hdr_rd.png``: PU21-PSNR and HDR-FLIP vs bpp, every method;
* ``docs/img/app_hdr_comparison.png``: one image at a matched rate, tone-mapped for display (two exposures,
  sRGB), crops of the original, the baselines and the sandwich;
* ``OUT/tables.md``: the tables of ``docs/benchmarks_apps_hdr.md``.

Usage (CPU, one thread; ~15–25 min on the shared 2-core machine)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_hdr.py --out runs/app_hdr_eval

Training of the shipped model (≤ 15 min wall, one CPU thread)::

    OMP_NUM_THREADS=1 sandwich train --app hdr --data ../shared/data/train --crop 96 --batch-size 8 \\
        --steps 620 --lr 5e-4 --grad-clip 1 --max-seconds 840 --out runs/app_hdr \\
        --export src/neuralwrap/sandwich/pretrained/hdr-jpeg.safetensors --name hdr-jpeg --no-resume
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from neuralwrap.errors import InputError
from neuralwrap.rd.bd import bd_psnr, bd_rate

REPO = Path(__file__).resolve().parents[1]
LABEL = "sandwich"


def _load_model(ref: str):  # -> SandwichCodec
    from neuralwrap.sandwich.inference.codec import load_model_file, load_pretrained

    return load_model_file(ref) if ref.endswith(".safetensors") else load_pretrained(ref)


def _curves(metrics_csv: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{label: {"quality", "bpp", "pu_psnr", "hdr_flip"}}``: per quality, means over images."""
    rows: dict[str, dict[int, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    with open(metrics_csv) as fh:
        for r in csv.DictReader(fh):
            rows[r["label"]][int(r["quality"])].append({k: float(r[k]) for k in ("bpp", "pu_psnr", "hdr_flip")})
    out = {}
    for label, qs in rows.items():
        ks = sorted(qs)
        out[label] = {
            "quality": np.array(ks, float),
            **{m: np.array([np.mean([r[m] for r in qs[k]]) for k in ks]) for m in ("bpp", "pu_psnr", "hdr_flip")},
        }
    return out


def _per_image(metrics_csv: Path) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``{label: {image: {"bpp", "pu_psnr", "hdr_flip"}}}`` sorted by quality."""
    rows: dict[str, dict[str, list[tuple[int, float, float, float]]]] = defaultdict(lambda: defaultdict(list))
    with open(metrics_csv) as fh:
        for r in csv.DictReader(fh):
            rows[r["label"]][r["image"]].append(
                (int(r["quality"]), float(r["bpp"]), float(r["pu_psnr"]), float(r["hdr_flip"]))
            )
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for label, imgs in rows.items():
        out[label] = {}
        for name, pts in imgs.items():
            a = np.array(sorted(pts))
            out[label][name] = {"bpp": a[:, 1], "pu_psnr": a[:, 2], "hdr_flip": a[:, 3]}
    return out


def _safe(fn, *args) -> float:
    try:
        return float(fn(*args, dominated="drop"))
    except InputError:  # no overlap / too few points
        return math.nan


def bd_table(curves: dict[str, dict[str, np.ndarray]], per_image: dict, anchors: list[str]) -> list[dict[str, object]]:
    """BD-rate / BD-PSNR (PU21-PSNR) and BD-FLIP of every label vs each anchor, on the averaged curves
    and per image (median over images with overlapping curves)."""
    rows = []
    for anchor in anchors:
        a = curves[anchor]
        for label, c in curves.items():
            if label == anchor:
                continue
            per = [
                (
                    _safe(bd_rate, pa["bpp"], pa["pu_psnr"], pc["bpp"], pc["pu_psnr"]),
                    _safe(bd_psnr, pa["bpp"], pa["pu_psnr"], pc["bpp"], pc["pu_psnr"]),
                )
                for name, pa in per_image[anchor].items()
                for pc in [per_image[label][name]]
            ]
            rates = [r for r, _ in per if math.isfinite(r)]
            gains = [g for _, g in per if math.isfinite(g)]
            rows.append(
                {
                    "label": label,
                    "anchor": anchor,
                    "bd_rate_avg": _safe(bd_rate, a["bpp"], a["pu_psnr"], c["bpp"], c["pu_psnr"]),
                    "bd_psnr_avg": _safe(bd_psnr, a["bpp"], a["pu_psnr"], c["bpp"], c["pu_psnr"]),
                    "bd_flip_avg": -_safe(bd_psnr, a["bpp"], -a["hdr_flip"], c["bpp"], -c["hdr_flip"]),
                    "bd_rate_img_median": float(np.median(rates)) if rates else math.nan,
                    "bd_psnr_img_mean": float(np.mean(gains)) if gains else math.nan,
                    "n_img": len(gains),
                }
            )
    return rows


def plot_rd(curves: dict[str, dict[str, np.ndarray]], path: Path, n_images: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralwrap.io.atomic import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for label, c in curves.items():
        style = {"marker": "o", "linewidth": 2.2 if label == LABEL else 1.4, "markersize": 4}
        axes[0].plot(c["bpp"], c["pu_psnr"], label=label, **style)
        axes[1].plot(c["bpp"], c["hdr_flip"], label=label, **style)
    axes[0].set_ylabel("PU21-PSNR (dB, peak 256, higher = better)")
    axes[1].set_ylabel("mean HDR-FLIP (lower = better)")
    for ax in axes:
        ax.set_xlabel("bits per pixel (real bytes)")
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(f"hdr app: HDR through 8-bit JPEG 4:2:0, {n_images} HDR images (means per quality)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def _display(rep: np.ndarray, stops: float) -> np.ndarray:
    """rep → displayable sRGB: absolute light × 2^stops / 100 cd/m², clipped, sRGB curve."""
    from neuralwrap.sandwich.apps.hdr_data import rep_to_luminance

    lin = np.clip(np.asarray(rep_to_luminance(rep), np.float64) * (2.0**stops) / 100.0, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def plot_comparison(
    app,
    sc,
    images: dict[str, np.ndarray],
    per_image: dict,
    qualities: list[int],
    name: str,
    target_bpp: float,
    path: Path,
    crop: int = 200,
) -> None:
    """Crops of ``name`` at two exposures: original, every baseline and the sandwich at the quality whose real
    rate is closest to ``target_bpp``; titles give bpp, PU21-PSNR and HDR-FLIP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralwrap.io.atomic import atomic_path
    from neuralwrap.sandwich.apps.hdr import rep_hdr_flip, rep_pu_psnr

    img = images[name]
    runs = dict(app.baselines)

    def sandwich(im: np.ndarray, q: int) -> tuple[bytes, np.ndarray]:
        data = sc.encode(im, q, optimize=True)
        return data, sc.decode_float(data)

    runs[LABEL] = sandwich
    panels = [("original", img, "")]
    for label, run in runs.items():
        bpps = per_image[label][name]["bpp"]
        q = int(qualities[int(np.argmin(np.abs(np.log(bpps / target_bpp))))])
        data, rec = run(img, q)
        bpp = 8 * len(data) / (img.shape[0] * img.shape[1])
        panels.append(
            (f"{label} q={q}", rec, f"{bpp:.2f} bpp, {rep_pu_psnr(img, rec):.2f} dB, FLIP {rep_hdr_flip(img, rec):.3f}")
        )
    h, w = img.shape[:2]
    c = min(crop, h, w)
    lum = np.asarray(img).mean(axis=2)
    y0, x0 = np.unravel_index(np.argmax(lum), lum.shape)  # centred on the brightest region, clipped to the image
    y0, x0 = int(np.clip(y0 - c // 2, 0, h - c)), int(np.clip(x0 - c // 2, 0, w - c))
    stops = (0.0, 4.0)
    fig, axes = plt.subplots(
        len(stops), len(panels), figsize=(2.9 * len(panels), 3.0 * len(stops) + 0.6), constrained_layout=True
    )
    for row, s in enumerate(stops):
        for col, (title, im, sub) in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(_display(im[y0 : y0 + c, x0 : x0 + c], s), interpolation="nearest")
            ax.axis("off")
            if row == 0:
                ax.set_title(f"{title}\n{sub}", fontsize=7.5)
        axes[row, 0].text(
            -0.08,
            0.5,
            f"exposure {'+' if s > 0 else ''}{s:g} EV",
            transform=axes[row, 0].transAxes,
            rotation=90,
            va="center",
            ha="right",
            fontsize=9,
        )
    fig.suptitle(
        f"hdr app, {name}: crop at ≈ {target_bpp} bpp (real bytes); display: 100 cd/m² = white, sRGB, two exposures",
        fontsize=10,
    )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def _fmt(v: float, spec: str) -> str:
    return "n/a" if not math.isfinite(v) else format(v, spec)


def tables(curves: dict, bd_rows: list[dict], complexity: dict) -> str:
    lines = [
        "| method | " + " | ".join(f"q={int(q)}" for q in curves["pu8-jpeg"]["quality"]) + " |",
        "|---|" + "---|" * len(curves["pu8-jpeg"]["quality"]),
    ]
    for label, c in curves.items():
        cells = [f"{b:.3f} / {p:.2f} / {f:.4f}" for b, p, f in zip(c["bpp"], c["pu_psnr"], c["hdr_flip"])]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    head = (
        "| method | anchor | BD-rate (avg curve) | BD-PSNR (avg curve) | BD-rate (median per image) | "
        "BD-PSNR (mean per image, n) | BD-FLIP (avg curve) |"
    )
    lines += ["", head, "|---|---|---|---|---|---|---|"]
    for r in bd_rows:
        lines.append(
            f"| {r['label']} | {r['anchor']} | {_fmt(r['bd_rate_avg'], '+.1f')}% | {_fmt(r['bd_psnr_avg'], '+.2f')} dB | "
            f"{_fmt(r['bd_rate_img_median'], '+.1f')}% | {_fmt(r['bd_psnr_img_mean'], '+.2f')} dB ({r['n_img']}) | "
            f"{_fmt(r['bd_flip_avg'], '+.4f')} |"
        )
    lines += ["", "| part | parameters | MACs / pixel |", "|---|---|---|"]
    for part in ("pre", "post", "total"):
        p = complexity.get(part, {})
        lines.append(f"| {part} | {p.get('params', 0):,} | {p.get('macs_per_pixel', 0):,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="hdr-jpeg", help="shipped model name or .safetensors file (label 'sandwich')")
    ap.add_argument(
        "--extra-model",
        action="append",
        default=[],
        metavar="LABEL=FILE",
        help="another model to evaluate alongside (repeatable), e.g. a post-only reference",
    )
    ap.add_argument("--data", default=None, help="HDR test folder (default ../shared/data/hdr)")
    ap.add_argument("--out", default="runs/app_hdr_eval")
    ap.add_argument("--img-dir", default=str(REPO / "docs" / "img"))
    ap.add_argument("--qualities", type=int, nargs="+", default=None)
    ap.add_argument("--comparison-image", default="memorial_o876")
    ap.add_argument("--comparison-bpp", type=float, default=0.6)
    ap.add_argument("--limit", type=int, default=0, help="only the first N test images (smoke runs)")
    ap.add_argument("--skip-eval", action="store_true", help="reuse OUT/metrics.csv and OUT/summary.json")
    args = ap.parse_args(argv)

    from neuralwrap.sandwich.apps.registry import get_app
    from neuralwrap.sandwich.evaluation.image import evaluate_app

    app = get_app("hdr")
    out = Path(args.out)
    sc = _load_model(args.model)
    models = {LABEL: sc}
    for spec in args.extra_model:
        label, _, ref = spec.partition("=")
        models[label] = _load_model(ref)
    images = app.eval_data(args.data)
    if args.limit:
        images = [im for im in images if im[0] == args.comparison_image] + [
            im for im in images if im[0] != args.comparison_image
        ][: args.limit - 1]
    if not args.skip_eval:
        evaluate_app(
            app,
            models,
            out,
            images=images,
            qualities=args.qualities,
            progress=True,
            comparison_image=args.comparison_image,
        )
    summary = json.loads((out / "summary.json").read_text())
    curves = _curves(out / "metrics.csv")
    per_image = _per_image(out / "metrics.csv")
    bd_rows = bd_table(curves, per_image, ["pu8-jpeg", "pu10-heif"])
    complexity = summary["models"][LABEL]
    extra_complexity = {k: v for k, v in summary["models"].items() if k != LABEL}
    img_dir = Path(args.img_dir)
    plot_rd(curves, img_dir / "app_hdr_rd.png", len(images))
    plot_comparison(
        app,
        sc,
        dict(images),
        per_image,
        [int(q) for q in summary["qualities"]],
        args.comparison_image,
        args.comparison_bpp,
        img_dir / "app_hdr_comparison.png",
    )
    text = tables(curves, bd_rows, complexity)
    (out / "tables.md").write_text(text)
    (out / "bd_pu_flip.json").write_text(
        json.dumps({"bd": bd_rows, "models": summary["models"], "extra": extra_complexity}, indent=2)
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
