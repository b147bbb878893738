"""Rate honesty: the trained rate proxy's prediction vs the REAL file size, on pre-processed test images.

For each model, image and quality: pre-process, encode with the real codec, and compare the proxy's
bits (with the model's real-codec correction) for that very code image with 8·len(file).

    python benchmarks/rate_honesty.py --model jpeg420 --model jpeg444 --out runs/rate_honesty
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from neuralwrap.rd.sweep import load_images
from neuralwrap.sandwich.inference.codec import load_any


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", action="append", required=True)
    p.add_argument("--data", default="../shared/data/kodak")
    p.add_argument("--qualities", type=int, nargs="+", default=[5, 8, 12, 18, 25, 35, 50, 65, 80, 90])
    p.add_argument("--out", default="runs/rate_honesty")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    images = load_images(a.data)
    rows, summary = [], {}
    for ref in a.model:
        sc = load_any(ref)
        per_q: dict[int, list[float]] = {}
        for name, img in images.items():
            for q in a.qualities:
                data, code = sc.encode_with_code(img, q)
                pred, real = sc.proxy_bits(code, q), 8.0 * len(data)
                rows.append(
                    {
                        "model": sc.name,
                        "image": name,
                        "quality": q,
                        "pred_bits": pred,
                        "real_bits": real,
                        "rel_err": (pred - real) / real,
                    }
                )
                per_q.setdefault(q, []).append((pred - real) / real)
        summary[sc.name] = {
            "median_abs_rel_err": {str(q): float(np.median(np.abs(v))) for q, v in per_q.items()},
            "median_signed_rel_err": {str(q): float(np.median(v)) for q, v in per_q.items()},
            "all": float(np.median(np.abs([r for v in per_q.values() for r in v]))),
        }
        print(
            sc.name,
            {q: f"{100 * m:.1f}%" for q, m in summary[sc.name]["median_abs_rel_err"].items()},
            f"all {100 * summary[sc.name]['all']:.1f}%",
        )
    with open(out / "rows.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
