"""Leave-one-out summary of the rerender evaluation (issue 8): one model per held-out photo, every photo of the
scene held out once, so the result is a mean over all photos rather than one photo's luck.

Each fold is a ``benchmarks/rerender_eval.py`` run with ``--holdout NAME`` (same steps, seed and settings), e.g.
for Sacré-Cœur (7 photos; one line per photo, two at a time on the 2-core CPU)::

    OMP_NUM_THREADS=1 python benchmarks/rerender_eval.py --work /tmp/rr_eval --minutes 0 --steps 300 1200 400 \
        --scenes sacre_coeur --seed 0 --color-jitter 1.0 --variants full --holdout NAME.jpg --out runs/rr_loo/NAME

then::

    python benchmarks/rerender_loo.py --runs runs/rr_loo/* --scene sacre_coeur --out runs/rr_loo_summary

Runs of other variants on the same folds (e.g. ``--variants no_appearance`` into another folder) can be listed
too: the baselines they repeat must agree, each model row must come from one run.

Writes ``OUT/loo.md`` (mean per method, per-photo table, wins of each model row over each baseline),
``OUT/loo.json``, ``OUT/loo_per_photo.png`` (PSNR and LPIPS per held-out photo and method) and
``OUT/loo_sheet.png`` (every fold's side-by-side picture stacked).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

BASELINES = ("point", "color_transfer")


def collect(runs: list[Path], scene: str) -> tuple[dict[str, dict[str, dict[str, float]]], list[Path]]:
    """``{photo: {method: {"psnr", "ssim", "lpips"}}}`` over the folds, and their side-by-side pictures."""
    rows: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    pictures = []
    for run in runs:
        ev = run / scene / "eval"
        if not (ev / "per_photo.csv").is_file():
            raise SystemExit(f"{ev}/per_photo.csv is missing: is the fold {run} finished?")
        with open(ev / "per_photo.csv", newline="") as f:
            for r in csv.DictReader(f):
                v = {"psnr": float(r["psnr_db"]), "ssim": float(r["ssim"]), "lpips": float(r["lpips"])}
                seen = rows[r["photo"]].get(r["method"])
                if seen is not None and not (
                    r["method"] in BASELINES and np.allclose(list(seen.values()), list(v.values()))
                ):
                    raise SystemExit(f"photo {r['photo']} / {r['method']} appears in two folds with different values")
                rows[r["photo"]][r["method"]] = v
        pictures += sorted((ev / "side_by_side").glob("*.png"))
    return dict(rows), pictures


def summarise(rows: dict[str, dict[str, dict[str, float]]]) -> dict:
    """Mean / std per method over photos, and for every non-baseline method its wins over each baseline."""
    methods = sorted(
        {m for per in rows.values() for m in per},
        key=lambda m: (0, BASELINES.index(m), "") if m in BASELINES else (1, 0, m),
    )
    out: dict = {"photos": sorted(rows), "mean": {}, "std": {}, "wins": {}}
    for m in methods:
        vals = {k: np.array([rows[p][m][k] for p in rows if m in rows[p]]) for k in ("psnr", "ssim", "lpips")}
        out["mean"][m] = {k: float(v.mean()) for k, v in vals.items()} | {"photos": len(vals["psnr"])}
        out["std"][m] = {k: float(v.std()) for k, v in vals.items()}
    for m in methods:
        if m in BASELINES:
            continue
        out["wins"][m] = {
            b: {
                "psnr": sum(rows[p][m]["psnr"] > rows[p][b]["psnr"] for p in rows if m in rows[p]),
                "lpips": sum(rows[p][m]["lpips"] < rows[p][b]["lpips"] for p in rows if m in rows[p]),
                "both": sum(
                    rows[p][m]["psnr"] > rows[p][b]["psnr"] and rows[p][m]["lpips"] < rows[p][b]["lpips"]
                    for p in rows
                    if m in rows[p]
                ),
            }
            for b in BASELINES
        }
    return out


def table(rows: dict[str, dict[str, dict[str, float]]], s: dict) -> str:
    n = len(s["photos"])
    lines = [
        f"Mean over {n} held-out photos (one model per photo), ± std over photos:",
        "",
        "| method | PSNR ↑ | SSIM ↑ | LPIPS ↓ | photos better than colour transfer (PSNR / LPIPS / both) |",
        "|---|---|---|---|---|",
    ]
    for m, v in s["mean"].items():
        sd = s["std"][m]
        w = s["wins"].get(m, {}).get("color_transfer")
        wins = f"{w['psnr']} / {w['lpips']} / {w['both']} of {v['photos']}" if w else "—"
        lines.append(
            f"| {m} | {v['psnr']:.2f} ± {sd['psnr']:.2f} | {v['ssim']:.3f} | {v['lpips']:.3f} ± {sd['lpips']:.3f} | {wins} |"
        )
    methods = list(s["mean"])
    lines += [
        "",
        "Per photo, PSNR / LPIPS:",
        "",
        "| photo | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for p in s["photos"]:
        cells = [f"{rows[p][m]['psnr']:.2f} / {rows[p][m]['lpips']:.3f}" if m in rows[p] else "–" for m in methods]
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: dict[str, dict[str, dict[str, float]]], s: dict, path: Path) -> None:
    photos, methods = s["photos"], list(s["mean"])
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    width = 0.8 / len(methods)
    x = np.arange(len(photos))
    for ax, key, label in zip(axes, ("psnr", "lpips"), ("PSNR (dB) ↑, right half", "LPIPS ↓, right half")):
        for i, m in enumerate(methods):
            ax.bar(x + i * width, [rows[p].get(m, {}).get(key, np.nan) for p in photos], width, label=m)
        ax.set_xticks(x + 0.4 - width / 2, [p.split("_")[0] for p in photos], rotation=30, fontsize=8)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize=8, frameon=False)
    fig.suptitle(f"Leave-one-out: each photo held out once ({len(photos)} models); appearance from the left half")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sheet(pictures: list[Path], path: Path, width: int = 1350) -> None:
    ims = [Image.open(p).convert("RGB") for p in pictures]
    ims = [im.resize((width, round(im.height * width / im.width))) for im in ims]
    canvas = Image.new("RGB", (width, sum(im.height for im in ims)), "white")
    y = 0
    for im in ims:
        canvas.paste(im, (0, y))
        y += im.height
    canvas.save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="rerender_eval.py output folders, one per fold")
    p.add_argument("--scene", default="sacre_coeur")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    rows, pictures = collect(args.runs, args.scene)
    s = summarise(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loo.json").write_text(
        json.dumps({"runs": [str(r) for r in args.runs], "per_photo": rows, **s}, indent=1)
    )
    (args.out / "loo.md").write_text(table(rows, s))
    plot(rows, s, args.out / "loo_per_photo.png")
    if pictures:
        sheet(pictures, args.out / "loo_sheet.png")
    print(table(rows, s))


if __name__ == "__main__":
    main()
