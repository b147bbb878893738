"""``sandwich video eval``: sandwiched video against plain encodes of the same clip, real bytes, streaming.

Each entry (a plain encode at a pixel format, or a sandwich model) is encoded at every CRF with the same
encoder and preset; the ``.mp4`` is decoded frame by frame and compared with the source. Quality is the
mean over frames of the per-frame RGB PSNR (8-bit, peak 255); rate is ``8 · bytes / (W · H · frames)``;
flicker is :func:`~neuralwrap.sandwich.inference.video.temporal_flicker`. With ``VideoEvalSpec.lpips`` the mean
per-frame LPIPS (shift-tolerant, AlexNet; lower = better) is measured too, and BD-rate under LPIPS is
computed on the quality axis ``−ln(LPIPS)``. Outputs (atomic): ``records.csv``, ``summary.json`` (BD-rate /
BD-PSNR of every entry against the first), ``rd.png``, ``flicker.png`` (and ``rd_lpips.png``) and a
side-by-side ``comparison.mp4`` + ``comparison.png`` (source | anchor | best sandwich at the closest rate).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path
from neuralwrap.io.images import resize_bicubic, to_float, write_image
from neuralwrap.io.video import FrameSource
from neuralwrap.luma import luma_uint8
from neuralwrap.metrics.psnr import psnr
from neuralwrap.rd.bd import bd_psnr, bd_rate
from neuralwrap.rd.plots import plot_rd
from neuralwrap.sandwich.apps.perceptual import lpips_metric
from neuralwrap.sandwich.inference.codec import SandwichCodec
from neuralwrap.sandwich.inference.video import (
    _fps,
    _limited,
    encode_video,
    iter_decode_video,
)

__all__ = ["PlainVideo", "SandwichVideo", "VideoEvalSpec", "evaluate_video", "parse_anchor"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlainVideo:
    """The plain encoder on the RGB clip at ``pix_fmt`` (``gray`` codes the BT.601 luma; PSNR is still
    measured against the RGB source, with the gray decode shown as R = G = B)."""

    label: str
    pix_fmt: str = "yuv420p"
    scale: int = 1
    """2 = bicubic down to half resolution before the encoder and bicubic up after the decoder (the plain
    baseline of 2× resolution over a low-resolution codec)."""


@dataclass(frozen=True)
class SandwichVideo:
    """A sandwich model applied per frame (its code frames coded at the model's pixel format)."""

    label: str
    codec: SandwichCodec
    pix_fmt: str | None = None
    cond_quality: int | None = None
    """Fixed conditioning quality; None = matched per CRF (see :func:`~neuralwrap.sandwich.inference.video.matched_video_quality`)."""


@dataclass
class VideoEvalSpec:
    """What to sweep."""

    codec: str = "hevc"
    crfs: Sequence[int] = (22, 27, 32, 37)
    preset: str | int | None = None
    """Encoder preset (None: the codec's default, ``medium`` for x264/x265)."""
    max_frames: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    rate_control: str = "crf"
    """"crf": the values of ``crfs`` are CRFs; "qp": they are constant QPs (x265 ``qp=``; the column in
    ``records.csv`` is still named ``crf``)."""
    lpips: bool = False
    """Also measure the mean per-frame LPIPS (alex) and BD-rate under it."""

    def __post_init__(self) -> None:
        if self.rate_control not in ("crf", "qp"):
            raise InputError(f"rate_control must be 'crf' or 'qp', got {self.rate_control!r}")


def parse_anchor(text: str, codec: str) -> PlainVideo:
    """``PIX_FMT[@SCALE]`` (e.g. ``yuv420p``, ``gray``, ``yuv420p@2``) → a plain entry labelled ``codec-text``."""
    fmt, _, scale = text.partition("@")
    if scale not in ("", "1", "2"):
        raise InputError(f"anchor scale must be 1 or 2, got {text!r}")
    return PlainVideo(f"{codec}-{fmt}" + ("-half-bicubic" if scale == "2" else ""), fmt, int(scale or 1))


def _rgb(frame: np.ndarray) -> np.ndarray:
    return np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame


def _encode(
    entry: PlainVideo | SandwichVideo, clip: FrameSource, spec: VideoEvalSpec, crf: int, path: Path
) -> tuple[int, int | None]:
    """Encode one entry at one CRF into ``path``; returns (bytes, conditioning quality or None)."""
    if isinstance(entry, SandwichVideo):
        rc = {spec.rate_control: crf}
        rep = encode_video(
            entry.codec,
            clip,
            path,
            codec=spec.codec,
            **rc,
            preset=spec.preset,
            pix_fmt=entry.pix_fmt,
            cond_quality=entry.cond_quality,
            max_frames=spec.max_frames,
            progress=False,
        )
        return rep.bytes, rep.cond_quality
    settings: dict[str, Any] = {"pix_fmt": entry.pix_fmt, spec.rate_control: crf, "fps": _fps(clip)}
    if spec.preset is not None:
        settings["preset"] = spec.preset
    small = (max(clip.width // entry.scale, 1), max(clip.height // entry.scale, 1))
    with get_codec(spec.codec).writer(path, **settings) as w:
        for frame in _limited(clip, spec.max_frames):
            frame = resize_bicubic(frame, *small) if entry.scale != 1 else frame
            w.write(luma_uint8(frame) if entry.pix_fmt == "gray" else frame)
    return path.stat().st_size, None


def _decode(entry: PlainVideo | SandwichVideo, codec: str, path: Path, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """Decoded RGB frames of one stream at the source ``size`` ``(W, H)``."""
    if isinstance(entry, SandwichVideo):
        return iter_decode_video(path, entry.codec)
    frames = (_rgb(f) for f in get_codec(codec).iter_decode(path))
    return (resize_bicubic(f, *size) for f in frames) if entry.scale != 1 else frames


def evaluate_video(
    entries: Sequence[PlainVideo | SandwichVideo],
    clip: FrameSource,
    out_dir: str | os.PathLike[str],
    spec: VideoEvalSpec | None = None,
    *,
    name: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Sweep every entry over ``spec.crfs`` on ``clip``; the first entry is the BD anchor. Returns the summary."""
    spec = spec or VideoEvalSpec()
    if not entries:
        raise InputError("evaluate_video needs at least one entry")
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels):
        raise InputError(f"entry labels must be unique, got {labels}")
    out = Path(out_dir)
    streams = out / "streams"
    streams.mkdir(parents=True, exist_ok=True)
    clip_name = name or clip.path.stem
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(entries) * len(spec.crfs), desc=f"video eval {clip_name}", unit="encode", disable=not progress)
    for entry in entries:
        for crf in spec.crfs:
            path = streams / f"{entry.label}_crf{crf}.mp4"
            nbytes, cq = _encode(entry, clip, spec, crf, path)
            psnrs: list[float] = []
            lp: list[float] = []
            flick, prev, n = 0.0, None, 0
            for ref, rec in zip(
                _limited(clip, spec.max_frames),
                _decode(entry, spec.codec, path, (clip.width, clip.height)),
                strict=True,
            ):
                psnrs.append(psnr(ref, rec))
                if spec.lpips:
                    lp.append(_frame_lpips(ref, rec))
                err = rec.astype(np.float32) - ref.astype(np.float32)
                if prev is not None:
                    flick += float(np.abs(err - prev).mean())
                prev, n = err, n + 1
            rows.append(
                {
                    "clip": clip_name,
                    "label": entry.label,
                    "codec": spec.codec,
                    "crf": crf,
                    "cond_quality": cq,
                    "frames": n,
                    "bytes": nbytes,
                    "bpp": 8.0 * nbytes / (clip.width * clip.height * n),
                    "psnr": float(np.mean(psnrs)),
                    "psnr_min": float(np.min(psnrs)),
                    "flicker": flick / max(n - 1, 1),
                    **({"lpips": float(np.mean(lp))} if spec.lpips else {}),
                    "stream": str(path),
                }
            )
            bar.update()
    bar.close()
    summary = _summary(rows, labels, spec, clip_name)
    _write_outputs(rows, summary, out)
    _comparison(entries, rows, clip, spec, out)
    return summary


def _frame_lpips(ref: np.ndarray, rec: np.ndarray) -> float:
    """LPIPS (alex) of two ``(H, W, 3)`` uint8 frames (the image apps' eval metric)."""
    return lpips_metric("alex")(to_float(ref), to_float(rec))


def _curve(rows: Sequence[dict[str, Any]], label: str, key: str = "psnr") -> tuple[np.ndarray, np.ndarray]:
    sel = sorted((r for r in rows if r["label"] == label), key=lambda r: r["bpp"])
    return np.array([r["bpp"] for r in sel]), np.array([r[key] for r in sel])


def _bd(
    entry: dict[str, Any], key: str, fn: Any, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> None:
    """``entry[key] = fn(anchor, curve)``, or None plus ``entry[key + "_note"]`` when the curves do not overlap."""
    try:
        entry[key] = fn(*a, *b, dominated="drop")
    except InputError as exc:
        entry[key] = None
        entry[f"{key}_note"] = str(exc)


def _summary(rows: list[dict[str, Any]], labels: list[str], spec: VideoEvalSpec, clip: str) -> dict[str, Any]:
    anchor = labels[0]
    ra, pa = _curve(rows, anchor)
    res: dict[str, Any] = {
        "clip": clip,
        "codec": spec.codec,
        "crfs": list(spec.crfs),
        "preset": spec.preset,
        "anchor": anchor,
        "entries": {},
    }
    for label in labels:
        rb, pb = _curve(rows, label)
        entry: dict[str, Any] = {
            "mean_bpp": float(rb.mean()),
            "mean_psnr": float(pb.mean()),
            "mean_flicker": float(np.mean([r["flicker"] for r in rows if r["label"] == label])),
        }
        if spec.lpips:
            entry["mean_lpips"] = float(np.mean([r["lpips"] for r in rows if r["label"] == label]))
        if label != anchor:
            for key, fn in (("bd_rate_pct", bd_rate), ("bd_psnr_db", bd_psnr)):
                _bd(entry, key, fn, (ra, pa), (rb, pb))
            if spec.lpips:  # quality axis −ln(LPIPS): higher = better, as BD expects
                la, lb = _curve(rows, anchor, "lpips"), _curve(rows, label, "lpips")
                _bd(entry, "bd_rate_lpips_pct", bd_rate, (la[0], -np.log(la[1])), (lb[0], -np.log(lb[1])))
        res["entries"][label] = entry
    return res


def _write_outputs(rows: list[dict[str, Any]], summary: dict[str, Any], out: Path) -> None:
    with atomic_path(out / "records.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    labels = list(summary["entries"])
    title = f"{summary['clip']} — {summary['codec']} (real bytes, mean per-frame PSNR)"
    plot_rd({lb: _curve(rows, lb) for lb in labels}, out / "rd.png", title=title, xlabel="bits per pixel per frame")
    plot_rd(
        {lb: _curve(rows, lb, "flicker") for lb in labels},
        out / "flicker.png",
        title=f"{summary['clip']} — temporal flicker of the coding error",
        ylabel="flicker (8-bit units)",
        xlabel="bits per pixel per frame",
    )
    if "lpips" in rows[0]:
        plot_rd(
            {lb: _curve(rows, lb, "lpips") for lb in labels},
            out / "rd_lpips.png",
            title=f"{summary['clip']} — LPIPS (alex, lower = better)",
            ylabel="LPIPS",
            xlabel="bits per pixel per frame",
        )


def _comparison(
    entries: Sequence[PlainVideo | SandwichVideo],
    rows: list[dict[str, Any]],
    clip: FrameSource,
    spec: VideoEvalSpec,
    out: Path,
) -> None:
    """Side-by-side video (source | anchor | first sandwich) at the sandwich's middle CRF and the anchor's
    closest rate, with a PNG of the middle frame."""
    sand = next((e for e in entries if isinstance(e, SandwichVideo)), None)
    if sand is None or sand is entries[0]:
        return
    srows = sorted((r for r in rows if r["label"] == sand.label), key=lambda r: r["crf"])
    s = srows[len(srows) // 2]
    a = min((r for r in rows if r["label"] == entries[0].label), key=lambda r: abs(np.log(r["bpp"] / s["bpp"])))
    size = (clip.width, clip.height)
    frames = zip(
        _limited(clip, spec.max_frames),
        _decode(entries[0], spec.codec, Path(a["stream"]), size),
        _decode(sand, spec.codec, Path(s["stream"]), size),
    )
    mid = (s["frames"] - 1) // 2
    with get_codec("h264").writer(out / "comparison.mp4", crf=14, fps=_fps(clip)) as w:
        for i, (ref, an, sw) in enumerate(frames):
            panel = np.concatenate(
                [
                    ref,
                    np.full((ref.shape[0], 4, 3), 255, np.uint8),
                    an,
                    np.full((ref.shape[0], 4, 3), 255, np.uint8),
                    sw,
                ],
                axis=1,
            )
            w.write(panel)
            if i == mid:
                _label_png(
                    panel,
                    out / "comparison.png",
                    f"source | {entries[0].label} {a['bpp']:.3f} bpp {a['psnr']:.2f} dB | "
                    f"{sand.label} {s['bpp']:.3f} bpp {s['psnr']:.2f} dB (frame {i})",
                )


def _label_png(panel: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, w = panel.shape[:2]
    fig = plt.figure(figsize=(w / 100, h / 100 + 0.4), dpi=100)
    ax = fig.add_axes((0, 0, 1, h / (h + 40)))
    ax.imshow(panel)
    ax.axis("off")
    fig.text(0.01, 1 - 20 / (h + 40), title, fontsize=8, va="center")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    from PIL import Image

    write_image(path, np.asarray(Image.open(buf).convert("RGB")))
