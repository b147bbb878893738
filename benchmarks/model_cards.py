"""Model cards (issue 25): every shipped model against the plain baseline a user would otherwise run, on the
validation suite and on its reference set (Kodak for photo models), with real bytes.

    OMP_NUM_THREADS=1 python benchmarks/model_cards.py --sets kodak,validation          # measure + write
    OMP_NUM_THREADS=1 python benchmarks/model_cards.py --only jpeg420 --kodak-limit 8   # one model
    python benchmarks/model_cards.py --write-only                                       # cards from the cache

Each (model, set) result is cached as ``runs/cards/<model>/<set>.json`` (delete it to re-measure), so a run
resumes where it stopped. The measurement reuses the project's evaluation code: image models run through
:func:`~neuralwrap.sandwich.evaluation.image.evaluate_app` (their app's anchor baseline; plain RGB models through a
plain-JPEG app at their subsampling), video models through
:func:`~neuralwrap.sandwich.evaluation.video.evaluate_video` (plain x265 at the model's pixel format, same preset).
BD-rate / BD on the metric axis are computed per item (image or clip) with :mod:`neuralwrap.rd.bd` and averaged;
the spread is (min, median, max) over items.

The write step turns the cache into ``src/neuralwrap/sandwich/pretrained/cards.json`` (what ``sandwich models``
reads), ``docs/models/<model>.md`` with RD plots in ``docs/models/img/`` and ``docs/models/README.md``. A model
without a cached result gets a "not measured yet" card (status experimental); no figure is ever made up.
Status: ``recommended`` when the model beats its anchor on every measured set (BD-rate < 0, or BD on the metric
axis > 0 where the curves do not overlap in quality) and the validation suite is measured (or does not apply);
``retired`` when it loses on two or more sets and wins on none; ``experimental`` otherwise, with the loss named.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import math
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neuralwrap.errors import InputError, NeuralwrapError
from neuralwrap.rd.bd import bd_psnr, bd_rate

ROOT = Path(__file__).resolve().parents[1]
CARDS_JSON = ROOT / "src" / "neuralwrap" / "sandwich" / "pretrained" / "cards.json"
DOCS = ROOT / "docs" / "models"
DATE = "2026-12-04"
MACHINE = "2-core CPU, shared with other jobs"

#: metric name → (column of records.csv / metrics.csv, transform to a higher-is-better axis, axis label, unit of BD)
METRICS: dict[str, tuple[str, Callable[[float], float], str, str | None]] = {
    "PSNR": ("psnr", lambda v: v, "PSNR (dB)", "dB"),
    "PU21-PSNR": ("pu_psnr", lambda v: v, "PU21-PSNR (dB)", "dB"),
    "MS-SSIM": ("msssim", lambda v: -10.0 * math.log10(max(1.0 - v, 1e-9)), "MS-SSIM (dB, -10 log10(1 - v))", "dB"),
    "LPIPS": ("lpips", lambda v: -math.log(max(v, 1e-9)), "-ln LPIPS (alex)", None),
}


@dataclass(frozen=True)
class Plan:
    """How one shipped model is measured and described."""

    kind: str
    """"image" (an app sweep), "grouped" (a multi-file image app) or "video"."""
    anchor: str
    """Baseline name in the app (image) or the anchor pixel format ``FMT[@2]`` (video)."""
    anchor_text: str
    """The anchor as a user would name it."""
    sets: tuple[str, ...]
    """Set ids of :data:`SETS`, the validation suite first."""
    purpose: str
    """What the model is for (one sentence)."""
    limits: str = ""
    """Known limits (one or two sentences), besides the measured ones."""
    app: str | None = None
    """App of the model (None: plain RGB JPEG at the model's subsampling)."""
    metric: str = "PSNR"
    bd_rate: bool = True
    """False where BD-rate against the anchor means little (a gray anchor levels off far below a colour model, so
    its PSNR range overlaps the model's on a few items only): the card gives BD-PSNR alone."""


_JPEG = "Huffman-optimised JPEG"
_PASS = " + the same lossless pass"  # mozjpeg, on by default for every JPEG the package writes
_X265 = "plain x265"
_GRAY_NOTE = (
    "BD-rate against the gray anchor means little (its PSNR levels off far below a colour reconstruction, the "
    "curves overlap on few items): BD-PSNR is the figure."
)
PLANS: dict[str, Plan] = {
    "jpeg420": Plan(
        "image",
        "plain-jpeg",
        f"{_JPEG} 4:2:0{_PASS}",
        ("validation", "kodak"),
        "Smaller JPEG 4:2:0 files for photos: any JPEG decoder reads them; `sandwich decode` adds the post-processor.",
    ),
    "jpeg420-postonly": Plan(
        "image",
        "plain-jpeg",
        f"{_JPEG} 4:2:0{_PASS}",
        ("validation", "kodak"),
        "Baseline of jpeg420: a post-processor on plain JPEG 4:2:0 files (the encoder is untouched).",
    ),
    "jpeg444": Plan(
        "image",
        "plain-jpeg",
        f"{_JPEG} 4:4:4{_PASS}",
        ("validation", "kodak"),
        "Smaller JPEG 4:4:4 files for photos (full-resolution chroma).",
    ),
    "jpeg444-postonly": Plan(
        "image",
        "plain-jpeg",
        f"{_JPEG} 4:4:4{_PASS}",
        ("validation", "kodak"),
        "Baseline of jpeg444: a post-processor on plain JPEG 4:4:4 files.",
    ),
    "rgb-over-gray": Plan(
        "image",
        "gray-jpeg",
        f"grayscale JPEG 4:0:0 of the luma{_PASS}",
        ("validation", "kodak"),
        "Colour photos carried in a grayscale JPEG (4:0:0) file.",
        _GRAY_NOTE,
        app="rgb-over-gray",
        bd_rate=False,
    ),
    "rgb-over-gray-postonly": Plan(
        "image",
        "gray-jpeg",
        f"grayscale JPEG 4:0:0 of the luma{_PASS}",
        ("validation", "kodak"),
        "Baseline of rgb-over-gray: colourisation of a plain grayscale JPEG.",
        _GRAY_NOTE,
        app="rgb-over-gray",
        bd_rate=False,
    ),
    "lowres-2x": Plan(
        "image",
        "bicubic-jpeg",
        f"bicubic half + {_JPEG} 4:2:0{_PASS} + bicubic up",
        ("validation", "kodak"),
        "Full-resolution photos from a half-resolution JPEG 4:2:0 file.",
        app="lowres-2x",
    ),
    "lowres-2x-444": Plan(
        "image",
        "bicubic-jpeg444",
        f"bicubic half + {_JPEG} 4:4:4{_PASS} + bicubic up",
        ("validation", "kodak"),
        "Full-resolution photos from a half-resolution JPEG 4:4:4 file.",
        app="lowres-2x-444",
    ),
    "hdr-jpeg": Plan(
        "image",
        "pu8-jpeg",
        f"8-bit PU21 + {_JPEG} 4:2:0{_PASS}",
        ("hdr-validation",),
        "HDR images (PU21 representation) through an 8-bit JPEG 4:2:0 file.",
        "Worse than its anchor on HDR-FLIP (docs/BENCHMARKS.md).",
        app="hdr",
        metric="PU21-PSNR",
    ),
    "jpeg420-lpips": Plan(
        "image",
        "plain-jpeg",
        f"{_JPEG} 4:2:0{_PASS}",
        ("validation", "kodak"),
        "JPEG 4:2:0 files that look better (LPIPS) at the same size.",
        "Trades PSNR for LPIPS: lower PSNR than jpeg420.",
        app="jpeg420-lpips",
        metric="LPIPS",
    ),
    "jpeg420-msssim": Plan(
        "image",
        "plain-jpeg",
        f"{_JPEG} 4:2:0{_PASS}",
        ("validation", "kodak"),
        "JPEG 4:2:0 files tuned for MS-SSIM.",
        app="jpeg420-msssim",
        metric="MS-SSIM",
    ),
    "mc6-jpeg": Plan(
        "grouped",
        "jpeg-groups3",
        f"the channels 3 at a time through {_JPEG} 4:2:0{_PASS}",
        ("synthetic-test",),
        "6-channel render framebuffers (RGB + normals) as 2 JPEG files.",
        "Measured on synthetic framebuffers only: the validation suite holds no framebuffers.",
        app="mc6-jpeg",
    ),
    "mc8-jpeg": Plan(
        "grouped",
        "jpeg-groups3",
        f"the channels 3 at a time through {_JPEG} 4:2:0{_PASS}",
        ("synthetic-test",),
        "8-channel render framebuffers (RGB + normals + disparity + mask) as 3 JPEG files.",
        "Measured on synthetic framebuffers only: the validation suite holds no framebuffers.",
        app="mc8-jpeg",
    ),
    "hevc444-video": Plan(
        "video",
        "yuv444p",
        f"{_X265} 4:4:4, same preset",
        ("video-validation", "tuning-clips"),
        "Per-frame sandwich around x265 4:4:4.",
    ),
    "hevc-gray-video": Plan(
        "video",
        "gray",
        f"{_X265} 4:0:0 of the luma, same preset",
        ("video-validation", "tuning-clips"),
        "Colour video carried in a grayscale (4:0:0) x265 stream.",
        _GRAY_NOTE,
        bd_rate=False,
    ),
    "hevc420-x2-video": Plan(
        "video",
        "yuv420p@2",
        f"bicubic half + {_X265} 4:2:0 + bicubic up, same preset",
        ("video-validation", "tuning-clips"),
        "Full-resolution video from a half-resolution x265 4:2:0 stream.",
    ),
    "hevc420-lpips-video": Plan(
        "video",
        "yuv420p",
        f"{_X265} 4:2:0, same preset",
        ("video-validation", "tuning-clips"),
        "x265 4:2:0 video that looks better (LPIPS) at the same size.",
        "Trades PSNR for LPIPS.",
        metric="LPIPS",
    ),
}

#: set id → description (the validation suite is built by benchmarks/make_validation.py, docs/VALIDATION.md)
SETS = {
    "validation": "validation photos (768x512 sharp crops of a held-out split, never trained on)",
    "kodak": "Kodak",
    "hdr-validation": "validation HDR images (real HDR; hdr-jpeg trained on synthetic HDR from LDR photos)",
    "synthetic-test": "synthetic framebuffers, held-out test split",
    "video-validation": "validation clips (never trained or tuned on)",
    "tuning-clips": "the shared clips the video models were tuned on",
}
#: short set names for tables
SHORT = {
    "validation": "validation photos",
    "hdr-validation": "validation HDR images",
    "video-validation": "validation clips",
    "kodak": "Kodak",
    "tuning-clips": "tuning clips",
    "synthetic-test": "synthetic test framebuffers",
}
#: the card key of each set id (``sandwich models`` shows ``validation`` first)
CARD_KEY = {
    "validation": "validation",
    "hdr-validation": "validation",
    "video-validation": "validation",
    "kodak": "kodak",
    "synthetic-test": "synthetic-test",
    "tuning-clips": "tuning-clips",
}


# ----------------------------------------------------------------------------------------------- measurement


def _spread(values: Sequence[float]) -> list[float] | None:
    return [float(np.min(values)), float(np.median(values)), float(np.max(values))] if values else None


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def per_item_bd(
    anchor: dict[str, tuple[np.ndarray, np.ndarray]], model: dict[str, tuple[np.ndarray, np.ndarray]]
) -> tuple[dict[str, float], dict[str, float]]:
    """Per item: BD-rate (%) and BD on the metric axis of ``model`` vs ``anchor`` (items whose curves do not
    overlap are left out of that figure). Curves are ``{item: (rates, higher-is-better values)}``."""
    rates, dbs = {}, {}
    for item in sorted(set(anchor) & set(model)):
        for out, fn in ((rates, bd_rate), (dbs, bd_psnr)):
            try:
                out[item] = float(fn(*anchor[item], *model[item], dominated="drop"))
            except InputError:
                pass
    return rates, dbs


def _curves(rows: Sequence[dict[str, Any]], label: str, key: str, tf: Callable[[float], float]) -> dict[str, Any]:
    pts: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for r in rows:
        if r["label"] == label:
            pts[r["item"]].append((float(r["quality"]), float(r["bpp"]), tf(float(r[key]))))
    out = {}
    for item, p in pts.items():
        arr = np.asarray(sorted(p))
        out[item] = (arr[:, 1], arr[:, 2])
    return out


def _mean_curve(rows: Sequence[dict[str, Any]], label: str, key: str, tf: Callable[[float], float]) -> dict[str, list]:
    by: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if r["label"] == label:
            by[float(r["quality"])].append((float(r["bpp"]), tf(float(r[key]))))
    qs = sorted(by)
    return {
        "quality": qs,
        "bpp": [float(np.mean([b for b, _ in by[q]])) for q in qs],
        "value": [float(np.mean([v for _, v in by[q]])) for q in qs],
    }


def summarise(rows: list[dict[str, Any]], model: str, anchor: str, metric: str, set_name: str) -> dict[str, Any]:
    """The cached result of one (model, set): per-item BD, its mean and spread, mean curves for the plot."""
    key, tf, _, unit = METRICS[metric]
    rates, dbs = per_item_bd(_curves(rows, anchor, key, tf), _curves(rows, model, key, tf))
    items = sorted({r["item"] for r in rows})
    return {
        "set": set_name,
        "items": items,
        "bd_rate_pct": _mean(list(rates.values())),
        "bd_psnr_db": _mean(list(dbs.values())) if unit else None,
        "bd_rate_spread": _spread(list(rates.values())),
        "bd_psnr_spread": _spread(list(dbs.values())) if unit else None,
        "per_item": {"bd_rate_pct": rates, "bd_axis": dbs},
        "curves": {"model": _mean_curve(rows, model, key, tf), "anchor": _mean_curve(rows, anchor, key, tf)},
        "rows": rows,
    }


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _image_set(set_id: str, plan: Plan, args: argparse.Namespace) -> list[tuple[str, np.ndarray]]:
    from neuralwrap.resources import require_data
    from neuralwrap.sandwich.apps.registry import get_app

    app = get_app(plan.app or "jpeg420-lpips")
    folder = {
        "validation": args.validation / "photos",
        "kodak": require_data("kodak"),
        "hdr-validation": args.validation / "hdr",
        "synthetic-test": None,
    }[set_id]
    if folder is not None and not Path(folder).is_dir():
        raise InputError(f"set {set_id}: {folder} not found (build it with benchmarks/make_validation.py)")
    images = app.eval_data(None if folder is None else str(folder))
    limit = {"kodak": args.kodak_limit, "validation": args.validation_limit}.get(set_id, 0)
    return spaced(images, limit)


def spaced(items: Sequence[Any], n: int) -> list[Any]:
    """``n`` items evenly spaced over ``items`` (first and last included; all of them for ``n`` = 0 or more)."""
    if not n or n >= len(items):
        return list(items)
    return [items[round(i)] for i in np.linspace(0, len(items) - 1, n)]


def _app_for(name: str, plan: Plan, sc: Any) -> Any:
    """The app a model is measured in: its own (only the card's metric kept), or plain JPEG at its subsampling."""
    from neuralwrap.sandwich.apps.builtin import plain_roundtrip
    from neuralwrap.sandwich.apps.registry import get_app

    if plan.app is not None:
        app = get_app(plan.app)
        col = METRICS[plan.metric][0]
        return dataclasses.replace(app, metrics={k: v for k, v in app.metrics.items() if k == col})
    base = get_app("jpeg420-lpips")  # a plain RGB JPEG app: Kodak-style eval data, 8-bit output
    sub = sc.config.subsampling
    return dataclasses.replace(
        base,
        name=f"plain-jpeg{sub}",
        config=sc.config,
        baselines={"plain-jpeg": plain_roundtrip("jpeg", sub)},
        anchor="plain-jpeg",
        metrics={},
        distortion="mse",
    )


def measure_image(name: str, plan: Plan, set_id: str, args: argparse.Namespace) -> dict[str, Any]:
    """One image model on one set through ``evaluate_app`` (real bytes); the cached result."""
    from neuralwrap.sandwich.apps.multichannel import grouped_model_roundtrip, load_grouped
    from neuralwrap.sandwich.evaluation.image import evaluate_app
    from neuralwrap.sandwich.inference.codec import load_pretrained

    sc = load_pretrained(name)
    app = _app_for(name, plan, sc)
    models: dict[str, Any] = {name: sc}
    baselines = [plan.anchor]
    if plan.kind == "grouped":  # a grouped model runs as an extra roundtrip, as `sandwich eval --app` does
        app = dataclasses.replace(app, baselines={**app.baselines, name: grouped_model_roundtrip(load_grouped(sc))})
        models, baselines = {}, [plan.anchor, name]
    images = _image_set(set_id, plan, args)
    out = args.runs / name / set_id
    qualities = args.qualities or spaced(app.qualities, args.n_qualities)
    evaluate_app(app, models, out, images=images, qualities=qualities, baselines=baselines, progress=not args.quiet)
    key = METRICS[plan.metric][0]
    src = out / ("records.csv" if key == "psnr" else "metrics.csv")
    rows = [
        {"label": r["label"], "item": r["image"], "quality": r["quality"], "bpp": r["bpp"], key: r[key]}
        for r in _read_csv(src)
    ]
    return summarise(rows, name, plan.anchor, plan.metric, set_id)


def _clips(set_id: str, args: argparse.Namespace) -> list[tuple[str, Any]]:
    from neuralwrap.io.video import open_frames
    from neuralwrap.resources import require_data

    if set_id == "tuning-clips":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from video_eval import CLIPS  # the shared clips every video benchmark of this project uses

        root = require_data("video")
        return [(n, open_frames(root / rel, **kw)) for n, (rel, kw) in CLIPS.items()]
    manifest = args.validation / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"{manifest} not found (build it with benchmarks/make_validation.py)")
    clips = _manifest_clips(json.loads(manifest.read_text()), args.validation)
    if not clips:
        raise InputError(f"{manifest} lists no video clips")
    return [(n, open_frames(p, **kw)) for n, p, kw in clips]


def _manifest_clips(manifest: dict[str, Any], root: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """The video files of the validation manifest (``kind == "video"``): ``(name, path, open_frames kwargs)``."""
    return [(Path(f["path"]).stem, root / f["path"], {}) for f in manifest.get("files", []) if f.get("kind") == "video"]


def measure_video(name: str, plan: Plan, set_id: str, args: argparse.Namespace) -> dict[str, Any]:
    """One video model on one set of clips through ``evaluate_video`` (real bytes); the cached result."""
    from neuralwrap.sandwich.evaluation.video import SandwichVideo, VideoEvalSpec, evaluate_video, parse_anchor
    from neuralwrap.sandwich.inference.codec import load_pretrained

    sc = load_pretrained(name)
    lpips = plan.metric == "LPIPS"
    spec = VideoEvalSpec(
        codec="hevc", crfs=tuple(args.crf), preset=args.preset, max_frames=args.max_frames, lpips=lpips
    )
    anchor = parse_anchor(plan.anchor, "hevc")
    rows: list[dict[str, Any]] = []
    for clip, src in _clips(set_id, args):
        out = args.runs / name / set_id / clip
        if not (out / "records.csv").is_file():  # a clip already measured by an interrupted run is kept
            evaluate_video([anchor, SandwichVideo(name, sc)], src, out, spec, name=clip, progress=not args.quiet)
        key = "lpips" if lpips else "psnr"
        for r in _read_csv(out / "records.csv"):
            label = plan.anchor if r["label"] == anchor.label else r["label"]
            rows.append({"label": label, "item": clip, "quality": -float(r["crf"]), "bpp": r["bpp"], key: r[key]})
    return summarise(rows, name, plan.anchor, plan.metric, set_id)


def measure_speed(name: str) -> dict[str, Any]:
    """Encode / decode milliseconds per megapixel (768x512, one run after a warm-up; image models that code one file)."""
    from neuralwrap.sandwich.evaluation.bench import bench
    from neuralwrap.sandwich.inference.codec import load_pretrained

    sc = load_pretrained(name)
    if sc.config.codec != "jpeg" or sc.config.code_channels not in (1, 3):
        return {"encode_ms_per_mp": None, "decode_ms_per_mp": None, "note": "not measured for this kind of model"}
    lo, hi = sc.config.quality_range
    try:
        r = bench(sc, (512, 768), (lo + hi) // 2, repeat=1)
    except NeuralwrapError as exc:  # e.g. the plain codec of bench cannot code this model's layout
        return {"encode_ms_per_mp": None, "decode_ms_per_mp": None, "note": str(exc)}
    mp = 512 * 768 / 1e6
    s = r["seconds"]
    return {
        "encode_ms_per_mp": 1e3 * s["sandwich_encode"] / mp,
        "decode_ms_per_mp": 1e3 * s["sandwich_decode"] / mp,
        "plain_encode_ms_per_mp": 1e3 * s["plain_encode"] / mp,
        "plain_decode_ms_per_mp": 1e3 * s["plain_decode"] / mp,
        "torch_threads": r["torch_threads"],
    }


# ----------------------------------------------------------------------------------------------- cards


def _file_facts(name: str) -> dict[str, Any]:
    from neuralwrap.sandwich.inference.zoo import PRETRAINED_DIR, ZOO

    path = PRETRAINED_DIR / f"{ZOO[name].file}.safetensors"
    header = json.loads(path.read_bytes()[8 : 8 + int.from_bytes(path.read_bytes()[:8], "little")])
    params = sum(int(np.prod(v["shape"])) for k, v in header.items() if k != "__metadata__")
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size, "params": params}


def _loses(s: dict[str, Any]) -> bool | None:
    """True / False when the set's mean figure says the model loses / wins; None when there is none."""
    if s.get("bd_rate_pct") is not None:
        return bool(s["bd_rate_pct"] > 0)
    if s.get("bd_psnr_db") is not None:
        return bool(s["bd_psnr_db"] < 0)
    return None


def _figure(s: dict[str, Any], metric: str) -> str:
    parts = []
    if s.get("bd_rate_pct") is not None:
        parts.append(f"{s['bd_rate_pct']:+.1f}% BD-rate")
    if s.get("bd_psnr_db") is not None:
        parts.append(f"{s['bd_psnr_db']:+.2f} dB")
    return (" / ".join(parts) or "no overlap") + ("" if metric == "PSNR" else f" ({metric})")


def status_of(plan: Plan, results: dict[str, dict[str, Any] | None]) -> tuple[str, str]:
    """(status, reason) from the measured sets (see the module docstring)."""
    measured = {k: v for k, v in results.items() if v is not None}
    if not measured:
        return "experimental", "not measured yet"
    verdict = {k: _loses(v) for k, v in measured.items()}
    losses = [k for k, v in verdict.items() if v]
    text = "; ".join(
        f"{_figure(measured[k], plan.metric)} vs {plan.anchor_text} on {SETS[k]}"
        for k in measured
        if verdict[k] is not False
    )
    if len(losses) >= 2 and not any(v is False for v in verdict.values()):
        return "retired", f"loses on every set: {text}"
    if losses or any(v is None for v in verdict.values()):
        return "experimental", text
    missing = [k for k in plan.sets if k not in measured]
    if missing:
        return "experimental", f"{', '.join(SETS[k] for k in missing)}: not measured yet"
    return "recommended", ""


def make_card(name: str, plan: Plan, results: dict[str, dict[str, Any] | None], speed: dict[str, Any]) -> dict:
    """The ``cards.json`` record of one model."""
    status, reason = status_of(plan, results)
    sets: dict[str, Any] = {}
    for set_id in plan.sets:
        r = results.get(set_id)
        sets[CARD_KEY[set_id]] = (
            None
            if r is None
            else {
                "name": f"{SETS[set_id]}, {len(r['items'])} items",
                "items": len(r["items"]),
                **{k: r[k] for k in ("bd_rate_pct", "bd_psnr_db", "bd_rate_spread", "bd_psnr_spread")},
            }
        )
    return {
        **_file_facts(name),
        "status": status,
        "reason": reason,
        "anchor": plan.anchor_text,
        "metric": plan.metric,
        "sets": sets,
        "encode_ms_per_mp": speed.get("encode_ms_per_mp"),
        "decode_ms_per_mp": speed.get("decode_ms_per_mp"),
        "date": DATE,
        "command": f"OMP_NUM_THREADS=1 python benchmarks/model_cards.py --only {name}",
    }


def _plot(name: str, plan: Plan, set_id: str, r: dict[str, Any]) -> str:
    from neuralwrap.rd.plots import plot_rd

    c = r["curves"]
    rel = f"img/{name}-{set_id}.png"
    axis = METRICS[plan.metric][2]
    plot_rd(
        {name: (c["model"]["bpp"], c["model"]["value"]), plan.anchor_text: (c["anchor"]["bpp"], c["anchor"]["value"])},
        DOCS / rel,
        title=f"{name} on {SHORT[set_id]} ({len(r['items'])} items, real bytes, mean over items)",
        ylabel=axis,
    )
    return rel


def _training(name: str) -> str:
    from neuralwrap.sandwich.inference.zoo import PRETRAINED_DIR, ZOO

    cfg = json.loads((PRETRAINED_DIR / f"{ZOO[name].file}.json").read_text()).get("config", {})
    bits = []
    if cfg.get("trained_steps") is not None:
        bits.append(f"{cfg['trained_steps']} steps")
    train = cfg.get("train") or {}
    for k in ("batch_size", "lr", "device"):
        if k in train:
            bits.append(f"{k} {train[k]}")
    sw = cfg.get("sandwich_train") or {}
    if isinstance(sw, dict):
        for k in ("data", "crop", "distortion", "init"):
            if sw.get(k):
                bits.append(f"{k} {sw[k]}")
    sand = cfg.get("sandwich", {})
    bits.append(f"codec {sand.get('codec')} {sand.get('subsampling')}, quality range {sand.get('quality_range')}")
    if sand.get("scale") not in (None, 1):
        bits.append(f"scale {sand['scale']}")
    return "; ".join(str(b) for b in bits)


def _set_row(r: dict[str, Any] | None, metric: str) -> str:
    if r is None:
        return "not measured yet | – | –"
    rs, ps = r.get("bd_rate_spread"), r.get("bd_psnr_spread")
    spread = " / ".join(
        f"{lab} {s[0]:+.2f} … {s[1]:+.2f} … {s[2]:+.2f}" for lab, s in (("BD-rate %", rs), ("dB", ps)) if s
    )
    return f"{_figure(r, metric)} | {len(r['items'])} | {spread or '–'}"


def write_card_doc(name: str, plan: Plan, card: dict, results: dict[str, dict[str, Any] | None], speed: dict) -> None:
    """``docs/models/<name>.md``."""
    from neuralwrap.sandwich.inference.zoo import ZOO

    lines = [
        f"# {name}",
        "",
        f"**Status: {card['status']}**" + (f" — {card['reason']}" if card["reason"] else ""),
        "",
        f"{plan.purpose} ({ZOO[name].description})",
        "",
        f"- Anchor: {plan.anchor_text} (what a user would run without the model).",
        f"- Metric: {plan.metric}; BD-rate in % (negative = fewer bytes at equal quality), BD on the metric axis "
        "(positive = better); means over items, spread min … median … max.",
        f"- Weights: `{name}.safetensors`, {card['bytes']:,} bytes, {card['params']:,} parameters, sha256 "
        f"`{card['sha256']}`.",
        "- Speed (768x512, one run after a warm-up, 1 thread, on 2 cores with a load average of about 16 from "
        "other jobs: upper bounds, compare within a card only): "
        + (
            f"encode {speed['encode_ms_per_mp']:.0f} ms/MP, decode {speed['decode_ms_per_mp']:.0f} ms/MP "
            f"(plain JPEG {speed['plain_encode_ms_per_mp']:.0f} / {speed['plain_decode_ms_per_mp']:.0f} ms/MP)"
            if speed.get("encode_ms_per_mp") is not None
            else "not measured for this kind of model"
        )
        + ".",
        f"- Training: {_training(name)}.",
        "",
        "| set | figure vs anchor | items | per-item spread |",
        "|---|---|---|---|",
    ]
    for set_id in plan.sets:
        lines.append(f"| {SETS[set_id]} | {_set_row(results.get(set_id), plan.metric)} |")
    lines.append("")
    for set_id in plan.sets:
        r = results.get(set_id)
        if r is not None:
            lines += [f"![{name} on {set_id}]({_plot(name, plan, set_id, r)})", ""]
    if plan.limits:
        lines += ["Known limits: " + plan.limits, ""]
    if card["status"] == "retired":
        lines += [
            "Retired: it loses to its anchor on every set measured. `sandwich models` hides it (`--all` lists it), "
            "`sandwich encode` / `sandwich video encode` warn that the plain codec does better, and files it wrote "
            "still decode. It stays shipped only so that those files keep decoding.",
            "",
        ]
    lines += [
        f"Measured {DATE} on a {MACHINE} with real bytes: `{card['command']}` (see benchmarks/model_cards.py for "
        "the sets, qualities and limits).",
        "",
    ]
    (DOCS / f"{name}.md").write_text("\n".join(lines))


def write_all(args: argparse.Namespace) -> dict[str, dict]:
    """cards.json, every card and docs/models/README.md from the cache (placeholders where nothing is cached)."""
    from neuralwrap.sandwich.inference.cards import parse_cards
    from neuralwrap.sandwich.inference.zoo import ZOO

    (DOCS / "img").mkdir(parents=True, exist_ok=True)
    cards: dict[str, dict] = {}
    table = [
        "# Model cards",
        "",
        "Every shipped model against the plain codec a user would otherwise run, with real bytes "
        f"(benchmarks/model_cards.py, {DATE}, {MACHINE}). The validation suite (docs/VALIDATION.md) is content "
        "no model was trained or tuned on; Kodak / the tuning clips come second. `sandwich models` prints the same "
        "figures from `src/neuralwrap/sandwich/pretrained/cards.json`.",
        "",
        "Status: **recommended** = beats its anchor on every set measured (BD-rate < 0; BD-PSNR > 0 where the "
        "curves do not overlap in quality); **experimental** = loses somewhere, or is not measured yet, "
        "and `sandwich encode` / `sandwich video encode` print one warning line naming the loss; **retired** = "
        "loses on every set: hidden from `sandwich models` (`--all` lists it), encode warns that the plain codec "
        "does better, and the files it wrote still decode. BD figures are means over the set's items; each card "
        "gives the per-item spread and RD plots. Few qualities and a subset of each set (2-core CPU shared with "
        "other jobs): see each card's item count and the command.",
        "",
        "| model | status | metric | validation suite | reference set | anchor |",
        "|---|---|---|---|---|---|",
    ]
    for name in sorted(ZOO):
        plan = PLANS[name]
        results = {s: _view(plan, _load_cache(args.runs, name, s)) for s in plan.sets}
        speed = _load_json(args.runs / name / "speed.json") or {}
        card = make_card(name, plan, results, speed)
        cards[name] = card
        write_card_doc(name, plan, card, results, speed)
        first, *rest = plan.sets
        val = _set_row(results[first], plan.metric).split(" | ")[0] if first.endswith("validation") else "n/a"
        refs = rest if first.endswith("validation") else list(plan.sets)
        ref = "; ".join(f"{SHORT[s]}: {_set_row(results[s], plan.metric).split(' | ')[0]}" for s in refs) or "–"
        table.append(f"| [{name}]({name}.md) | {card['status']} | {plan.metric} | {val} | {ref} | {plan.anchor_text} |")
    text = json.dumps({"format_version": 1, "models": cards}, indent=1) + "\n"
    parse_cards(text)  # the file must load
    CARDS_JSON.write_text(text)
    (DOCS / "README.md").write_text("\n".join(table) + "\n")
    return cards


def _view(plan: Plan, r: dict[str, Any] | None) -> dict[str, Any] | None:
    """A cached result as the card shows it (without BD-rate where the plan says it means little)."""
    if r is None or plan.bd_rate:
        return r
    return {**r, "bd_rate_pct": None, "bd_rate_spread": None}


def _load_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _load_cache(runs: Path, name: str, set_id: str) -> dict[str, Any] | None:
    return _load_json(runs / name / f"{set_id}.json")


def _save_json(obj: Any, path: Path) -> None:
    from neuralwrap.io.atomic import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(obj, indent=1).encode())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=None, help="measure only this model (repeatable)")
    ap.add_argument("--kind", choices=("image", "video", "all"), default="all", help="which models to measure")
    ap.add_argument("--sets", default=None, help="comma-separated set ids to measure (default: each model's own)")
    ap.add_argument("--kodak-limit", type=int, default=6, help="N Kodak images, evenly spaced (0 = all 24)")
    ap.add_argument("--validation-limit", type=int, default=8, help="N validation photos, evenly spaced (0 = all)")
    ap.add_argument("--qualities", type=int, nargs="+", default=None, help="JPEG qualities (default: the app's)")
    ap.add_argument("--n-qualities", type=int, default=4, help="without --qualities: N of the app's, evenly spaced")
    ap.add_argument("--crf", type=int, nargs="+", default=[22, 27, 32, 37], help="x265 CRFs of the video sweeps")
    ap.add_argument("--preset", default="medium", help="x265 preset (the same for model and anchor)")
    ap.add_argument("--max-frames", type=int, default=12, help="frames per clip")
    ap.add_argument("--validation", type=Path, default=ROOT / "runs" / "validation", help="validation suite folder")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "cards", help="cache and eval outputs")
    ap.add_argument("--write-only", action="store_true", help="only write the cards from the cache")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="sandwich: float32 input converted to 8 bits")  # the apps' float images
    wanted = set(args.sets.split(",")) if args.sets else None
    if wanted and wanted - set(SETS):
        ap.error(f"unknown set(s) {sorted(wanted - set(SETS))}; known: {', '.join(SETS)}")
    if not args.write_only:
        names = args.only or [
            n for n, p in PLANS.items() if args.kind in ("all", "video" if p.kind == "video" else "image")
        ]
        jobs = [(n, s) for n in names for s in PLANS[n].sets if wanted is None or s in wanted]
        for name, set_id in tqdm(jobs, desc="model cards", unit="set", disable=args.quiet):
            path = args.runs / name / f"{set_id}.json"
            if path.is_file():
                continue
            plan = PLANS[name]
            t0 = time.perf_counter()
            try:
                fn = measure_video if plan.kind == "video" else measure_image
                result = fn(name, plan, set_id, args)
            except InputError as exc:
                print(f"{name} / {set_id}: skipped ({exc})", file=sys.stderr)
                continue
            result["seconds"] = time.perf_counter() - t0
            _save_json(result, path)
            print(f"{name} / {set_id}: {_figure(result, plan.metric)} ({result['seconds']:.0f} s)", flush=True)
            if not (args.runs / name / "speed.json").is_file():
                _save_json(measure_speed(name), args.runs / name / "speed.json")
    cards = write_all(args)
    for name, c in cards.items():
        print(f"{name:22s} {c['status']:12s} {c['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
