"""``sandwich eval``: sandwich models vs the plain codec, with the REAL codec and real bytes.

Writes into ``out_dir``: ``records.csv`` (one row per label × image × quality), ``rate_honesty.csv``
(proxy-predicted vs real bits of each sandwich code image), ``summary.json`` (PSNR at fixed bpp,
BD-rate / BD-PSNR vs the plain codec, rate honesty per quality, model size), ``rd.png`` and
``comparison.png`` (crops at a matched rate).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.codecs.sweep import RDRecord, average_curve, load_images, rd_sweep, summarize, write_csv
from neuralwrap.io.atomic import atomic_path
from neuralwrap.metrics.plots import plot_rd
from neuralwrap.nn import count_parameters, macs_per_pixel
from neuralwrap.sandwich.codec import SandwichCodec

__all__ = ["EvalSpec", "evaluate", "rate_honesty_by_quality", "plot_comparison", "model_complexity"]

log = logging.getLogger(__name__)


@dataclass
class EvalSpec:
    """What to evaluate."""

    codec: str = "jpeg"
    """Real codec to run (the model's own, or another one to test transfer)."""
    qualities: Sequence[int] = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90)
    """Codec qualities of the sweep."""
    settings: Mapping[str, Any] | None = None
    """Codec settings shared by the plain anchor and every model (e.g. subsampling, optimize)."""
    cond_quality: Mapping[int, int] | None = None
    """Quality the networks are told for each codec quality (transfer to another codec); default same."""
    anchor: str = "plain"
    """Label of the plain-codec curve."""


def model_complexity(sc: SandwichCodec) -> dict[str, Any]:
    """Parameters and multiply-accumulates per pixel of the pre- and post-processor."""
    m = sc.model
    out: dict[str, Any] = {}
    for part in ("pre", "post"):
        mod = getattr(m, part)
        if mod is None:
            out[part] = {"params": 0, "macs_per_pixel": 0.0}
            continue
        probe = _QualityProbe(mod)
        out[part] = {"params": count_parameters(mod), "macs_per_pixel": macs_per_pixel(probe, mod.in_ch)}
    return out


class _QualityProbe(torch.nn.Module):
    def __init__(self, proc: torch.nn.Module) -> None:
        super().__init__()
        self.proc = proc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proc(x, torch.full((x.shape[0],), 50.0, device=x.device))


def _sandwich_roundtrip(sc: SandwichCodec, spec: EvalSpec, honesty: list[dict[str, Any]], label: str):
    settings = dict(spec.settings or {})
    own_codec = spec.codec == sc.config.codec

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        cq = int((spec.cond_quality or {}).get(int(quality), quality))
        data, code = sc.encode_with_code(image, int(quality), codec=spec.codec, cond_quality=cq, **settings)
        if own_codec:
            pred, real = sc.proxy_bits(code, cq), 8.0 * len(data)
            honesty.append({"label": label, "quality": int(quality), "pred_bits": pred, "real_bits": real,
                            "rel_err": (pred - real) / real})
        return data, sc.decode(data)

    return run


def rate_honesty_by_quality(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """``{label: {quality: median |pred-real|/real}}`` plus ``all`` per label."""
    by: dict[str, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by[r["label"]][str(r["quality"])].append(abs(r["rel_err"]))
        by[r["label"]]["all"].append(abs(r["rel_err"]))
    return {lab: {q: float(np.median(v)) for q, v in qs.items()} for lab, qs in by.items()}


def _write_rows_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    import csv

    if not rows:
        return
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _write_json(obj: Any, path: Path) -> None:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            return clean(v.item())
        return v

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(clean(obj), indent=2))


def evaluate(
    models: Mapping[str, SandwichCodec],
    images: str | os.PathLike[str] | Mapping[str, np.ndarray],
    out_dir: str | os.PathLike[str],
    spec: EvalSpec | None = None,
    *,
    progress: bool = False,
    comparison_bpp: float = 0.4,
) -> dict[str, Any]:
    """Sweep the plain codec and every model over ``images`` with the real codec; write the report.

    Returns the summary dict (also written as ``summary.json``).
    """
    spec = spec or EvalSpec()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    imgs = load_images(images)
    settings = dict(spec.settings or {})
    records: list[RDRecord] = rd_sweep(spec.codec, imgs, spec.qualities, label=spec.anchor, progress=progress, **settings)
    honesty: list[dict[str, Any]] = []
    for label, sc in models.items():
        run = _sandwich_roundtrip(sc, spec, honesty, label)
        records += rd_sweep(spec.codec, imgs, spec.qualities, label=label, roundtrip=run, progress=progress)
    write_csv(records, out / "records.csv")
    _write_rows_csv(honesty, out / "rate_honesty.csv")
    summary: dict[str, Any] = {
        "codec": spec.codec,
        "settings": settings,
        "qualities": list(spec.qualities),
        "n_images": len(imgs),
        "cond_quality": {str(k): v for k, v in (spec.cond_quality or {}).items()},
        "curves": summarize(records, anchors=[spec.anchor]),
        "rate_honesty_median_rel_err": rate_honesty_by_quality(honesty),
        "models": {label: {"name": sc.name, "version": sc.version, **model_complexity(sc)} for label, sc in models.items()},
    }
    _write_json(summary, out / "summary.json")
    curves = {lab: average_curve(records, lab)[1:] for lab in [spec.anchor, *models]}
    plot_rd(curves, out / "rd.png", title=f"{spec.codec} {settings} on {len(imgs)} images (real codec)")
    plot_comparison(imgs, records, models, spec, out / "comparison.png", target_bpp=comparison_bpp)
    return summary


def _closest(records: Sequence[RDRecord], label: str, image: str, bpp: float) -> RDRecord:
    cands = [r for r in records if r.label == label and r.image == image]
    return min(cands, key=lambda r: abs(math.log(r.bpp / bpp)))


def plot_comparison(
    imgs: Mapping[str, np.ndarray],
    records: Sequence[RDRecord],
    models: Mapping[str, SandwichCodec],
    spec: EvalSpec,
    path: Path,
    target_bpp: float = 0.4,
    crop: int = 192,
) -> None:
    """Side-by-side crops (original, plain, each model) of one image, each at the quality whose real
    rate is closest to ``target_bpp``; titles give the real bpp and PSNR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = sorted(imgs)[min(len(imgs) - 1, 22)] if len(imgs) > 1 else next(iter(imgs))
    img = imgs[name]
    h, w = img.shape[:2]
    c = min(crop, h, w)
    y0, x0 = (h - c) // 2, (w - c) // 2
    panels = [("original", img, "")]
    settings = dict(spec.settings or {})
    plain_rec = _closest(records, spec.anchor, name, target_bpp)
    data = get_codec(spec.codec).encode(img, quality=int(plain_rec.quality), **settings)
    panels.append((f"{spec.anchor} q={plain_rec.quality:g}", get_codec(spec.codec).decode(data),
                   f"{plain_rec.bpp:.3f} bpp, {plain_rec.psnr:.2f} dB"))
    for label, sc in models.items():
        rec = _closest(records, label, name, target_bpp)
        q = int(rec.quality)
        cq = int((spec.cond_quality or {}).get(q, q))
        data = sc.encode(img, q, codec=spec.codec, cond_quality=cq, **settings)
        panels.append((f"{label} q={q}", sc.decode(data),
                       f"{rec.bpp:.3f} bpp, {rec.psnr:.2f} dB"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), constrained_layout=True)
    for ax, (title, im, sub) in zip(np.atleast_1d(axes), panels):
        patch = im[y0 : y0 + c, x0 : x0 + c]
        ax.imshow(patch if patch.shape[2] == 3 else patch[:, :, 0], cmap=None if patch.shape[2] == 3 else "gray",
                  interpolation="nearest")
        ax.set_title(f"{title}\n{sub}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{name}: centre crop, matched rate ≈ {target_bpp} bpp ({spec.codec})", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
