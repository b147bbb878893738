"""Fidelity of the differentiable codec proxies against the real codecs on Kodak.

For every image, quality and subsampling: PSNR of the proxy's decoded image vs the real decoder's, and
the rate proxies' bits vs the real file's bits (8 * len(bytes)), on the plain images and on unsharp-masked
copies (what a sharpening pre-processor produces). The rate models were fitted on training photos only.

    python benchmarks/proxy_fidelity.py --data ../shared/data/kodak --qualities 10 20 30 40 50 60 70 80 90 \
        --subsampling 420 444 --out runs/proxy_fidelity [--intra]

Writes ``rows.csv`` (one row per image/variant/subsampling/quality), ``summary.json`` and ``proxy_fidelity.png``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_common import encode_decode, list_images, load_rgb, psnr, unsharp_mask
from neuralwrap.proxies.jpeg import jpeg_proxy
from neuralwrap.proxies.rate import jpeg_rate, naive_rate


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(img.transpose(2, 0, 1)))[None].float() / 255


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return np.clip(np.rint(x[0].permute(1, 2, 0).numpy() * 255), 0, 255).astype(np.uint8)


def jpeg_rows(paths: list[Path], args: argparse.Namespace) -> list[dict]:
    """One row per (image, variant, subsampling, quality) for the JPEG proxy."""
    rows = []
    for path in paths:
        base = load_rgb(path)
        variants = {"plain": base}
        for spec in args.usm:
            amount, sigma = (float(v) for v in spec.split(":"))
            variants[f"usm{spec}"] = unsharp_mask(base, amount, sigma)
        for variant, img in variants.items():
            x = _to_tensor(img)
            for ss in args.subsampling:
                for q in args.qualities:
                    data, dec = encode_decode(img, "jpeg", q, ss)
                    with torch.no_grad():
                        out = jpeg_proxy(x, q, ss)
                        rich, naive = float(jpeg_rate(out)[0]), float(naive_rate(out)[0])
                    rows.append({
                        "image": path.stem, "variant": variant, "subsampling": ss, "quality": q,
                        "height": img.shape[0], "width": img.shape[1],
                        "psnr_real": psnr(img, dec), "psnr_proxy": psnr(img, _to_uint8(out.image)),
                        "bits_real": 8 * len(data), "bits_rich": rich, "bits_naive": naive,
                    })  # fmt: skip
        print(f"{path.stem} done", flush=True)
    return rows


def _stats(rows: list[dict]) -> dict:
    real = np.array([r["bits_real"] for r in rows], dtype=np.float64)
    d_psnr = np.array([r["psnr_proxy"] - r["psnr_real"] for r in rows])
    out = {"n": len(rows), "mean_abs_dpsnr_db": float(np.mean(np.abs(d_psnr))), "mean_dpsnr_db": float(d_psnr.mean())}
    for m in ("rich", "naive"):
        rel = np.array([r[f"bits_{m}"] for r in rows]) / real - 1
        out[f"median_abs_rel_bits_{m}"] = float(np.median(np.abs(rel)))
        out[f"median_rel_bits_{m}"] = float(np.median(rel))  # signed: < 0 = under-priced
    return out


def summarise(rows: list[dict]) -> dict:
    """Summary per (variant, subsampling), overall and per quality."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["variant"], r["subsampling"])].append(r)
    summary: dict = {}
    for (variant, ss), rs in sorted(groups.items()):
        per_q: dict[int, list[dict]] = defaultdict(list)
        for r in rs:
            per_q[r["quality"]].append(r)
        per_quality = {q: _stats(v) for q, v in sorted(per_q.items())}
        summary[f"{variant}_{ss}"] = {"overall": _stats(rs), "per_quality": per_quality}
    return summary


def sharpening_price(rows: list[dict]) -> dict:
    """How well each rate model prices sharpening: median over (image, quality) of
    ``(pred_usm / pred_plain) / (real_usm / real_plain) - 1`` (< 0: the extra bits of sharpening are under-priced)."""
    plain = {(r["image"], r["subsampling"], r["quality"]): r for r in rows if r["variant"] == "plain"}
    out: dict = {}
    for variant in dict.fromkeys(r["variant"] for r in rows if r["variant"] != "plain"):
        for ss in dict.fromkeys(r["subsampling"] for r in rows):
            rs = [r for r in rows if r["variant"] == variant and r["subsampling"] == ss]
            entry = {}
            for m in ("rich", "naive"):
                ratio = [
                    (r[f"bits_{m}"] / p[f"bits_{m}"]) / (r["bits_real"] / p["bits_real"]) - 1
                    for r in rs
                    for p in [plain[(r["image"], ss, r["quality"])]]
                ]
                entry[f"median_{m}"] = float(np.median(ratio))
            real_growth = [r["bits_real"] / plain[(r["image"], ss, r["quality"])]["bits_real"] - 1 for r in rs]
            entry["median_real_bit_increase"] = float(np.median(real_growth))
            out[f"{variant}_{ss}"] = entry
    return out


def plot(rows: list[dict], summary: dict, path: Path) -> None:
    """Three panels: proxy vs real bits, median signed bit error per quality, proxy vs real PSNR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(16, 5))
    for m, mk in (("rich", "o"), ("naive", "x")):
        colours = ("tab:blue", "tab:red", "tab:orange", "tab:purple")
        for variant, col in zip(dict.fromkeys(r["variant"] for r in rows), colours):
            rs = [r for r in rows if r["variant"] == variant and r["subsampling"] == "420"]
            ax[0].scatter([r["bits_real"] / 1e3 for r in rs], [r[f"bits_{m}"] / 1e3 for r in rs], s=8, marker=mk,
                          c=col, alpha=0.5, label=f"{m}, {variant}")  # fmt: skip
    lim = max(r["bits_real"] for r in rows) / 1e3
    ax[0].plot([0, lim], [0, lim], "k--", lw=1)
    ax[0].set(xlabel="real kbits (JPEG 4:2:0, optimize)", ylabel="proxy kbits", title="rate proxy vs real (Kodak)")
    ax[0].legend(fontsize=8)
    for key, entry in summary.items():
        if not key.endswith("_420"):
            continue
        qs = sorted(entry["per_quality"])
        for m, ls in (("rich", "-"), ("naive", ":")):
            ax[1].plot(qs, [100 * entry["per_quality"][q][f"median_rel_bits_{m}"] for q in qs], ls, marker=".",
                       label=f"{m} {key}")  # fmt: skip
    ax[1].axhline(0, color="k", lw=1)
    ax[1].set(xlabel="JPEG quality", ylabel="median signed bit error %", title="bits: proxy/real - 1")
    ax[1].legend(fontsize=7, ncol=2)
    for ss, col in (("420", "tab:blue"), ("444", "tab:green")):
        rs = [r for r in rows if r["subsampling"] == ss]
        ax[2].scatter([r["psnr_real"] for r in rs], [r["psnr_proxy"] for r in rs], s=6, c=col, label=ss)
    ax[2].plot([20, 50], [20, 50], "k--", lw=1)
    ax[2].set(xlabel="real PSNR dB", ylabel="proxy PSNR dB", title="distortion proxy vs real")
    ax[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_csv(rows: list[dict], path: Path) -> None:
    """Rows as CSV."""
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data/kodak"))
    p.add_argument("--qualities", type=int, nargs="+", default=list(range(10, 91, 10)))
    p.add_argument("--subsampling", nargs="+", default=["420", "444"], choices=["420", "444"])
    p.add_argument("--usm", nargs="*", default=["1.5:1.0", "3.0:2.0"], help="unsharp masks amount:sigma")
    p.add_argument("--limit", type=int, default=0, help="only the first N images (0 = all)")
    p.add_argument("--intra", action="store_true", help="also measure the intra proxy against heif")
    p.add_argument("--intra-qualities", type=int, nargs="+", default=[20, 40, 60, 80])
    p.add_argument("--intra-codecs", nargs="+", default=["heif", "avif"], choices=["heif", "avif"])
    p.add_argument("--out", type=Path, default=Path("runs/proxy_fidelity"))
    args = p.parse_args(argv)
    paths = list_images(args.data)[: args.limit or None]
    if not paths:
        print(f"error: no PNG images under {args.data}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    torch.set_num_threads(1)
    rows = jpeg_rows(paths, args)
    summary = {"jpeg": summarise(rows), "sharpening_price": sharpening_price(rows)}
    write_csv(rows, args.out / "rows.csv")
    plot(rows, summary["jpeg"], args.out / "proxy_fidelity.png")
    if args.intra:
        from intra_fidelity import intra_rows, intra_summary

        irows = intra_rows(paths, args)
        write_csv(irows, args.out / "intra_rows.csv")
        summary["intra"] = intra_summary(irows)
    summary["meta"] = {
        "command": "python benchmarks/proxy_fidelity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": _dt.date.today().isoformat(), "machine": platform.platform(), "seconds": round(time.time() - t0, 1),
        "images": len(paths), "usm_amount_sigma": args.usm,
    }  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    for key, entry in summary["jpeg"].items():
        print(key, json.dumps(entry["overall"]))
    print("sharpening_price", json.dumps(summary["sharpening_price"]))
    if "intra" in summary:
        print("intra", json.dumps(summary["intra"]["overall"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
