"""``sandwich eval``: sandwich models vs the plain codec, with the REAL codec and real bytes.

Writes into ``out_dir``: ``records.csv`` (one row per label × image × quality), ``rate_honesty.csv``
(proxy-predicted vs real bits of each sandwich code image), ``summary.json`` (PSNR at fixed bpp,
BD-rate / BD-PSNR vs the plain codec, rate honesty per quality, model size), ``rd.png`` and
``comparison.png`` (crops at a matched rate).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.codecs.base import bits_per_pixel
from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path
from neuralwrap.metrics.psnr import psnr
from neuralwrap.nn import count_parameters, macs_per_pixel
from neuralwrap.rd.bd import bd_psnr, bd_rate
from neuralwrap.rd.plots import plot_rd
from neuralwrap.rd.sweep import (
    RDRecord,
    average_curve,
    curves_by_image,
    load_images,
    rd_sweep,
    summarize,
    write_csv,
)
from neuralwrap.sandwich.apps.registry import get_app
from neuralwrap.sandwich.inference.codec import SandwichCodec
from neuralwrap.sandwich.training.image import SandwichTrainConfig, app_crops

if TYPE_CHECKING:  # pragma: no cover
    from neuralwrap.sandwich.apps.registry import AppRoundtrip, AppSpec

__all__ = [
    "EvalSpec",
    "app_transfer_conditioning",
    "evaluate",
    "evaluate_app",
    "model_complexity",
    "plain_view_label",
    "plot_comparison",
    "rate_honesty_by_quality",
]

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
    """Label of the plain-codec curve (the same codec settings as the models, so for JPEG with the same lossless
    pass)."""
    plain_view: bool = False
    """Also sweep what an ordinary viewer shows of each model's files: the same real bytes decoded by the
    plain codec, without post-processor (label ``"<label> (plain view)"``; PSNR vs the source)."""

    def extra_anchors(self) -> dict[str, dict[str, Any]]:
        """Second plain curves, ``{label: codec settings}``: for JPEG with the lossless pass on, the same JPEG without
        it (``<anchor>-nopass``, e.g. Huffman-optimised JPEG), so that BD-rate is reported against both."""
        settings = dict(self.settings or {})
        if self.codec != "jpeg" or not settings.get("lossless_pass", True):
            return {}
        return {f"{self.anchor}-nopass": {**settings, "lossless_pass": False}}


def model_complexity(sc: SandwichCodec) -> dict[str, Any]:
    """Parameters and multiply-accumulates per pixel of the pre- and post-processor (per pixel of the
    full-resolution source / reconstruction, also for a ``scale = 2`` model whose post runs at half
    resolution), and their totals."""
    m = sc.model
    out: dict[str, Any] = {}
    for part in ("pre", "post"):
        mod = getattr(m, part)
        if mod is None:
            out[part] = {"params": 0, "macs_per_pixel": 0.0}
            continue
        probe = _QualityProbe(mod)
        per_in = macs_per_pixel(probe, mod.in_ch)
        out[part] = {"params": count_parameters(mod), "macs_per_pixel": per_in / (mod.up * mod.up)}
    out["total"] = {k: out["pre"][k] + out["post"][k] for k in ("params", "macs_per_pixel")}
    return out


class _QualityProbe(torch.nn.Module):
    def __init__(self, proc: torch.nn.Module) -> None:
        super().__init__()
        self.proc = proc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proc(x, torch.full((x.shape[0],), 50.0, device=x.device))


def _honest_roundtrip(
    sc: SandwichCodec,
    codec: str,
    settings: Mapping[str, Any],
    cond: Mapping[int, int],
    honesty: list[dict[str, Any]],
    label: str,
    decode: Callable[[bytes], np.ndarray],
):
    """``run(image, quality) -> (real bytes, decode(bytes))`` of ``sc`` over ``codec``, the networks told
    ``cond.get(q, q)``; over the model's own codec each call also appends the proxy-vs-real bits to ``honesty``."""
    own_codec = codec == sc.config.codec

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        cq = int(cond.get(int(quality), quality))
        data, code = sc.encode_with_code(image, int(quality), codec=codec, cond_quality=cq, **settings)
        if own_codec:
            pred, real = sc.proxy_bits(code, cq), 8.0 * len(data)
            honesty.append(
                {
                    "label": label,
                    "quality": int(quality),
                    "pred_bits": pred,
                    "real_bits": real,
                    "rel_err": (pred - real) / real,
                }
            )
        return data, decode(data)

    return run


def _sandwich_roundtrip(sc: SandwichCodec, spec: EvalSpec, honesty: list[dict[str, Any]], label: str):
    return _honest_roundtrip(
        sc, spec.codec, dict(spec.settings or {}), spec.cond_quality or {}, honesty, label, sc.decode
    )


def plain_view_label(label: str) -> str:
    """Label of the plain-view curve of model ``label`` (see :attr:`EvalSpec.plain_view`)."""
    return f"{label} (plain view)"


def _file_key(image: np.ndarray, quality: int) -> tuple[str, int]:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest(), int(quality)


def _remembering(run: Callable[[np.ndarray, int], tuple[bytes, np.ndarray]], files: dict[tuple[str, int], bytes]):
    """``run`` that also keeps each file it writes in ``files`` (by image content and quality)."""

    def wrapped(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        data, decoded = run(image, quality)
        files[_file_key(image, quality)] = data
        return data, decoded

    return wrapped


def _plain_view_roundtrip(sc: SandwichCodec, spec: EvalSpec, files: Mapping[tuple[str, int], bytes]):
    """``run(image, quality) -> (real bytes, plain decode)``: the model's file opened by an ordinary viewer
    (the plain codec's decoder, no post-processor); reuses the files of the model's own sweep (``files``) and
    encodes only those missing."""
    plain = get_codec(spec.codec)
    encode = _honest_roundtrip(sc, spec.codec, dict(spec.settings or {}), spec.cond_quality or {}, [], "", bytes)

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        data = files.get(_file_key(image, quality))
        data = encode(image, quality)[0] if data is None else data
        return data, plain.decode(data)

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
    records: list[RDRecord] = rd_sweep(
        spec.codec, imgs, spec.qualities, label=spec.anchor, progress=progress, **settings
    )
    extra = spec.extra_anchors()
    for label, extra_settings in extra.items():
        records += rd_sweep(spec.codec, imgs, spec.qualities, label=label, progress=progress, **extra_settings)
    honesty: list[dict[str, Any]] = []
    for label, sc in models.items():
        files: dict[tuple[str, int], bytes] = {}
        run = _sandwich_roundtrip(sc, spec, honesty, label)
        if spec.plain_view:  # keep the files: the plain view decodes the very same bytes
            run = _remembering(run, files)
        records += rd_sweep(spec.codec, imgs, spec.qualities, label=label, roundtrip=run, progress=progress)
        if spec.plain_view:
            view = _plain_view_roundtrip(sc, spec, files)
            records += rd_sweep(
                spec.codec, imgs, spec.qualities, label=plain_view_label(label), roundtrip=view, progress=progress
            )
    write_csv(records, out / "records.csv")
    _write_rows_csv(honesty, out / "rate_honesty.csv")
    summary: dict[str, Any] = {
        "codec": spec.codec,
        "settings": settings,
        "qualities": list(spec.qualities),
        "n_images": len(imgs),
        "cond_quality": {str(k): v for k, v in (spec.cond_quality or {}).items()},
        "plain_view": spec.plain_view,
        "curves": summarize(records, anchors=[spec.anchor, *extra]),
        "rate_honesty_median_rel_err": rate_honesty_by_quality(honesty),
        "models": {
            label: {"name": sc.name, "version": sc.version, **model_complexity(sc)} for label, sc in models.items()
        },
    }
    _write_json(summary, out / "summary.json")
    views = [plain_view_label(m) for m in models] if spec.plain_view else []
    curves = {lab: average_curve(records, lab)[1:] for lab in [spec.anchor, *extra, *models, *views]}
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
    panels.append(
        (
            f"{spec.anchor} q={plain_rec.quality:g}",
            get_codec(spec.codec).decode(data),
            f"{plain_rec.bpp:.3f} bpp, {plain_rec.psnr:.2f} dB",
        )
    )
    for label, sc in models.items():
        rec = _closest(records, label, name, target_bpp)
        q = int(rec.quality)
        cq = int((spec.cond_quality or {}).get(q, q))
        data = sc.encode(img, q, codec=spec.codec, cond_quality=cq, **settings)
        panels.append((f"{label} q={q}", sc.decode(data), f"{rec.bpp:.3f} bpp, {rec.psnr:.2f} dB"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), constrained_layout=True)
    for ax, (title, im, sub) in zip(np.atleast_1d(axes), panels):
        patch = im[y0 : y0 + c, x0 : x0 + c]
        ax.imshow(
            patch if patch.shape[2] == 3 else patch[:, :, 0],
            cmap=None if patch.shape[2] == 3 else "gray",
            interpolation="nearest",
        )
        ax.set_title(f"{title}\n{sub}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{name}: centre crop, matched rate ≈ {target_bpp} bpp ({spec.codec})", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# applications (``sandwich eval --app``)


def _quantize(image: np.ndarray, bits: int) -> np.ndarray:
    img = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if bits <= 0:
        return img
    peak = float(2**bits - 1)
    return (np.rint(img * peak) / peak).astype(np.float32)


def _anchor_psnr(app: AppSpec, crops: Sequence[np.ndarray], qualities: Sequence[int]) -> np.ndarray:
    run = app.baselines[app.anchor or ""]
    refs = [app.anchor_reference(c).astype(np.float32) if app.anchor_reference else c for c in crops]
    return np.asarray(
        [np.mean([psnr(r, _quantize(run(c, int(q))[1], 8)) for c, r in zip(crops, refs)]) for q in qualities]
    )


def app_transfer_conditioning(
    src: AppSpec,
    dst: AppSpec,
    qualities: Sequence[int],
    crops: Sequence[np.ndarray] | None = None,
    n: int = 12,
    size: int = 256,
    seed: int = 123,
) -> dict[int, int]:
    """``{dst quality: src quality}`` with equal anchor PSNR on training crops: what a model trained for
    app ``src`` (e.g. over JPEG) is told when it runs over ``dst``'s codec (e.g. HEIF). ``crops``
    (``HxWxC`` float [0,1]) default to ``n`` crops of ``src.train_data`` (default training folder).
    Clipped to ``src.config.quality_range``."""
    if src.anchor is None or dst.anchor is None:
        raise InputError(f"transfer {src.name} → {dst.name} needs an anchor baseline in both apps")
    if crops is None:
        t = app_crops(src, SandwichTrainConfig(crop=64), size, n, seed)
        crops = [c.permute(1, 2, 0).numpy() for c in t]
    lo, hi = src.config.quality_range
    sq = np.arange(lo, hi + 1, 5)
    sp = _anchor_psnr(src, crops, sq.tolist())
    dp = _anchor_psnr(dst, crops, list(qualities))
    order = np.argsort(sp)
    matched = np.interp(dp, sp[order], sq[order])
    return {int(q): round(float(m)) for q, m in zip(qualities, matched)}


def _model_app_roundtrip(
    sc: SandwichCodec, app: AppSpec, cond: Mapping[int, int], honesty: list[dict[str, Any]], label: str
) -> AppRoundtrip:
    settings: dict[str, Any] = dict(app.codec_settings)
    if app.config.codec != sc.config.codec:
        settings.setdefault("subsampling", app.config.subsampling)
    return _honest_roundtrip(sc, app.config.codec, settings, cond, honesty, label, sc.decode_float)


def _app_sweep(
    label: str,
    run: AppRoundtrip,
    images: Sequence[tuple[str, np.ndarray]],
    qualities: Sequence[int],
    app: AppSpec,
    metric_rows: list[dict[str, Any]],
    progress: bool,
) -> list[RDRecord]:
    import time

    jobs = [(name, img, q) for name, img in images for q in qualities]
    it: Any = jobs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(jobs, desc=label, unit="enc", leave=False)
    out = []
    for name, img, q in it:
        t0 = time.perf_counter()
        data, rec = run(img, int(q))
        sec = time.perf_counter() - t0
        rec = _quantize(rec, app.output_bits)
        if rec.shape != img.shape:
            raise InputError(f"{label}: reconstruction of {name} has shape {rec.shape}, original {img.shape}")
        h, w = img.shape[:2]
        bpp = bits_per_pixel(data, h, w)
        out.append(
            RDRecord(
                label=label,
                image=name,
                height=h,
                width=w,
                quality=int(q),
                bytes=len(data),
                bpp=bpp,
                psnr=psnr(img, rec),
                encode_s=sec,
                decode_s=math.nan,
                seconds=sec,
            )
        )
        if app.metrics:
            metric_rows.append(
                {
                    "label": label,
                    "image": name,
                    "quality": int(q),
                    "bpp": bpp,
                    **{k: float(fn(img, rec)) for k, fn in app.metrics.items()},
                }
            )
    return out


def _bd_separate(records: Sequence[RDRecord], label: str, anchor: str) -> dict[str, Any]:
    """Like :func:`~neuralwrap.rd.sweep.bd_vs_anchor`, but BD-PSNR and BD-rate are computed
    independently: BD-PSNR needs overlapping rates only, BD-rate overlapping PSNRs (an app whose baseline
    levels off far below the model, e.g. gray vs colour, has a BD-PSNR but no BD-rate)."""
    ca, cb = curves_by_image(records, anchor), curves_by_image(records, label)
    out: dict[str, Any] = {}
    for key, fn in (("bd_rate", bd_rate), ("bd_psnr", bd_psnr)):
        vals = []
        for img in sorted(set(ca) & set(cb)):
            try:
                vals.append(fn(*ca[img], *cb[img], dominated="drop"))
            except InputError:
                pass
        out[f"{key}_img"] = float(np.mean(vals)) if vals else math.nan
        out[f"n_img_{key}"] = len(vals)
        try:
            out[f"{key}_avg"] = fn(
                *average_curve(records, anchor)[1:], *average_curve(records, label)[1:], dominated="drop"
            )
        except InputError:
            out[f"{key}_avg"] = math.nan
    out["n_img"] = max(out["n_img_bd_rate"], out["n_img_bd_psnr"])
    return out


def _metric_curves(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    by: dict[str, dict[int, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by[r["label"]][r["quality"]].append(r)
    out: dict[str, dict[str, Any]] = {}
    for label, qs in by.items():
        ks = sorted(qs)
        out[label] = {
            "quality": ks,
            "bpp": [float(np.mean([r["bpp"] for r in qs[k]])) for k in ks],
            **{m: [float(np.mean([r[m] for r in qs[k]])) for k in ks] for m in names},
        }
    return out


def evaluate_app(
    app: AppSpec,
    models: Mapping[str, SandwichCodec],
    out_dir: str | os.PathLike[str],
    *,
    images: Sequence[tuple[str, np.ndarray]] | None = None,
    data: str | None = None,
    qualities: Sequence[int] | None = None,
    baselines: Sequence[str] | None = None,
    limit: int = 0,
    progress: bool = False,
    comparison_image: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``models`` and the app's baselines on the app's test images with the real codec.

    Rates are real bytes over the ORIGINAL image's pixels (``8·bytes / (H·W)``); PSNR is on the app's
    representation (reconstructions rounded to ``app.output_bits``). Models trained for another codec
    than ``app.config.codec`` run over it unchanged, told the distortion-matched quality of their own
    codec (``app.transfer_from``, :func:`app_transfer_conditioning`). Writes ``records.csv``,
    ``rate_honesty.csv``, ``metrics.csv`` (app metrics), ``summary.json`` (BD-rate / BD-PSNR of every
    curve vs every baseline, the anchor first; PSNR at fixed bpp; model complexity), ``rd.png`` and
    ``comparison.png`` (one image side by side at the rate closest to ``app.comparison_bpp``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    imgs = list(images) if images is not None else app.eval_data(data)
    if limit:
        imgs = imgs[:limit]
    if not imgs:
        raise InputError(f"app {app.name}: no test images")
    quals = [int(q) for q in (qualities or app.qualities)]
    names = list(app.baselines) if baselines is None else list(baselines)
    unknown = [b for b in names if b not in app.baselines]
    if unknown:
        raise InputError(f"app {app.name}: unknown baseline(s) {unknown}; it has {sorted(app.baselines)}")
    if app.anchor is not None and app.anchor not in names:
        names.insert(0, app.anchor)
    runs: dict[str, AppRoundtrip] = {b: app.baselines[b] for b in names}
    honesty: list[dict[str, Any]] = []
    cond_tables: dict[str, dict[int, int]] = {}
    for label, sc in models.items():
        cond: dict[int, int] = {}
        if sc.config.codec != app.config.codec:
            src = get_app(app.transfer_from or sc.app or "")
            cond = app_transfer_conditioning(src, app, quals)
            log.warning("transfer %s → %s: %s told qualities %s", src.name, app.name, label, cond)
        cond_tables[label] = cond
        if label in runs:
            raise InputError(f"model label {label!r} clashes with a baseline name")
        runs[label] = _model_app_roundtrip(sc, app, cond, honesty, label)
    records: list[RDRecord] = []
    metric_rows: list[dict[str, Any]] = []
    for label, run in runs.items():
        records += _app_sweep(label, run, imgs, quals, app, metric_rows, progress)
    write_csv(records, out / "records.csv")
    _write_rows_csv(honesty, out / "rate_honesty.csv")
    _write_rows_csv(metric_rows, out / "metrics.csv")
    anchors = names  # anchor first
    summary: dict[str, Any] = {
        "app": app.name,
        "codec": app.config.codec,
        "subsampling": app.config.subsampling,
        "scale": app.config.scale,
        "anchor": app.anchor,
        "baselines": names,
        "qualities": quals,
        "n_images": len(imgs),
        "images": [n for n, _ in imgs],
        "output_bits": app.output_bits,
        "cond_quality": {lab: {str(k): v for k, v in t.items()} for lab, t in cond_tables.items() if t},
        "curves": _summarize_app(records, anchors),
        "metrics": _metric_curves(metric_rows, list(app.metrics)),
        "rate_honesty_median_rel_err": rate_honesty_by_quality(honesty),
        "models": {
            label: {"name": sc.name, "version": sc.version, "app": sc.app, **model_complexity(sc)}
            for label, sc in models.items()
        },
    }
    _write_json(summary, out / "summary.json")
    curves = {lab: average_curve(records, lab)[1:] for lab in runs}
    plot_rd(curves, out / "rd.png", title=f"{app.name}: {app.config.codec} on {len(imgs)} images (real bytes)")
    pick = comparison_image or _colourful(imgs)
    _plot_app_comparison(dict(imgs), records, runs, pick, app, out / "comparison.png")
    return summary


def _summarize_app(records: Sequence[RDRecord], anchors: Sequence[str]) -> dict[str, dict[str, Any]]:
    curves = summarize(records, anchors=anchors)
    for label, c in curves.items():
        c["bd"] = {a: _bd_separate(records, label, a) for a in anchors if a != label}
    return curves


def _colourful(imgs: Sequence[tuple[str, np.ndarray]]) -> str:
    """Name of the image with the most colour (mean chroma spread); kodim23 if present."""
    names = [n for n, _ in imgs]
    if "kodim23" in names:
        return "kodim23"
    return max(
        imgs, key=lambda t: float(np.std(t[1] - t[1].mean(axis=2, keepdims=True))) if t[1].shape[2] == 3 else 0.0
    )[0]


def _plot_app_comparison(
    imgs: Mapping[str, np.ndarray],
    records: Sequence[RDRecord],
    runs: Mapping[str, AppRoundtrip],
    name: str,
    app: AppSpec,
    path: Path,
    crop: int = 256,
) -> None:
    panels = []
    for label, run in runs.items():
        rec = _closest(records, label, name, app.comparison_bpp)
        _, im = run(imgs[name], int(rec.quality))
        panels.append(
            (f"{label} q={rec.quality:g}", _quantize(im, app.output_bits), f"{rec.bpp:.3f} bpp, {rec.psnr:.2f} dB")
        )
    _draw_panels(
        imgs[name], panels, path, f"{app.name}, {name}: centre crop at ≈ {app.comparison_bpp} bpp (real bytes)", crop
    )


def _draw_panels(
    original: np.ndarray, panels: Sequence[tuple[str, np.ndarray, str]], path: Path, title: str, crop: int
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, w = original.shape[:2]
    c = min(crop, h, w)
    y0, x0 = (h - c) // 2, (w - c) // 2
    allp = [("original", original, ""), *panels]
    fig, axes = plt.subplots(1, len(allp), figsize=(3.2 * len(allp), 3.6), constrained_layout=True)
    for ax, (t, im, sub) in zip(np.atleast_1d(axes), allp):
        patch = np.asarray(im)[y0 : y0 + c, x0 : x0 + c]
        if patch.dtype != np.uint8:
            patch = np.clip(patch, 0, 1)
        if patch.shape[2] == 1:
            ax.imshow(patch[:, :, 0], cmap="gray", interpolation="nearest")
        else:
            ax.imshow(patch[:, :, :3], interpolation="nearest")
        ax.set_title(f"{t}\n{sub}", fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
