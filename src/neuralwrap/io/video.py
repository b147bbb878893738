"""Video frame sources: a folder of images, a ``.y4m`` file, raw ``.yuv`` (with size and pixel format), or any
file PyAV reads — each read frame by frame as ``(H, W, 3)`` uint8 RGB, so memory does not grow with the clip.

YUV → RGB uses FFmpeg's swscale (BT.601, limited range), the same conversion the video codecs use, so a
raw ``.yuv`` clip and its encode decode to comparable RGB. Conversions that lose information are
documented and logged, never silent:

- 10-bit input (``.y4m`` ``C420p10``/``C444p10``, raw ``yuv420p10le``, 10-bit files) is rounded to 8 bits
  (the sandwich and its codecs work on 8-bit frames);
- a variable-frame-rate file is read as constant frame rate at its average rate (frames keep their order;
  timestamps are dropped), and :attr:`FrameSource.variable_frame_rate` says so;
- grayscale input becomes RGB with R = G = B.

Frames lost to corrupt or truncated data (a decoder error, a frame the decoder flags corrupt or silently
drops, fewer packets than the container declares) are an error naming the frame index, or, with
``skip_corrupt``, skipped and counted in a :class:`DecodeReport` (see :func:`decode_checked`).
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.errors import InputError
from neuralwrap.io.images import error_text, read_image

__all__ = ["RAW_PIX_FMTS", "DecodeReport", "FrameSource", "decode_checked", "open_frames"]

log = logging.getLogger(__name__)

#: pixel formats accepted for raw ``.yuv`` input
RAW_PIX_FMTS = ("yuv420p", "yuv444p", "gray", "yuv420p10le")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_Y4M_FORMATS = {
    "420jpeg": "yuv420p",
    "420paldv": "yuv420p",
    "420mpeg2": "yuv420p",
    "420": "yuv420p",
    "444": "yuv444p",
    "mono": "gray",
    "420p10": "yuv420p10le",
    "444p10": "yuv444p10le",
}


@dataclass
class DecodeReport:
    """What :func:`decode_checked` decoded: frames delivered and frames lost to corrupt data."""

    frames: int = 0
    """Frames delivered."""
    expected: int = 0
    """Frames the container holds (packets, or its declared frame count when larger)."""
    lost: list[int] = field(default_factory=list)
    """Presentation indices (0-based) of the frames lost to corrupt or missing data, ascending."""
    errors: list[str] = field(default_factory=list)
    """Decoder error messages met on the way."""

    @property
    def skipped(self) -> int:
        """Number of lost frames (skipped when decoding with ``skip_corrupt``)."""
        return len(self.lost)


@dataclass
class FrameSource:
    """An opened clip: iterate it for ``(H, W, 3)`` uint8 RGB frames (each iteration re-reads from the start)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    """Frames per second (the average rate for variable-frame-rate files; 25 when the source has none)."""
    num_frames: int | None
    """Frame count when the source states it (image folders, y4m/raw files), else None."""
    kind: str
    """"images", "y4m", "raw" or "container"."""
    pix_fmt: str = "rgb24"
    """Pixel format of the source before conversion to RGB."""
    variable_frame_rate: bool = False
    skip_corrupt: bool = False
    """Skip frames lost to corrupt data (container sources) instead of raising :class:`InputError`."""
    report: DecodeReport = field(default_factory=DecodeReport)
    """What the latest iteration of a container source decoded and skipped."""

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.kind == "images":
            return _iter_images(self)
        if self.kind in ("y4m", "raw"):
            return _iter_planar(self)
        return _iter_container(self)


def open_frames(
    source: str | os.PathLike[str],
    *,
    size: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    fps: float | Fraction | None = None,
    skip_corrupt: bool = False,
) -> FrameSource:
    """Open a clip for frame-by-frame reading.

    Args:
        source: folder of images (sorted by name), ``.y4m`` file, raw ``.yuv`` file, or any video file PyAV reads.
        size: ``(width, height)`` in pixels; required for raw ``.yuv`` (ignored otherwise).
        pix_fmt: raw ``.yuv`` pixel format, one of :data:`RAW_PIX_FMTS` (default ``yuv420p``).
        fps: frame rate to record for sources that have none (image folders, raw files); default 25.
        skip_corrupt: for video files, skip frames lost to corrupt data (counted in ``report``) instead of raising.
    Raises:
        InputError: missing/unreadable file, unknown format, truncated raw/y4m data, mixed image sizes; a video
            file whose frames cannot all be decoded raises when iterated, naming the first lost frame.
    """
    path = Path(source)
    if not path.exists():
        raise InputError(f"video input {path} does not exist")
    rate = Fraction(fps).limit_denominator(1001) if fps is not None else Fraction(25)
    if rate <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    if path.is_dir():
        return _open_images(path, rate)
    if path.suffix.lower() == ".y4m":
        return _open_y4m(path)
    if path.suffix.lower() == ".yuv":
        return _open_raw(path, size, pix_fmt or "yuv420p", rate)
    src = _open_container(path)
    src.skip_corrupt = skip_corrupt
    return src


# -- image folders ----------------------------------------------------------------------------------
def _open_images(path: Path, fps: Fraction) -> FrameSource:
    from PIL import Image

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"folder {path} holds no image frames ({', '.join(_IMAGE_SUFFIXES)})")
    try:
        with Image.open(files[0]) as im:
            w, h = im.size
    except Exception as exc:
        raise InputError(f"cannot read frame {files[0]}: {error_text(exc)}") from exc
    src = FrameSource(path, w, h, fps, len(files), "images")
    src._files = files  # type: ignore[attr-defined]
    return src


def _iter_images(src: FrameSource) -> Iterator[np.ndarray]:
    for f in src._files:  # type: ignore[attr-defined]
        arr = read_image(f)
        if arr.dtype != np.uint8:
            log.warning("%s: %s frame rounded to 8 bits", f.name, arr.dtype)
            arr = (
                np.round(arr.astype(np.float64) / 257.0).astype(np.uint8)
                if arr.dtype == np.uint16
                else np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
            )
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        if arr.shape[:2] != (src.height, src.width):
            raise InputError(
                f"frame {f.name} is {arr.shape[1]}x{arr.shape[0]}, the first frame is {src.width}x{src.height}"
            )
        yield arr[:, :, :3]


# -- planar YUV (y4m and raw) -----------------------------------------------------------------------
def _frame_bytes(pix_fmt: str, w: int, h: int) -> int:
    cw, ch = (w + 1) // 2, (h + 1) // 2
    samples = {
        "yuv420p": w * h + 2 * cw * ch,
        "yuv420p10le": w * h + 2 * cw * ch,
        "yuv444p": 3 * w * h,
        "yuv444p10le": 3 * w * h,
        "gray": w * h,
    }[pix_fmt]
    return samples * (2 if pix_fmt.endswith("10le") else 1)


def _open_raw(path: Path, size: tuple[int, int] | None, pix_fmt: str, fps: Fraction) -> FrameSource:
    if size is None:
        raise InputError(f"raw video {path.name} needs its frame size (--size WxH) and pixel format (--in-pix-fmt)")
    w, h = (int(v) for v in size)
    if w <= 0 or h <= 0:
        raise InputError(f"raw video size must be positive, got {w}x{h}")
    if pix_fmt not in RAW_PIX_FMTS:
        raise InputError(f"raw video pixel format {pix_fmt!r} is not one of {RAW_PIX_FMTS}")
    fb = _frame_bytes(pix_fmt, w, h)
    total = path.stat().st_size
    if total == 0 or total % fb:
        raise InputError(
            f"raw video {path.name}: {total} bytes is not a whole number of {w}x{h} {pix_fmt} frames "
            f"({fb} bytes each) — truncated file, or wrong --size/--in-pix-fmt"
        )
    src = FrameSource(path, w, h, fps, total // fb, "raw", pix_fmt)
    src._offsets = [i * fb for i in range(total // fb)]  # type: ignore[attr-defined]
    return src


def _open_y4m(path: Path) -> FrameSource:
    with open(path, "rb") as f:
        header = f.readline(4096)
    if not header.startswith(b"YUV4MPEG2 ") or not header.endswith(b"\n"):
        raise InputError(f"{path.name} is not a YUV4MPEG2 (.y4m) file")
    fields = {t[:1]: t[1:] for t in header.decode("ascii", "replace").split()[1:]}
    try:
        w, h = int(fields["W"]), int(fields["H"])
    except (KeyError, ValueError) as exc:
        raise InputError(f"{path.name}: y4m header lacks a valid W/H: {header!r}") from exc
    num, _, den = fields.get("F", "25:1").partition(":")
    try:
        fps = Fraction(int(num), int(den or 1))
    except (ValueError, ZeroDivisionError) as exc:
        raise InputError(f"{path.name}: bad y4m frame rate {fields.get('F')!r}") from exc
    cs = fields.get("C", "420jpeg").split("XY")[0]
    if cs not in _Y4M_FORMATS:
        raise InputError(f"{path.name}: y4m colour space C{cs} is not supported ({', '.join(_Y4M_FORMATS)})")
    pix_fmt = _Y4M_FORMATS[cs]
    fb = _frame_bytes(pix_fmt, w, h)
    offsets, pos, size = [], len(header), path.stat().st_size
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            line = f.readline(1024)
            if not line.startswith(b"FRAME") or not line.endswith(b"\n"):
                raise InputError(f"{path.name}: corrupt y4m data at byte {pos} (expected a FRAME header)")
            pos += len(line)
            if pos + fb > size:
                raise InputError(f"{path.name}: truncated y4m file (frame {len(offsets)} is incomplete)")
            offsets.append(pos)
            pos += fb
    if not offsets:
        raise InputError(f"{path.name}: y4m file holds no frames")
    src = FrameSource(path, w, h, fps, len(offsets), "y4m", pix_fmt)
    src._offsets = offsets  # type: ignore[attr-defined]
    return src


def _iter_planar(src: FrameSource) -> Iterator[np.ndarray]:
    w, h, fmt = src.width, src.height, src.pix_fmt
    fb = _frame_bytes(fmt, w, h)
    if fmt.endswith("10le"):
        log.warning("%s: 10-bit %s rounded to 8 bits", src.path.name, fmt)
    with open(src.path, "rb") as f:
        for off in src._offsets:  # type: ignore[attr-defined]
            f.seek(off)
            yield planar_to_rgb(f.read(fb), w, h, fmt)


def planar_to_rgb(data: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
    """One planar YUV frame (``pix_fmt`` as in :data:`RAW_PIX_FMTS` or ``yuv444p10le``) → ``(H, W, 3)`` uint8
    RGB via swscale (BT.601 limited range); 10-bit samples are rounded to 8 bits first."""
    import av

    deep = pix_fmt.endswith("10le")
    s = np.frombuffer(data, dtype="<u2" if deep else np.uint8)
    if deep:
        s = np.clip(np.round(s.astype(np.float32) / 4.0), 0, 255).astype(np.uint8)
    w, h = width, height
    y = s[: w * h].reshape(h, w)
    if pix_fmt == "gray":
        return np.repeat(y[:, :, None], 3, axis=2)
    if pix_fmt.startswith("yuv444"):
        planes = [y, s[w * h : 2 * w * h].reshape(h, w), s[2 * w * h : 3 * w * h].reshape(h, w)]
        frame = av.VideoFrame(w, h, "yuv444p")
    else:
        cw, ch = (w + 1) // 2, (h + 1) // 2
        planes = [
            y,
            s[w * h : w * h + cw * ch].reshape(ch, cw),
            s[w * h + cw * ch : w * h + 2 * cw * ch].reshape(ch, cw),
        ]
        frame = av.VideoFrame(w, h, "yuv420p")
    for plane, arr in zip(frame.planes, planes):
        stride = plane.line_size
        buf = np.zeros((arr.shape[0], stride), np.uint8)
        buf[:, : arr.shape[1]] = arr
        plane.update(buf.tobytes())
    return frame.to_ndarray(format="rgb24")


# -- anything PyAV reads -----------------------------------------------------------------------------
def _open_container(path: Path) -> FrameSource:
    import av

    try:
        with av.open(os.fspath(path)) as c:
            if not c.streams.video:
                raise InputError(f"{path.name} has no video stream")
            if c.format.name == "image2" or c.format.name.endswith("_pipe"):
                raise InputError(
                    f"{path.name} is a still image ({c.format.name.removesuffix('_pipe')}), not a video "
                    "(wrong extension?); give a folder of image frames"
                )
            st = c.streams.video[0]
            w, h = st.codec_context.width, st.codec_context.height
            avg = st.average_rate
            base = st.base_rate or st.guessed_rate
            fmt = st.codec_context.pix_fmt or "unknown"
            n = st.frames or None
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read video {path.name}: {error_text(exc)}") from exc
    if not w or not h:
        raise InputError(f"{path.name}: the video stream has no frame size")
    fps = Fraction(avg) if avg else Fraction(base) if base else Fraction(25)
    vfr = bool(avg and base and abs(float(avg) - float(base)) > 0.01 * float(base))
    if vfr:
        log.warning(
            "%s: variable frame rate (average %.3f fps, base %.3f fps); read as constant %.3f fps",
            path.name,
            float(avg),
            float(base),
            float(fps),
        )
    if re.search(r"p1[0-6]", fmt):
        log.warning("%s: %s input rounded to 8 bits", path.name, fmt)
    return FrameSource(path, w, h, fps, n, "container", fmt, vfr)


def _iter_container(src: FrameSource) -> Iterator[np.ndarray]:
    import av

    src.report = DecodeReport()
    try:
        with av.open(os.fspath(src.path)) as c:
            for frame in decode_checked(
                c,
                c.streams.video[0],
                name=src.path.name,
                error=InputError,
                skip_corrupt=src.skip_corrupt,
                report=src.report,
            ):
                arr = frame.to_ndarray(format="rgb24")
                if arr.shape[:2] != (src.height, src.width):
                    raise InputError(f"{src.path.name}: frame size changed mid-stream to {arr.shape[1]}x{arr.shape[0]}")
                yield arr
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{src.path.name}: cannot decode video ({error_text(exc)}) — corrupt or truncated?") from exc


# -- checked decoding (shared with neuralwrap.codecs.video) ------------------------------------------
def decode_checked(
    container: Any,
    stream: Any,
    *,
    name: str,
    error: type[Exception] = InputError,
    skip_corrupt: bool = False,
    report: DecodeReport | None = None,
) -> Iterator[Any]:
    """Decode ``stream`` of an open PyAV ``container`` packet by packet → its good ``av.VideoFrame`` s.

    A frame is lost when the decoder fails on its data, flags it corrupt, or drops it silently (its packet's
    timestamp never comes out), or when the container declares more frames than it holds. Losses are found
    by the end of the stream; then, unless ``skip_corrupt``, ``error`` is raised naming the lost frame indices
    (in presentation order) and the decoder's message. ``report`` (filled as decoding goes) has the counts.
    """
    rep = report if report is not None else DecodeReport()
    expected: list[int | None] = []  # pts of every packet that should give a frame
    good: list[int | None] = []  # pts of every frame delivered
    packets = 0
    for packet in _packets(container, stream, rep):
        if packet is not None and packet.size:
            packets += 1
            if not packet.is_discard:  # the decoder drops the frames of discarded (edit list) packets
                expected.append(packet.pts)
        try:
            frames = stream.codec_context.decode(packet)
        except Exception as exc:  # av.error.InvalidDataError and friends: the packet's frame(s) are lost
            rep.errors.append(error_text(exc))
            continue
        for frame in frames:
            if frame.is_corrupt:
                rep.errors.append(f"decoder flagged the frame at pts {frame.pts} corrupt")
                continue
            good.append(frame.pts)
            rep.frames += 1
            yield frame
    rep.expected = len(expected) + max(0, int(stream.frames or 0) - packets)
    rep.lost = _lost_indices(expected, good, rep.expected)
    if rep.lost and not skip_corrupt:
        shown = ", ".join(map(str, rep.lost[:10])) + (", …" if len(rep.lost) > 10 else "")
        why = f"; decoder said: {rep.errors[-1]}" if rep.errors else ""
        raise error(
            f"{name}: frame{'s' if len(rep.lost) > 1 else ''} {shown} of {rep.expected} could not be decoded "
            f"(corrupt or truncated data{why}); --skip-corrupt (skip_corrupt=True) skips them"
        )
    if rep.errors and not rep.lost:
        log.warning("%s: decoder errors but no frame lost (%s)", name, rep.errors[-1])
    elif rep.lost:
        log.warning("%s: skipped %d corrupt frame(s) of %d: %s", name, len(rep.lost), rep.expected, rep.lost)


def _packets(container: Any, stream: Any, rep: DecodeReport) -> Iterator[Any]:
    """The stream's packets; a demuxer error (truncated or corrupt file) ends them with a flush (None)."""
    demux = container.demux(stream)
    while True:
        try:
            yield next(demux)
        except StopIteration:
            return
        except Exception as exc:
            rep.errors.append(error_text(exc))
            yield None
            return


def _lost_indices(expected: list[int | None], good: list[int | None], total: int) -> list[int]:
    """Presentation indices of the ``expected`` timestamps that ``good`` lacks (by count when timestamps are
    missing), plus the indices past the packets up to the declared ``total``."""
    if None in expected or None in good:
        lost = list(range(len(good), len(expected)))
    else:
        left = Counter(good)
        lost = []
        for i, pts in enumerate(sorted(expected)):  # type: ignore[type-var]
            if left[pts]:
                left[pts] -= 1
            else:
                lost.append(i)
    return lost + list(range(len(expected), total))
