"""Rate-distortion sweeps: run a codec (or any encode->decode pipeline) over images x qualities.

``rd_sweep`` produces one :class:`RDRecord` per (image, quality) with the real rate
(``bpp = 8 * len(bytes) / (H * W)``, headers included) and PSNR on the original's dtype (8-bit RGB for Kodak,
MSE over all pixels and channels). ``summarize`` turns records into the numbers of ``BASELINES.md``:

* PSNR at fixed bpp: each image's curve is read off at the target (linear in log-bpp), then averaged over
  images; NaN ("n/a") if any image's curve does not reach the target.
* BD-rate / BD-PSNR vs an anchor, two ways: per image then averaged (``*_img``, with the count of images where
  the curves overlap), and on the averaged curve (``*_avg``: mean bpp and mean PSNR per quality, CompressAI's
  convention).

A non-codec pipeline (e.g. a sandwich model) reuses the sweep through ``roundtrip(image, quality) ->
(bytes, decoded)``.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.codecs.base import ImageCodec, bits_per_pixel
from neuralwrap.codecs.registry import get_codec
from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path
from neuralwrap.io.images import check_image, read_image, to_float
from neuralwrap.metrics.psnr import psnr
from neuralwrap.rd.bd import bd_psnr, bd_rate, psnr_at_bpp

__all__ = [
    "RDRecord",
    "Roundtrip",
    "load_images",
    "rd_sweep",
    "write_csv",
    "read_csv",
    "curves_by_image",
    "average_curve",
    "mean_psnr_at_bpp",
    "bd_vs_anchor",
    "summarize",
]

log = logging.getLogger(__name__)

#: ``roundtrip(image, quality) -> (bytes, decoded image)``: a custom encode->decode pipeline.
Roundtrip = Callable[[np.ndarray, Any], tuple[bytes, np.ndarray]]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp")
DEFAULT_TARGETS = (0.25, 0.5, 0.75, 1.0, 1.5)


@dataclass
class RDRecord:
    """One (image, quality) point of a sweep."""

    label: str
    """Curve name (codec name or a variant label such as ``jpeg420opt``)."""
    image: str
    """Image name (file stem or the key given)."""
    height: int
    """Original height in pixels."""
    width: int
    """Original width in pixels."""
    quality: float
    """Quality setting passed to the codec / roundtrip."""
    bytes: int
    """Size of the encoded file in bytes (headers included)."""
    bpp: float
    """Rate in bits per pixel: ``8 * bytes / (height * width)``."""
    psnr: float
    """PSNR in dB against the original (peak from its dtype; 255 for 8-bit)."""
    encode_s: float
    """Encode wall time in seconds (NaN for a ``roundtrip`` pipeline)."""
    decode_s: float
    """Decode wall time in seconds (NaN for a ``roundtrip`` pipeline)."""
    seconds: float
    """Total encode + decode wall time in seconds."""


def load_images(
    images: str | os.PathLike[str] | Mapping[str, np.ndarray] | Sequence[np.ndarray | str | os.PathLike[str]],
) -> dict[str, np.ndarray]:
    """Normalise sweep input to ``{name: HxWxC image}``: a folder (sorted image files, read as 8-bit RGB),
    a mapping name -> array, or a sequence of arrays (named ``img000``...) or file paths (named by stem)."""
    if isinstance(images, (str, os.PathLike)):
        folder = Path(images)
        if not folder.is_dir():
            raise InputError(f"image folder not found: {folder}")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        return {p.stem: read_image(p) for p in files}
    if isinstance(images, Mapping):
        out = {str(k): check_image(v, name=str(k)) for k, v in images.items()}
    else:
        out = {}
        for i, item in enumerate(images):
            if isinstance(item, np.ndarray):
                out[f"img{i:03d}"] = check_image(item, name=f"images[{i}]")
            else:
                out[Path(item).stem] = read_image(item)
    if not out:
        raise InputError("no images given to the sweep")
    return out


def _match(ref: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Bring a decoded image to the reference's layout: 1 -> C channels by replication, dtype by rescaling."""
    dec = check_image(dec, name="decoded image")
    if dec.shape[2] == 1 and ref.shape[2] > 1:  # e.g. grayscale JPEG of the luma vs the colour original
        dec = np.repeat(dec, ref.shape[2], axis=2)
    if dec.shape != ref.shape:
        raise InputError(f"decoded image has shape {dec.shape}, original {ref.shape}")
    if dec.dtype != ref.dtype:
        f = to_float(dec)
        if ref.dtype == np.float32:
            return f
        peak = np.iinfo(ref.dtype).max
        dec = np.clip(np.rint(f * peak), 0, peak).astype(ref.dtype)
    return dec


def _codec_roundtrip(codec: ImageCodec, settings: Mapping[str, Any]) -> Callable[[np.ndarray, Any], tuple]:
    def run(image: np.ndarray, quality: Any) -> tuple[bytes, np.ndarray, float, float]:
        t0 = time.perf_counter()
        data = codec.encode(image, quality=quality, **settings)
        t1 = time.perf_counter()
        dec = codec.decode(data)
        t2 = time.perf_counter()
        return data, dec, t1 - t0, t2 - t1

    return run


def _timed_roundtrip(fn: Roundtrip) -> Callable[[np.ndarray, Any], tuple]:
    def run(image: np.ndarray, quality: Any) -> tuple[bytes, np.ndarray, float, float]:
        t0 = time.perf_counter()
        data, dec = fn(image, quality)
        return data, dec, time.perf_counter() - t0, math.nan

    return run


def rd_sweep(
    codec_name: str,
    images: str | os.PathLike[str] | Mapping[str, np.ndarray] | Sequence[np.ndarray | str | os.PathLike[str]],
    qualities: Iterable[Any],
    *,
    label: str | None = None,
    roundtrip: Roundtrip | None = None,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: bool = False,
    **settings: Any,
) -> list[RDRecord]:
    """Encode + decode every image at every quality; one :class:`RDRecord` per (image, quality).

    Args:
        codec_name: registered image codec (``jpeg``, ``webp``, ``avif``, ``heif``, ...); with ``roundtrip``
            it is only the default label.
        images: folder, ``{name: array}`` or a sequence of arrays / paths (see :func:`load_images`).
        qualities: values passed as ``quality=`` to the codec (or to ``roundtrip``).
        label: curve name stored in the records (default ``codec_name``).
        roundtrip: optional ``(image, quality) -> (bytes, decoded)`` replacing the codec (settings unused).
        prepare: optional transform of the image before encoding (e.g. RGB -> luma for a grayscale codec);
            PSNR is still measured against the untransformed original. Not timed.
        progress: show a tqdm bar (for CLIs; off in library use).
        **settings: extra codec settings, e.g. ``subsampling="444"``, ``optimize=False``.

    A 1-channel decode of a colour original is compared after replicating it to all channels.
    """
    imgs = load_images(images)
    quals = list(qualities)
    if not quals:
        raise InputError("rd_sweep: no qualities given")
    if roundtrip is not None:
        if settings:
            raise InputError(f"rd_sweep: settings {sorted(settings)} are ignored with a roundtrip; pass them to it")
        run = _timed_roundtrip(roundtrip)
    else:
        codec = get_codec(codec_name)
        if not isinstance(codec, ImageCodec):
            raise InputError(f"rd_sweep: {codec_name!r} is not an image codec")
        run = _codec_roundtrip(codec, settings)
    name = label or codec_name
    jobs = [(n, q) for n in imgs for q in quals]
    it: Iterable[tuple[str, Any]] = jobs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(jobs, desc=name, unit="enc", leave=False)
    prepared = {n: prepare(im) for n, im in imgs.items()} if prepare is not None else imgs
    records = [_one(name, n, imgs[n], prepared[n], q, run) for n, q in it]
    log.info("rd_sweep %s: %d images x %d qualities", name, len(imgs), len(quals))
    return records


def _one(label: str, name: str, image: np.ndarray, source: np.ndarray, quality: Any, run: Callable) -> RDRecord:
    data, dec, enc_s, dec_s = run(source, quality)
    h, w = image.shape[:2]
    total = enc_s + (0.0 if math.isnan(dec_s) else dec_s)
    return RDRecord(
        label=label,
        image=name,
        height=h,
        width=w,
        quality=quality,
        bytes=len(data),
        bpp=bits_per_pixel(data, h, w),
        psnr=psnr(image, _match(image, dec)),
        encode_s=enc_s,
        decode_s=dec_s,
        seconds=total,
    )


def write_csv(records: Sequence[RDRecord], path: str | os.PathLike[str]) -> None:
    """Write records as CSV (header = :class:`RDRecord` fields) atomically."""
    fields = [f.name for f in dataclasses.fields(RDRecord)]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for rec in records:
            writer.writerow(dataclasses.asdict(rec))


def read_csv(path: str | os.PathLike[str]) -> list[RDRecord]:
    """Read records written by :func:`write_csv`."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"CSV not found: {p}")
    types = {f.name: f.type for f in dataclasses.fields(RDRecord)}
    conv = {"str": str, "int": int, "float": float}
    with open(p, newline="", encoding="utf-8") as fh:
        return [RDRecord(**{k: conv[str(types[k])](v) for k, v in row.items()}) for row in csv.DictReader(fh)]


def curves_by_image(records: Iterable[RDRecord], label: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{image: (bpps, psnrs)}`` of one curve label, each sorted by quality."""
    pts: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for r in records:
        if r.label == label:
            pts[r.image].append((float(r.quality), r.bpp, r.psnr))
    out = {}
    for img, p in pts.items():
        arr = np.asarray(sorted(p), dtype=np.float64)
        out[img] = (arr[:, 1], arr[:, 2])
    return out


def average_curve(records: Iterable[RDRecord], label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(qualities, mean bpp, mean PSNR)`` over images, per quality present for every image of ``label``."""
    by_q: dict[float, list[tuple[float, float]]] = defaultdict(list)
    images = set()
    for r in records:
        if r.label == label:
            by_q[float(r.quality)].append((r.bpp, r.psnr))
            images.add(r.image)
    qs = sorted(q for q, v in by_q.items() if len(v) == len(images))
    if not qs:
        raise InputError(f"no records for label {label!r}")
    return (
        np.asarray(qs),
        np.asarray([np.mean([v[0] for v in by_q[q]]) for q in qs]),
        np.asarray([np.mean([v[1] for v in by_q[q]]) for q in qs]),
    )


def mean_psnr_at_bpp(records: Iterable[RDRecord], label: str, target_bpp: float) -> tuple[float, int]:
    """Mean over images of each image's PSNR at ``target_bpp`` (log-bpp interpolation) and the image count.

    NaN if any image's curve does not cover the target (the value would be biased otherwise).
    """
    curves = curves_by_image(records, label)
    vals = [psnr_at_bpp(b, p, target_bpp) for b, p in curves.values()]
    n_ok = sum(1 for v in vals if not math.isnan(v))
    return (float(np.mean(vals)) if vals and n_ok == len(vals) else math.nan), n_ok


def bd_vs_anchor(records: Sequence[RDRecord], label: str, anchor: str) -> dict[str, Any]:
    """BD-rate (%) and BD-PSNR (dB) of ``label`` vs ``anchor``, per image averaged and on the averaged curve.

    Returns ``{"bd_rate_img", "bd_psnr_img", "n_img", "bd_rate_avg", "bd_psnr_avg"}``; NaN where the curves
    do not overlap. Dominated (non-monotonic) points are dropped before interpolation.
    """
    ca, cb = curves_by_image(records, anchor), curves_by_image(records, label)
    rates, dbs = [], []
    for img in sorted(set(ca) & set(cb)):
        try:
            rates.append(bd_rate(*ca[img], *cb[img], dominated="drop"))
            dbs.append(bd_psnr(*ca[img], *cb[img], dominated="drop"))
        except InputError as exc:
            log.debug("BD %s vs %s on %s skipped: %s", label, anchor, img, exc)
    out: dict[str, Any] = {
        "bd_rate_img": float(np.mean(rates)) if rates else math.nan,
        "bd_psnr_img": float(np.mean(dbs)) if dbs else math.nan,
        "n_img": len(rates),
    }
    _, ba, pa = average_curve(records, anchor)
    _, bb, pb = average_curve(records, label)
    for key, fn in (("bd_rate_avg", bd_rate), ("bd_psnr_avg", bd_psnr)):
        try:
            out[key] = fn(ba, pa, bb, pb, dominated="drop")
        except InputError as exc:
            log.debug("BD %s vs %s on the averaged curve skipped: %s", label, anchor, exc)
            out[key] = math.nan
    return out


def _speed(records: Iterable[RDRecord], label: str) -> dict[str, float]:
    """Encode+decode megapixels per second of ``label``, per quality."""
    px: dict[float, float] = defaultdict(float)
    sec: dict[float, float] = defaultdict(float)
    for r in records:
        if r.label == label:
            px[float(r.quality)] += r.height * r.width / 1e6
            sec[float(r.quality)] += r.seconds
    return {f"{q:g}": px[q] / sec[q] for q in sorted(px) if sec[q] > 0}


def summarize(
    records: Sequence[RDRecord],
    anchors: Sequence[str] = (),
    targets: Sequence[float] = DEFAULT_TARGETS,
) -> dict[str, dict[str, Any]]:
    """Per-label summary (JSON-ready): PSNR at each target bpp, BD vs each anchor, averaged curve, speed.

    ``{label: {"n_images", "psnr_at": {"0.25": dB, ...}, "bd": {anchor: bd_vs_anchor(...)},
    "curve": {"quality", "bpp", "psnr"}, "mp_per_s": {quality: MP/s}}}``.
    """
    labels = list(dict.fromkeys(r.label for r in records))
    missing = [a for a in anchors if a not in labels]
    if missing:
        raise InputError(f"summarize: anchor(s) {missing} not in records (labels: {labels})")
    out: dict[str, dict[str, Any]] = {}
    for lab in labels:
        q, b, p = average_curve(records, lab)
        out[lab] = {
            "n_images": len(curves_by_image(records, lab)),
            "psnr_at": {f"{t:g}": mean_psnr_at_bpp(records, lab, t)[0] for t in targets},
            "bd": {a: bd_vs_anchor(records, lab, a) for a in anchors},
            "curve": {"quality": q.tolist(), "bpp": b.tolist(), "psnr": p.tolist()},
            "mp_per_s": _speed(records, lab),
        }
    return out
