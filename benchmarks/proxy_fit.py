"""Fit the JPEG rate model (and the intra proxy's tables) to real files of TRAINING images.

Never run on Kodak (test set). Writes ``src/neuralwrap/proxies/jpeg_rate_params.json`` (``--what jpeg``)
or ``src/neuralwrap/proxies/intra_params.json`` (``--what intra``) with the command that produced it.

    python benchmarks/proxy_fit.py --what jpeg --data ../shared/data/train --samples 1500
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_common import add_noise, blur, encode_decode, list_images, load_rgb, psnr, unsharp_mask
from neuralwrap.proxies.jpeg import jpeg_proxy
from neuralwrap.proxies.rate import (
    FEATURE_NAMES,
    NAIVE_FEATURE_NAMES,
    RateParams,
    fit_rate_model,
    jpeg_rate,
    naive_rate_features,
    rate_features,
    refit_scale,
)

_PROXIES = Path(__file__).resolve().parents[1] / "src" / "neuralwrap" / "proxies"


def perturb(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Random stand-in for what a pre-processor might do: none / unsharp / blur / noise."""
    u = rng.random()
    if u < 0.4:
        return img, "plain"
    if u < 0.75:
        a, s = float(rng.uniform(0.3, 3.0)), float(rng.uniform(0.5, 2.5))
        return unsharp_mask(img, a, s), f"usm{a:.1f}/{s:.1f}"
    if u < 0.87:
        return blur(img, float(rng.uniform(0.5, 2.0))), "blur"
    return add_noise(img, float(rng.uniform(1, 8)), rng), "noise"


def random_crop(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random crop, side 48..512 (bounded by the image), sizes not always multiples of 8/16."""
    h, w = img.shape[:2]
    ch = int(rng.integers(48, min(h, 512) + 1))
    cw = int(rng.integers(48, min(w, 512) + 1))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return img[y0 : y0 + ch, x0 : x0 + cw]


def jpeg_samples(paths: list[Path], n: int, seed: int) -> dict[str, dict[str, list]]:
    """Features and real bits of ``n`` random (crop, perturbation, quality, subsampling) samples."""
    rng = np.random.default_rng(seed)
    imgs = [load_rgb(p) for p in paths]
    res: dict[str, dict[str, list]] = {s: {"f": [], "fn": [], "bits": []} for s in ("420", "444", "400")}
    for i in range(n):
        img, _ = perturb(random_crop(imgs[int(rng.integers(len(imgs)))], rng), rng)
        q = int(rng.integers(5, 96))
        ss = ("420", "444", "400")[i % 3]
        if ss == "400":
            img = np.asarray(Image.fromarray(img).convert("L"))
        try:
            data, _ = encode_decode(img, "jpeg", q, ss, decode=False)
        except Exception:
            continue
        arr = img if img.ndim == 3 else img[:, :, None]
        x = torch.from_numpy(np.array(arr.transpose(2, 0, 1)))[None].double() / 255
        with torch.no_grad():
            out = jpeg_proxy(x, q, ss)
            res[ss]["f"].append(rate_features(out)[0].numpy())
            res[ss]["fn"].append(naive_rate_features(out)[0].numpy())
        res[ss]["bits"].append(8 * len(data))
    return res


def adversarial_samples(
    paths: list[Path], n: int, seed: int, models: dict[str, RateParams]
) -> dict[str, dict[str, list]]:
    """Crops optimised against the current rate model (what a pre-processor will do), then coded for real.

    Each crop takes 20 Adam steps on ``MSE_8bit + lam * bits/pixel`` through the proxy (lam log-uniform in
    [2, 60], random quality), is rounded to uint8, and then gives one (features, real bits) sample.
    """
    rng = np.random.default_rng(seed + 1)
    imgs = [load_rgb(p) for p in paths]
    res: dict[str, dict[str, list]] = {s: {"f": [], "fn": [], "bits": []} for s in ("420", "444", "400")}
    for i in range(n):
        img = imgs[int(rng.integers(len(imgs)))]
        h, w = img.shape[:2]
        ch, cw = int(rng.integers(96, 225)), int(rng.integers(96, 225))
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        img = img[y0 : y0 + ch, x0 : x0 + cw]
        ss = ("420", "444", "400")[i % 3]
        if ss == "400":
            img = np.asarray(Image.fromarray(img).convert("L"))[:, :, None]
        q, lam = int(rng.integers(5, 96)), float(np.exp(rng.uniform(np.log(2), np.log(60))))
        ref = torch.from_numpy(np.array(img.transpose(2, 0, 1)))[None].float() / 255
        x = ref.clone().requires_grad_()
        opt = torch.optim.Adam([x], lr=2e-3)
        for _ in range(20):
            out = jpeg_proxy(x, q, ss)
            loss = ((out.image - ref) ** 2).mean() * 255**2 + lam * jpeg_rate(out, models[ss]).sum() / (ch * cw)
            opt.zero_grad()
            loss.backward()
            opt.step()
        arr = np.clip(np.rint(x.detach()[0].permute(1, 2, 0).numpy() * 255), 0, 255).astype(np.uint8)
        try:
            data, _ = encode_decode(arr if ss != "400" else arr[:, :, 0], "jpeg", q, ss, decode=False)
        except Exception:
            continue
        xt = torch.from_numpy(np.array(arr.transpose(2, 0, 1)))[None].double() / 255
        with torch.no_grad():
            out = jpeg_proxy(xt, q, ss)
            res[ss]["f"].append(rate_features(out)[0].numpy())
            res[ss]["fn"].append(naive_rate_features(out)[0].numpy())
        res[ss]["bits"].append(8 * len(data))
    return res


def _rel_err(pred: np.ndarray, real: np.ndarray) -> float:
    return float(np.median(np.abs(pred / real - 1)))


def fit_jpeg(args: argparse.Namespace) -> dict:
    """Fit rich + naive models per subsampling; returns the JSON document."""
    paths = list_images(args.data)
    if not paths:
        raise SystemExit(f"no PNG images under {args.data}")
    t0 = time.time()
    res = jpeg_samples(paths, args.samples, args.seed)
    if args.adversarial:
        first = {
            ss: fit_rate_model(np.array(r["f"]), np.array(r["bits"], dtype=np.float64), list(FEATURE_NAMES))
            for ss, r in res.items()
        }
        adv = adversarial_samples(paths, args.adversarial, args.seed, first)
        for ss in res:
            f = np.array(adv[ss]["f"])
            pred_first = f @ np.array(first[ss].weights)
            print(f"{ss}: first fit on adversarial crops: median signed error "
                  f"{np.median(pred_first / np.array(adv[ss]['bits']) - 1):+.3f}", flush=True)  # fmt: skip
            for k in res[ss]:
                res[ss][k] += adv[ss][k]
    doc: dict = {"format_version": 1, "rich": {}, "naive": {}, "train_fit": {}}
    for ss, r in res.items():
        f, fn, bits = np.array(r["f"]), np.array(r["fn"]), np.array(r["bits"], dtype=np.float64)
        rich = fit_rate_model(f, bits, list(FEATURE_NAMES))
        naive = fit_rate_model(fn, bits, list(NAIVE_FEATURE_NAMES))
        doc["rich"][ss] = {"names": rich.names, "weights": rich.weights}
        doc["naive"][ss] = {"names": naive.names, "weights": naive.weights}
        doc["train_fit"][ss] = {
            "n": len(bits),
            "median_rel_err_rich": _rel_err(f @ np.array(rich.weights), bits),
            "median_rel_err_naive": _rel_err(fn @ np.array(naive.weights), bits),
        }
    doc["provenance"] = {
        "command": "python benchmarks/proxy_fit.py " + " ".join(sys.argv[1:]),
        "data": f"{len(paths)} PNG under {args.data} (training photos; Kodak never used)",
        "samples": "random crops 48..512 px, quality 5..95, subsampling 420/444/400 in turn; 40% plain, "
        "35% unsharp mask (amount 0.3..3, sigma 0.5..2.5), 12% blur, 13% noise; plus --adversarial crops "
        "96..224 px optimised 20 Adam steps against a first fit (MSE + lam*bpp, lam 2..60), then refit on all",
        "encoder": "Pillow JPEG, optimize=True, baseline (libjpeg-turbo)",
        "fit": "NNLS on relative error",
        "date": _dt.date.today().isoformat(),
        "seconds": round(time.time() - t0, 1),
    }
    return doc


def _crops(paths: list[Path], n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    imgs = [load_rgb(p) for p in paths]
    out = []
    for _ in range(n):
        img = imgs[int(rng.integers(len(imgs)))]
        h, w = img.shape[:2]
        y0, x0 = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        out.append(img[y0 : y0 + size, x0 : x0 + size])
    return np.stack(out)


def _match_step(x: torch.Tensor, crops: np.ndarray, target_db: float, codec: str, ss: str) -> float:
    """Bisection on log(step) so that the proxy's mean PSNR over the crops equals ``target_db``."""
    from neuralwrap.proxies.intra import intra_proxy

    lo, hi = math.log(0.5), math.log(400.0)
    for _ in range(22):
        mid = 0.5 * (lo + hi)
        with torch.no_grad():
            rec = intra_proxy(x, step=math.exp(mid), codec=codec, subsampling=ss).image
        dec = np.clip(np.rint(rec.permute(0, 2, 3, 1).numpy() * 255), 0, 255)
        db = float(np.mean([psnr(c, d) for c, d in zip(crops, dec)]))
        lo, hi = (mid, hi) if db > target_db else (lo, mid)
    return math.exp(0.5 * (lo + hi))


def fit_intra(paths: list[Path], args: argparse.Namespace) -> dict:
    """quality -> step tables (PSNR-matched) and NNLS rate weights for each codec / subsampling."""
    from neuralwrap.proxies.intra import INTRA_FEATURE_NAMES, intra_proxy, intra_rate_features

    rng = np.random.default_rng(args.seed)
    crops = _crops(paths, args.intra_crops, args.intra_size, rng)
    x = torch.from_numpy(np.array(crops.transpose(0, 3, 1, 2))).float() / 255
    doc: dict = {"format_version": 1, "codecs": {}, "train_fit": {}}
    for codec in args.codecs:
        steps, feats, bits, gaps = [], [], [], []
        for q in args.qualities:
            coded = [encode_decode(c, codec, q, "420") for c in crops]
            real_db = float(np.mean([psnr(c, d) for c, (_, d) in zip(crops, coded)]))
            st = _match_step(x, crops, real_db, codec, "420")
            steps.append(st)
            with torch.no_grad():
                out = intra_proxy(x, step=st, codec=codec, subsampling="420")
            feats.append(intra_rate_features(out).double().numpy())
            bits += [8 * len(d) for d, _ in coded]
            gaps.append(real_db)
            print(f"{codec} q={q}: real {real_db:.2f} dB, step {st:.2f}", flush=True)
        f, r = np.concatenate(feats), np.array(bits, dtype=np.float64)
        rate = fit_rate_model(f, r, list(INTRA_FEATURE_NAMES))
        pred = f @ np.array(rate.weights)
        nq = len(args.qualities)
        scales = [refit_scale(pred.reshape(nq, -1)[i], r.reshape(nq, -1)[i]) for i in range(nq)]
        doc["codecs"][codec] = {
            "qualities": list(args.qualities), "steps": steps, "block": 8, "real_mean_psnr": gaps,
            "rate_weights": {"420": rate.weights}, "rate_names": list(INTRA_FEATURE_NAMES), "rate_scale": scales,
        }  # fmt: skip
        scaled = pred * np.repeat(scales, len(crops))
        doc["train_fit"][codec] = {
            "median_rel_err_bits_unscaled": _rel_err(pred, r),
            "median_rel_err_bits": _rel_err(scaled, r),
            "n": len(r),
        }
    doc["provenance"] = {
        "command": "python benchmarks/proxy_fit.py " + " ".join(sys.argv[1:]),
        "data": f"{args.intra_crops} random {args.intra_size}x{args.intra_size} crops of {len(paths)} training PNGs",
        "fit": "step: bisection so mean proxy PSNR = mean real PSNR per quality (4:2:0); rate: NNLS relative, "
        "then a per-quality scale (geometric mean of real/pred), interpolated in log(step)",
        "date": _dt.date.today().isoformat(),
    }
    return doc


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--what", choices=["jpeg", "intra"], default="jpeg")
    p.add_argument("--data", type=Path, default=Path("../shared/data/train"))
    p.add_argument("--samples", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adversarial", type=int, default=0, help="jpeg: extra crops optimised against a first fit")
    p.add_argument("--codecs", nargs="+", default=["heif"], help="intra: real codecs to fit")
    p.add_argument("--qualities", type=int, nargs="+", default=[10, 20, 30, 40, 50, 60, 70, 80, 90])
    p.add_argument("--intra-crops", type=int, default=24)
    p.add_argument("--intra-size", type=int, default=256)
    p.add_argument("--out", type=Path, default=None, help="output JSON (default: shipped file in proxies/)")
    args = p.parse_args(argv)
    if "kodak" in str(args.data).lower():
        raise SystemExit("refusing to fit on Kodak (test set)")
    if args.what == "jpeg":
        doc = fit_jpeg(args)
        out = args.out or _PROXIES / "jpeg_rate_params.json"
    else:
        doc = fit_intra(list_images(args.data), args)
        out = args.out or _PROXIES / "intra_params.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc.get("train_fit", {}), indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
