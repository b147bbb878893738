"""Viewer-compatible sandwiches (issue 20 §1): post-processed BD-rate vs plain-viewer BD-PSNR for models
fine-tuned with several bottleneck weights μ, with ``jpeg420-postonly`` and ``jpeg420`` as the two end points.

Every model and the plain-JPEG anchors run in the same ``sandwich eval`` sweep
(:func:`neuralwrap.sandwich.evaluation.image.evaluate` with ``plain_view=True``): real bytes, RGB PSNR vs the
source. For each model it reports

* post BD-rate: the post-processed reconstruction vs plain JPEG 4:2:0 (Huffman-optimised, with the same lossless
  pass as the models' files when the package has it on; also vs ``plain-nopass`` when that anchor exists);
* plain-viewer BD-PSNR: the same file decoded by a plain JPEG decoder, no post-processor, vs plain JPEG at
  matching rate (``jpeg420-postonly``'s files ARE plain JPEGs: about 0 dB), and the PSNR difference at matched
  rate (defined also where BD-PSNR is not).

BD values are per-image then averaged, so a set may be swept in parts (``--part K/N``, e.g. two processes at
once) and reported together (``--report DIR...``): the numbers are those of one sweep. Writes ``OUT/<set>/``
(the eval reports, ``models.json``), ``OUT/tradeoff.csv``, ``OUT/tradeoff.json`` and the chart ``--chart``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compat_tradeoff.py --set validation=runs/validation/photos \
        --model post-only=jpeg420-postonly --model full=jpeg420 --model mu0.3=runs/compat/mu0.3.safetensors \
        --out runs/compat/eval --chart docs/img/compat_tradeoff.png
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.codecs.image import JpegSettings
from neuralwrap.rd.sweep import RDRecord, load_images, read_csv, summarize
from neuralwrap.sandwich.evaluation.image import EvalSpec, evaluate, plain_view_label
from neuralwrap.sandwich.inference.codec import load_any
from neuralwrap.sandwich.inference.zoo import zoo_path

QUALITIES = (15, 40, 75)
ANCHORS = ("plain", "plain-nopass")


def model_meta(ref: str) -> dict[str, Any]:
    """The ``config`` of a model file's JSON (a shipped name or a ``.safetensors`` path)."""
    path = Path(ref) if ref.endswith(".safetensors") else Path(zoo_path(ref))
    return json.loads(path.with_suffix(".json").read_text())["config"]


def bottleneck_weight(meta: dict[str, Any]) -> float | None:
    """μ the model was trained with (None for a post-only model, 0 for a file without the field)."""
    if meta["sandwich"].get("pre") is None:
        return None
    return float(meta.get("sandwich_train", {}).get("bottleneck_weight", 0.0))


def matched_rate_dpsnr(records: list[RDRecord], label: str, anchor: str) -> float:
    """Mean PSNR difference (dB) of ``label`` vs ``anchor`` at ``label``'s own rates: the anchor's PSNR interpolated
    in log-rate at each point inside its rate range, averaged per image then over images. Defined also where
    BD-PSNR is not (a plain view whose PSNR does not grow with the rate: its dominated points leave < 2)."""
    by: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in records:
        by.setdefault((r.label, r.image), []).append((r.bpp, r.psnr))
    diffs = []
    for (lab, img), pts in by.items():
        if lab != label or (anchor, img) not in by:
            continue
        ab, ap = np.array(sorted(by[(anchor, img)])).T
        d = [p - np.interp(np.log(b), np.log(ab), ap) for b, p in pts if ab[0] <= b <= ab[-1]]
        if d:
            diffs.append(float(np.mean(d)))
    return float(np.mean(diffs)) if diffs else math.nan


def rows_of(records: list[RDRecord], set_name: str, refs: dict[str, str]) -> list[dict]:
    """One row per model: post BD-rate / BD-PSNR and plain-view BD-PSNR / BD-rate vs each anchor (per-image means),
    and the plain view's PSNR difference at matched rate (:func:`matched_rate_dpsnr`)."""
    labels = {r.label for r in records}
    anchors = [a for a in ANCHORS if a in labels]
    curves = summarize(records, anchors=anchors)
    rows = []
    for label, ref in refs.items():
        meta = model_meta(ref)
        post, view = curves[label], curves[plain_view_label(label)]
        row: dict[str, Any] = {
            "set": set_name,
            "label": label,
            "model": ref,
            "mu": bottleneck_weight(meta),
            "init": meta.get("sandwich_train", {}).get("init"),
            "steps": meta.get("trained_steps"),
            "n_images": post["n_images"],
        }
        for a in anchors:
            sfx = "" if a == "plain" else "_nopass"
            row[f"post_bd_rate{sfx}"] = post["bd"][a]["bd_rate_img"]
            row[f"post_bd_psnr{sfx}"] = post["bd"][a]["bd_psnr_img"]
            row[f"view_bd_psnr{sfx}"] = view["bd"][a]["bd_psnr_img"]
            row[f"view_bd_rate{sfx}"] = view["bd"][a]["bd_rate_img"]
            row[f"view_dpsnr_matched{sfx}"] = matched_rate_dpsnr(records, plain_view_label(label), a)
        rows.append(row)
    return rows


def plot(rows: list[dict], path: Path) -> None:
    """x: plain-viewer BD-PSNR (dB), y: post BD-rate (%), one marker per image set, points labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5.0), constrained_layout=True)
    for r in rows:
        ok = r["view_bd_psnr"] is not None and math.isfinite(r["view_bd_psnr"])
        r["x"] = r["view_bd_psnr"] if ok else r["view_dpsnr_matched"]
        r["name"] = r["label"] if ok else r["label"] + "*"
    sets = list(dict.fromkeys(r["set"] for r in rows))
    for set_name, marker, colour in zip(sets, "os^", ["tab:blue", "tab:orange", "tab:green"]):
        pts = sorted((r for r in rows if r["set"] == set_name), key=lambda r: r["x"])
        ax.plot([r["x"] for r in pts], [r["post_bd_rate"] for r in pts], "-", color=colour, alpha=0.4)
        for r in pts:
            ax.plot(r["x"], r["post_bd_rate"], marker, color=colour)
            ax.annotate(r["name"], (r["x"], r["post_bd_rate"]), fontsize=8, xytext=(4, 4),
                        textcoords="offset points")  # fmt: skip
        ax.plot([], [], marker, color=colour, label=f"{set_name} ({pts[0]['n_images']} images)")
        post_only = [r for r in pts if r["mu"] is None]
        if post_only:
            ax.axhline(post_only[0]["post_bd_rate"] - 3.0, color=colour, ls=":", lw=1)
    ax.axvline(-1.0, color="gray", ls="--", lw=1)
    ax.set_xscale("symlog", linthresh=2.0)  # the full sandwich sits ~15 dB left of the others
    ax.set_xticks([-16, -8, -4, -2, -1, 0, 1], ["−16", "−8", "−4", "−2", "−1", "0", "1"])
    ax.set_xlabel(
        "plain-viewer BD-PSNR vs JPEG 4:2:0 (dB, symlog; file opened without post-processor)\n"
        "* = PSNR difference at matched rate (BD-PSNR undefined: the PSNR does not grow with the rate)"
    )
    ax.set_ylabel("post-processed BD-rate vs JPEG 4:2:0 (%)")
    ax.set_title("Viewer-compatible sandwich: μ trade-off (target: right of dashed, below dotted)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def measure(args: argparse.Namespace) -> list[Path]:
    """Sweep every ``--set`` (its ``--part``) with all ``--model``s and the anchors in one :func:`evaluate` call;
    returns the report folders."""
    refs = dict(spec.rsplit("=", 1) for spec in args.model)
    models = {label: load_any(ref) for label, ref in refs.items()}
    k, n = (int(v) for v in args.part.split("/"))
    dirs = []
    for spec in args.set:
        name, folder = spec.split("=", 1)
        imgs = load_images(folder)
        names = sorted(imgs)[: args.limit or None]
        names = names[(k - 1) * len(names) // n : k * len(names) // n]
        out = Path(args.out) / (name if n == 1 else f"{name}.part{k}of{n}")
        t0 = time.time()
        evaluate(
            models,
            {m: imgs[m] for m in names},
            out,
            EvalSpec(
                codec="jpeg",
                qualities=args.qualities,
                settings={"subsampling": "420", "optimize": True},
                plain_view=True,
            ),
        )
        info = {
            "set": name,
            "folder": folder,
            "images": names,
            "refs": refs,
            "seconds": round(time.time() - t0, 1),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.machine()}, 2-core CPU shared with other jobs, torch threads 1",
            "lossless_pass": bool(getattr(JpegSettings(), "lossless_pass", False)),
            "qualities": args.qualities,
        }
        (out / "models.json").write_text(json.dumps(info, indent=2))
        print(f"{name} part {k}/{n}: {len(names)} images in {time.time() - t0:.0f} s", flush=True)
        dirs.append(out)
    return dirs


def report(dirs: list[Path], out: Path, chart: Path) -> list[dict]:
    """Rows of the sweeps in ``dirs`` (parts of one set are joined), written as CSV / JSON and charted."""
    parts: dict[str, list[dict]] = {}
    for d in dirs:
        info = json.loads((d / "models.json").read_text())
        parts.setdefault(info["set"], []).append({**info, "records": read_csv(d / "records.csv")})
    rows, sets = [], {}
    for name, infos in parts.items():
        refs = infos[0]["refs"]
        if any(i["refs"] != refs or i["qualities"] != infos[0]["qualities"] for i in infos):
            raise SystemExit(f"{name}: parts measured with different models or qualities")
        rows += rows_of([r for i in infos for r in i["records"]], name, refs)
        sets[name] = {k: infos[0][k] for k in ("folder", "machine", "qualities", "lossless_pass")}
        sets[name].update(
            images=sum(len(i["images"]) for i in infos),
            seconds=[i["seconds"] for i in infos],
            dates=[i["date"] for i in infos],
            lossless_pass_all=[i["lossless_pass"] for i in infos],
        )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "tradeoff.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in rows]
    (out / "tradeoff.json").write_text(json.dumps({"sets": sets, "rows": clean}, indent=2))
    plot([dict(r) for r in rows], chart)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=FOLDER", help="image set (repeatable)")
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=REF", help="model (repeatable)")
    ap.add_argument("--qualities", type=int, nargs="+", default=list(QUALITIES))
    ap.add_argument("--limit", type=int, default=0, help="first N images of each set, by name (0 = all)")
    ap.add_argument("--part", default="1/1", metavar="K/N", help="sweep only the K-th of N equal slices of each set")
    ap.add_argument("--report", nargs="+", default=None, metavar="DIR", help="only report earlier sweeps")
    ap.add_argument("--out", default="runs/compat/eval")
    ap.add_argument("--chart", default=None, help="chart path (default OUT/tradeoff.png)")
    args = ap.parse_args()
    if args.report is None and not (args.set and args.model):
        ap.error("give --set and --model (or --report)")
    dirs = [Path(d) for d in args.report] if args.report else measure(args)
    rows = report(dirs, Path(args.out), Path(args.chart) if args.chart else Path(args.out) / "tradeoff.png")
    for r in rows:
        print(
            f"{r['set']:>10} {r['label']:>12} μ={r['mu']!s:>5} post BD-rate {r['post_bd_rate']:+.2f}%  plain view "
            f"BD-PSNR {r['view_bd_psnr']:+.2f} dB (ΔPSNR at matched rate {r['view_dpsnr_matched']:+.2f} dB)"
        )


if __name__ == "__main__":
    main()
