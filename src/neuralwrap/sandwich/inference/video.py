"""Sandwiched video, frame by frame: pre-process each frame, encode the code frames with a real video encoder
(x264 / x265 / SVT-AV1 through PyAV) into a standard ``.mp4``, decode it and post-process each frame.

This is the per-frame first step of sandwiched video: the networks are image sandwiches applied to every
frame, the encoder's inter prediction and rate control are untouched. Everything streams one frame at a
time, so memory does not grow with the clip length. The model id and its conditioning quality travel
in the MP4 metadata (key :data:`VIDEO_TAG_KEY`), so decoding needs no flags.

Conditioning: image sandwiches are conditioned on the JPEG quality they were trained at. For a video
encode the encoder picks the JPEG quality whose damage to the first frame's code image (PSNR of the
code image itself) matches the video encoder's at the requested CRF (distortion-matched conditioning,
as :mod:`neuralwrap.sandwich.inference.transfer` does for other image codecs), unless ``cond_quality`` is given.
Video sandwiches (trained through the x265 proxy, ``config.codec == "hevc"``, see
:mod:`neuralwrap.sandwich.training.video`) are conditioned on ``q = 100 − 2·QP`` instead: the constant ``qp`` of
the encode, or ``crf_to_qp(crf)`` for a CRF encode (x265's default CRF 28 when neither is given).

Rates are real: ``bpp = 8 · len(mp4 bytes) / (W · H · frames)`` of the full-resolution source.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CodecError, InputError
from neuralwrap.io.atomic import atomic_dir
from neuralwrap.io.images import write_image
from neuralwrap.io.video import DecodeReport, FrameSource, open_frames
from neuralwrap.metrics.psnr import psnr
from neuralwrap.proxies.video import crf_to_qp
from neuralwrap.sandwich.config import is_video_model, qp_to_quality
from neuralwrap.sandwich.inference.codec import SandwichCodec, load_pretrained
from neuralwrap.sandwich.inference.fileformat import SandwichTag, parse_tag

__all__ = [
    "VIDEO_TAG_KEY",
    "VideoReport",
    "code_pix_fmt",
    "decode_video",
    "encode_video",
    "iter_decode_video",
    "matched_video_quality",
    "read_video_tag",
    "temporal_flicker",
    "video_cond_quality",
]

log = logging.getLogger(__name__)

#: MP4 metadata key of the sandwich tag (``neuralwrap:<model>@<version>;q=<cond quality>``)
VIDEO_TAG_KEY = "org.neuralwrap.sandwich"
_JPEG_GRID = tuple(range(5, 96, 5))


@dataclass
class VideoReport:
    """What one encode or decode did (JSON-serialisable via ``asdict``)."""

    path: str
    frames: int
    width: int
    height: int
    bytes: int
    bpp: float
    """Bits per pixel per frame of the full-resolution source (container included)."""
    codec: str
    pix_fmt: str
    crf: int | None
    model: str
    cond_quality: int
    seconds: float
    skipped: int = 0
    """Frames skipped as corrupt (decode with ``skip_corrupt`` only; otherwise a lost frame is an error)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def code_pix_fmt(sc: SandwichCodec, pix_fmt: str | None = None) -> str:
    """The coded pixel format for a model's code frames: ``gray`` for a 1-channel code, else ``pix_fmt`` or
    the model's own chroma format (``yuv420p`` for 4:2:0 models, ``yuv444p`` for 4:4:4)."""
    if sc.config.code_channels == 1:
        if pix_fmt not in (None, "gray"):
            raise InputError(f"model {sc.name} makes 1-channel code frames: pix_fmt must be gray, got {pix_fmt!r}")
        return "gray"
    if sc.config.code_channels != 3:
        raise InputError(
            f"model {sc.name} makes {sc.config.code_channels}-channel code frames; video codecs carry 1 or 3"
        )
    if pix_fmt == "gray":
        raise InputError(
            f"model {sc.name} makes 3-channel code frames: pix_fmt gray needs a model with a 1-channel code"
        )
    return pix_fmt or ("yuv444p" if sc.config.subsampling == "444" else "yuv420p")


def _jpeg_settings(sc: SandwichCodec) -> dict[str, Any]:
    return {} if sc.config.code_channels == 1 else {"subsampling": sc.config.subsampling}


def matched_video_quality(
    sc: SandwichCodec, frame: np.ndarray, codec: str, settings: dict[str, Any], iterations: int = 2
) -> int:
    """The conditioning JPEG quality whose damage to ``frame``'s code image matches the video encoder's
    (both measured as PSNR of the decoded code image; the frame coded alone, as an intra frame)."""
    vc, jc = get_codec(codec), get_codec("jpeg")
    js = {**_jpeg_settings(sc), "lossless_pass": False}  # only pixels are compared: the pass cannot change them
    cq = 50
    for _ in range(iterations):
        code = sc.code_image(frame, cq)
        target = psnr(code, vc.decode(vc.encode([code], **settings))[0])
        curve = np.array([psnr(code, jc.decode(jc.encode(code, quality=q, **js))) for q in _JPEG_GRID])
        order = np.argsort(curve)
        lo, hi = sc.config.quality_range
        cq = int(np.clip(round(float(np.interp(target, curve[order], np.asarray(_JPEG_GRID)[order]))), lo, hi))
    return cq


def video_cond_quality(sc: SandwichCodec, pix_fmt: str, crf: float | None = None, qp: float | None = None) -> int:
    """Conditioning quality of a video sandwich (``config.codec == "hevc"``): ``100 − 2·QP`` with ``QP = qp``,
    or ``crf_to_qp(crf, pix_fmt)`` (CRF 28, x265's default, when both are None), clamped to the model's range."""
    q_eff = float(qp) if qp is not None else crf_to_qp(28.0 if crf is None else float(crf), pix_fmt)
    lo, hi = sc.config.quality_range
    return int(np.clip(round(qp_to_quality(q_eff)), lo, hi))


def encode_video(
    sc: SandwichCodec,
    source: FrameSource,
    out: str | os.PathLike[str],
    *,
    codec: str = "hevc",
    crf: int | None = None,
    qp: int | None = None,
    preset: str | int | None = None,
    pix_fmt: str | None = None,
    cond_quality: int | None = None,
    max_frames: int | None = None,
    progress: bool = True,
) -> VideoReport:
    """Pre-process every frame of ``source`` and encode the code frames into the standard ``.mp4`` ``out``
    (written atomically). ``crf`` or ``qp`` (constant QP), ``preset`` as the codec takes them; returns the
    real size and rate. Conditioning: ``cond_quality``, else :func:`video_cond_quality` for a video
    sandwich, else :func:`matched_video_quality`."""
    fmt = code_pix_fmt(sc, pix_fmt)
    settings: dict[str, Any] = {"pix_fmt": fmt, "fps": _fps(source)}
    if crf is not None and qp is not None:
        raise InputError("give crf or qp, not both")
    if crf is not None:
        settings["crf"] = crf
    if qp is not None:
        settings["qp"] = qp
    if preset is not None:
        settings["preset"] = preset
    vc = get_codec(codec)
    if not hasattr(vc, "writer"):
        raise InputError(f"{codec!r} is not a video codec")
    t0 = time.perf_counter()
    frames = _limited(source, max_frames)
    first = next(frames, None)
    if first is None:
        raise InputError(f"{source.path}: no frames")
    if cond_quality is not None:
        cq = int(cond_quality)
    elif is_video_model(sc.config):
        cq = video_cond_quality(sc, fmt, crf, qp)
    else:
        cq = matched_video_quality(sc, first, codec, settings)
    tag = SandwichTag(sc.name, sc.version, cq)
    n = 0
    bar = tqdm(total=_total(source, max_frames), desc=f"encode {Path(out).name}", unit="frame", disable=not progress)
    with bar, vc.writer(out, **settings, metadata={VIDEO_TAG_KEY: tag.text()}) as w:
        for frame in _chain(first, frames):
            w.write(sc.code_image(frame, cq))
            n += 1
            bar.update()
    size = Path(out).stat().st_size
    return VideoReport(
        str(out),
        n,
        source.width,
        source.height,
        size,
        8.0 * size / (source.width * source.height * n),
        codec,
        fmt,
        crf,
        sc.name,
        cq,
        time.perf_counter() - t0,
        skipped=source.report.skipped,
    )


def read_video_tag(path: str | os.PathLike[str]) -> tuple[str, SandwichTag | None]:
    """``(codec name, tag or None)`` of an ``.mp4``; unreadable files raise :class:`InputError`."""
    import av  # local: training and image coding need no PyAV

    try:
        with av.open(os.fspath(path)) as c:
            if not c.streams.video:
                raise InputError(f"{path} has no video stream")
            name = c.streams.video[0].codec_context.codec.canonical_name
            text = c.metadata.get(VIDEO_TAG_KEY)
    except InputError:
        raise
    except FileNotFoundError as exc:
        raise InputError(f"video file {path} does not exist") from exc
    except Exception as exc:
        raise InputError(f"cannot read video {path}: {type(exc).__name__}: {exc} — corrupt or truncated?") from exc
    return name, parse_tag(text)


def iter_decode_video(
    path: str | os.PathLike[str],
    sc: SandwichCodec | None = None,
    device: str = "cpu",
    *,
    skip_corrupt: bool = False,
    report: DecodeReport | None = None,
) -> Iterator[np.ndarray]:
    """Decode a sandwich ``.mp4`` frame by frame → post-processed ``(H, W, 3)`` uint8 frames. The model comes
    from the file's tag (a shipped model) unless ``sc`` is given; a file without a tag raises :class:`CodecError`,
    and so does a frame lost to corrupt data (named by index) unless ``skip_corrupt`` (counted in ``report``)."""
    codec, tag = read_video_tag(path)
    if tag is None:
        raise CodecError(f"{path} has no neuralwrap tag ({VIDEO_TAG_KEY}); it is a plain {codec} video")
    if sc is None:
        sc = load_pretrained(tag.model, device)
    elif sc.name != tag.model:
        raise CodecError(f"{path} was made by model {tag.model!r}, not {sc.name!r}")
    for decoded in get_codec(codec).iter_decode(path, skip_corrupt=skip_corrupt, report=report):
        yield sc.postprocess(decoded, tag.quality)


def decode_video(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    sc: SandwichCodec | None = None,
    device: str = "cpu",
    crf: int = 12,
    progress: bool = True,
    skip_corrupt: bool = False,
) -> VideoReport:
    """Decode a sandwich ``.mp4`` into ``out``: a folder of PNG frames (``frame_00000.png`` …), or, when
    ``out`` ends in ``.mp4``, an H.264 4:2:0 file at ``crf`` (default 12: near-transparent) any player plays.

    Both are atomic: frames go to a temporary sibling folder that replaces ``out`` whole at the end (no stale
    frames of an earlier run survive), the ``.mp4`` to a temporary name; an error or Ctrl-C leaves ``out`` as it
    was. A frame lost to corrupt data raises :class:`CodecError` naming its index, unless ``skip_corrupt``
    (then ``VideoReport.skipped`` counts them)."""
    t0 = time.perf_counter()
    codec, tag = read_video_tag(path)
    out = Path(out)
    lost = DecodeReport()
    frames = iter_decode_video(path, sc, device, skip_corrupt=skip_corrupt, report=lost)
    n, shape = 0, (0, 0)
    with tqdm(desc=f"decode {Path(path).name}", unit="frame", disable=not progress) as bar:
        if out.suffix.lower() == ".mp4":
            with get_codec("h264").writer(out, crf=crf, fps=_fps_of(path)) as w:
                for frame in frames:
                    w.write(frame)
                    n, shape = n + 1, frame.shape
                    bar.update()
        else:
            with atomic_dir(out) as tmp:
                for frame in frames:
                    write_image(tmp / f"frame_{n:05d}.png", frame)
                    n, shape = n + 1, frame.shape
                    bar.update()
    size = Path(path).stat().st_size
    assert tag is not None  # iter_decode_video raised otherwise
    return VideoReport(
        str(out),
        n,
        shape[1],
        shape[0],
        size,
        8.0 * size / max(shape[0] * shape[1] * n, 1),
        codec,
        "",
        None,
        tag.model,
        tag.quality,
        time.perf_counter() - t0,
        skipped=lost.skipped,
    )


def temporal_flicker(refs: Iterable[np.ndarray], recs: Iterable[np.ndarray]) -> float:
    """Flicker of a reconstruction: mean over frames t ≥ 1 and pixels of ``|e_t − e_{t−1}|`` with
    ``e_t = rec_t − ref_t`` (8-bit units). 0 = the coding error is static; a per-frame coder that
    changes its error from frame to frame scores high even where each frame's PSNR is good."""
    prev: np.ndarray | None = None
    total, count = 0.0, 0
    for ref, rec in zip(refs, recs, strict=True):
        err = rec.astype(np.float32) - ref.astype(np.float32)
        if prev is not None:
            total += float(np.abs(err - prev).mean())
            count += 1
        prev = err
    if count == 0:
        raise InputError("temporal_flicker needs at least two frames")
    return total / count


# -- helpers ----------------------------------------------------------------------------------------
def _limited(source: Iterable[np.ndarray], max_frames: int | None) -> Iterator[np.ndarray]:
    for i, f in enumerate(source):
        if max_frames is not None and i >= max_frames:
            return
        yield f


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _total(source: FrameSource, max_frames: int | None) -> int | None:
    if source.num_frames is None:
        return max_frames
    return source.num_frames if max_frames is None else min(source.num_frames, max_frames)


def _fps(source: FrameSource) -> Any:
    from fractions import Fraction

    f = Fraction(source.fps).limit_denominator(1001)
    return int(f) if f.denominator == 1 else f


def _fps_of(path: str | os.PathLike[str]) -> Any:
    return _fps(open_frames(path))
