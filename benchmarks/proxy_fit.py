"""Fit the JPEG rate model (and the intra proxy's tables) to real files of TRAINING images.

Never run on Kodak (test set). Writes ``src/neuralwrap/proxies/jpeg_rate_params.json`` (``--what jpeg``)
or ``src/neuralwrap/proxies/intra_params.json`` (``--what intra``) with the command that produced it.

    python benchmarks/proxy_fit.py --what jpeg --data ../shared/data/train --samples 1500
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy_common import add_noise, blur, encode_decode, list_images, load_rgb, unsharp_mask  # noqa: E402

from neuralwrap.proxies.jpeg import jpeg_proxy  # noqa: E402
from neuralwrap.proxies.rate import (  # noqa: E402
    FEATURE_NAMES,
    NAIVE_FEATURE_NAMES,
    fit_rate_model,
    naive_rate_features,
    rate_features,
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
        except Exception:  # noqa: BLE001 - Pillow's optimize=True buffer can overflow on tiny noisy crops
            continue
        arr = img if img.ndim == 3 else img[:, :, None]
        x = torch.from_numpy(np.array(arr.transpose(2, 0, 1)))[None].double() / 255
        with torch.no_grad():
            out = jpeg_proxy(x, q, ss)
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
        "35% unsharp mask (amount 0.3..3, sigma 0.5..2.5), 12% blur, 13% noise",
        "encoder": "Pillow JPEG, optimize=True, baseline (libjpeg-turbo)",
        "fit": "NNLS on relative error",
        "date": _dt.date.today().isoformat(),
        "seconds": round(time.time() - t0, 1),
    }
    return doc


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--what", choices=["jpeg", "intra"], default="jpeg")
    p.add_argument("--data", type=Path, default=Path("../shared/data/train"))
    p.add_argument("--samples", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="output JSON (default: shipped file in proxies/)")
    args = p.parse_args(argv)
    if "kodak" in str(args.data).lower():
        raise SystemExit("refusing to fit on Kodak (test set)")
    if args.what == "jpeg":
        doc = fit_jpeg(args)
        out = args.out or _PROXIES / "jpeg_rate_params.json"
    else:
        from neuralwrap.proxies.intra import fit_intra_from_images  # noqa: PLC0415

        doc = fit_intra_from_images(list_images(args.data), args)
        out = args.out or _PROXIES / "intra_params.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc.get("train_fit", {}), indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
