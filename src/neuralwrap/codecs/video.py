"""Video codecs through PyAV (FFmpeg): ``h264`` (libx264), ``hevc`` (libx265), ``av1`` (libsvtav1).

``encode(frames, **settings) -> bytes`` writes a standard MP4 file in memory; ``decode(bytes)`` returns
the frames. Frames are ``HxWxC`` numpy arrays of one size: ``C=3`` RGB uint8 for the 8-bit colour
formats, ``C=1`` uint8 for ``gray``, ``C=3`` RGB uint16 (full 16-bit range) for ``yuv420p10le``.
Colour conversion RGB <-> YUV is FFmpeg's swscale default (BT.601, limited range) both ways.

Support matrix (checked on the PyAV 18.1 wheel: x264, x265 4.3, SVT-AV1 4.1, decoders h264/hevc/dav1d)::

    codec  encoder    yuv420p  yuv444p  gray (4:0:0)  yuv420p10le
    h264   libx264    yes      yes      refused*      yes
    hevc   libx265    yes      yes      yes           yes
    av1    libsvtav1  yes      refused  refused       yes

    * libx264 accepts gray but writes a 4:2:0 stream (decodes as yuv420p): not a true 4:0:0, so refused.

Odd sizes: 4:2:0 needs even width and height, so odd frames are padded by edge replication to even
size (``hevc`` also pads frames narrower than 64 pixels to 64: libx265 4.x crashes on widths of
about 33-48 pixels); the true size is stored in the MP4 metadata key ``org.neuralwrap.size`` (``"WxH"``) and
:meth:`decode` crops back. A standard player shows the padded (at most one extra row/column) frame.
Rate: ``bits_per_pixel(data, H, W) / len(frames)`` gives bits per pixel per frame, container included.
Damage: a frame the decoder loses (decoder error, corrupt flag, silently dropped, missing packet) raises
:class:`CodecError` naming its index; ``decode(data, skip_corrupt=True, report=DecodeReport())`` skips such
frames and counts them instead (:class:`~neuralwrap.io.video.DecodeReport`).

Example::

    >>> codec = get_codec("hevc")
    >>> data = codec.encode(frames, crf=28, pix_fmt="yuv444p")   # frames: list of (H, W, 3) uint8
    >>> recon = codec.decode(data)                                 # list of (H, W, 3) uint8
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np

from neuralwrap.codecs.base import VideoCodec
from neuralwrap.codecs.settings import MAX_DECODE_PIXELS, check_int, parse_settings
from neuralwrap.errors import CodecError, InputError, UnsupportedOptionError
from neuralwrap.io.atomic import atomic_path
from neuralwrap.io.images import check_image, error_text
from neuralwrap.io.video import DecodeReport, decode_checked

__all__ = [
    "MAX_DECODE_FRAMES",
    "PIX_FMTS",
    "SIZE_KEY",
    "Av1Codec",
    "H264Codec",
    "HevcCodec",
    "VideoSettings",
    "VideoWriter",
    "read_video_metadata",
]

logger = logging.getLogger(__name__)

#: every pixel format name the video codecs know (each codec supports a subset, see the module doc)
PIX_FMTS: tuple[str, ...] = ("yuv420p", "yuv444p", "gray", "yuv420p10le")
#: MP4 metadata key holding the true ``"WxH"`` frame size when frames were padded to even size
SIZE_KEY: str = "org.neuralwrap.size"
#: decoders refuse streams with more frames than this (corrupt headers)
MAX_DECODE_FRAMES: int = 100_000

_X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


@dataclass
class VideoSettings:
    """Settings shared by the video codecs (ranges and defaults depend on the codec, see its class)."""

    crf: int | None = None
    """Constant rate factor (quality-based VBR); lower = better. Default: the codec's ``default_crf``."""
    qp: int | None = None
    """Constant quantiser instead of ``crf`` (give one of the two, not both)."""
    pix_fmt: str | None = None
    """Coded format, one of :data:`PIX_FMTS` the codec supports. Default from the input: 1-channel uint8 →
    ``gray``, 3-channel uint8 → ``yuv420p``, 3-channel uint16 → ``yuv420p10le``."""
    preset: str | int | None = None
    """Encoder speed preset: x264/x265 names (default ``"medium"``); SVT-AV1 0 (slowest) to 13 (default 8)."""
    fps: int | Fraction = 25
    """Frame rate in frames per second (stored in the container; affects rate control only slightly)."""
    gop: int | None = None
    """Maximum keyframe interval in frames (None: the encoder's default)."""
    metadata: Mapping[str, str] | None = None
    """Extra MP4 metadata tags (e.g. ``{"comment": "model=..."}``); read back with :func:`read_video_metadata`."""


def read_video_metadata(data: bytes) -> dict[str, str]:
    """Container metadata tags of an encoded video (including :data:`SIZE_KEY` when present)."""
    try:
        with av.open(io.BytesIO(bytes(data)), mode="r", format="mp4") as container:
            return {str(k): str(v) for k, v in container.metadata.items()}
    except Exception as exc:
        raise CodecError(f"read_video_metadata: cannot parse container ({error_text(exc)})") from exc


class _PyAVCodec(VideoCodec):
    """Shared PyAV encode/decode; subclasses set the encoder name, supported formats and ranges."""

    suffix = ".mp4"
    encoder: str = ""
    pix_fmts: tuple[str, ...] = ()
    refused: Mapping[str, str] = {}
    default_crf: int = 23
    crf_range: tuple[int, int] = (0, 51)
    qp_range: tuple[int, int] = (0, 51)
    default_preset: str | int = "medium"

    # -- settings ---------------------------------------------------------------------------
    def _check_pix_fmt(self, pix_fmt: str) -> None:
        if pix_fmt in self.refused:
            raise UnsupportedOptionError(
                f"{self.name}: option pix_fmt={pix_fmt!r} is not supported: {self.refused[pix_fmt]}"
            )
        if pix_fmt not in self.pix_fmts:
            raise UnsupportedOptionError(
                f"{self.name}: option pix_fmt={pix_fmt!r} is not supported; use one of {self.pix_fmts}"
            )

    def _check_preset(self, preset: Any) -> str:
        if preset not in _X26X_PRESETS:
            raise UnsupportedOptionError(f"{self.name}: option preset={preset!r} is not one of {_X26X_PRESETS}")
        return str(preset)

    def _options(self, cfg: VideoSettings) -> dict[str, str]:
        """Encoder AVOptions for ``cfg`` (FFmpeg silently ignores unknown keys, so everything is checked here)."""
        if cfg.crf is not None and cfg.qp is not None:
            raise UnsupportedOptionError(f"{self.name}: give option crf or option qp, not both")
        opts: dict[str, str] = {"preset": self._check_preset(self.default_preset if cfg.preset is None else cfg.preset)}
        if cfg.qp is not None:
            check_int(self.name, "qp", cfg.qp, *self.qp_range)
            opts["qp"] = str(int(cfg.qp))
        else:
            crf = self.default_crf if cfg.crf is None else cfg.crf
            check_int(self.name, "crf", crf, *self.crf_range)
            opts["crf"] = str(int(crf))
        return opts

    # -- encode -----------------------------------------------------------------------------
    def _frames(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        if isinstance(frames, np.ndarray) or not isinstance(frames, Sequence) or len(frames) == 0:
            raise InputError(f"{self.name}: frames must be a non-empty list of HxWxC arrays")
        out = [check_image(f, name=f"frame {i}") for i, f in enumerate(frames)]
        first = out[0]
        for i, f in enumerate(out):
            if f.shape != first.shape or f.dtype != first.dtype:
                raise InputError(
                    f"{self.name}: frame {i} is {f.shape} {f.dtype}, frame 0 is {first.shape} {first.dtype}"
                )
        if first.dtype == np.float32:
            raise InputError(f"{self.name}: float32 frames are not coded directly; convert with neuralwrap.io.to_uint8")
        return out

    def _default_pix_fmt(self, channels: int, dtype: np.dtype) -> str:
        if dtype == np.uint16:
            return "yuv420p10le"
        return "gray" if channels == 1 else "yuv420p"

    def _check_input(self, pix_fmt: str, channels: int, dtype: np.dtype) -> None:
        want = (1, np.uint8) if pix_fmt == "gray" else (3, np.uint16) if pix_fmt.endswith("10le") else (3, np.uint8)
        if (channels, dtype) != (want[0], np.dtype(want[1])):
            raise UnsupportedOptionError(
                f"{self.name}: option pix_fmt={pix_fmt!r} needs {want[0]}-channel {np.dtype(want[1]).name} frames, "
                f"got {channels}-channel {dtype}"
            )

    def _prepare_env(self) -> None:
        """Hook for encoder-specific process settings (e.g. SVT-AV1 log level)."""

    def encode(self, frames: Sequence[np.ndarray], **settings: Any) -> bytes:
        """Encode a list of ``HxWxC`` frames to MP4 bytes; see :class:`VideoSettings` for ``settings``."""
        arrs = self._frames(frames)
        buf = io.BytesIO()
        with self.writer(buf, **settings) as w:
            for arr in arrs:
                w.write(arr)
        return buf.getvalue()

    def writer(self, target: str | os.PathLike[str] | io.BytesIO, **settings: Any) -> VideoWriter:
        """A streaming encoder: ``with codec.writer("out.mp4", crf=28) as w: w.write(frame)`` (frames one at a
        time, memory independent of clip length). A path is written atomically (temp name, then rename)."""
        return VideoWriter(self, target, parse_settings(self.name, VideoSettings, settings))

    def _padding(self, h: int, w: int, pix_fmt: str) -> tuple[int, int]:
        """Rows and columns to add at the bottom/right (4:2:0 needs even sizes)."""
        return (h % 2, w % 2) if pix_fmt.startswith("yuv420") else (0, 0)

    def _fps(self, fps: Any) -> Fraction:
        if isinstance(fps, bool) or not isinstance(fps, (int, Fraction)) or not 0 < fps <= 1000:
            raise UnsupportedOptionError(f"{self.name}: option fps={fps!r} must be an int or Fraction in (0, 1000]")
        return Fraction(fps)

    def _metadata(self, metadata: Mapping[str, str] | None) -> dict[str, str]:
        if metadata is None:
            return {}
        if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise UnsupportedOptionError(f"{self.name}: option metadata must map str to str")
        if SIZE_KEY in metadata:
            raise UnsupportedOptionError(f"{self.name}: option metadata may not set the reserved key {SIZE_KEY!r}")
        return dict(metadata)

    # -- decode -----------------------------------------------------------------------------
    def decode(
        self, data: bytes, *, skip_corrupt: bool = False, report: DecodeReport | None = None
    ) -> list[np.ndarray]:
        """Decode MP4 bytes to frames: ``(H, W, 3)`` uint8, ``(H, W, 1)`` uint8 (gray) or ``(H, W, 3)``
        uint16 (10-bit, full 16-bit range). Corrupt or truncated data raises :class:`CodecError`; a lost frame
        is named by its index (see :meth:`iter_decode` for ``skip_corrupt`` and ``report``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InputError(f"{self.name}: decode takes bytes, got {type(data).__name__}")
        if len(data) == 0:
            raise CodecError(f"{self.name}: cannot decode empty data")
        return list(self.iter_decode(bytes(data), skip_corrupt=skip_corrupt, report=report))

    def iter_decode(
        self, source: bytes | str | os.PathLike[str], *, skip_corrupt: bool = False, report: DecodeReport | None = None
    ) -> Iterator[np.ndarray]:
        """Decode an MP4 (bytes or a file path) frame by frame, like :meth:`decode` but streaming.

        A frame lost to corrupt data (decoder error, corrupt flag, silently dropped, missing packet) raises
        :class:`CodecError` naming its index once the stream has been read; with ``skip_corrupt`` such frames
        are skipped instead and counted in ``report`` (:class:`~neuralwrap.io.video.DecodeReport`: ``skipped``,
        ``lost`` indices), which is complete when the iterator is exhausted.
        """
        count = 0
        try:
            with av.open(
                io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source), mode="r", format="mp4"
            ) as container:
                if not container.streams.video:
                    raise CodecError(f"{self.name}: no video stream in data")
                size = self._true_size(container.metadata.get(SIZE_KEY))
                stream = container.streams.video[0]
                coded = stream.codec_context.codec.canonical_name
                if coded != self.name:
                    raise CodecError(f"{self.name}: data holds a {coded!r} stream, not {self.name!r}")
                shape: tuple[int, ...] | None = None
                label = self.name if isinstance(source, bytes) else f"{self.name}: {Path(source).name}"
                for frame in decode_checked(
                    container, stream, name=label, error=CodecError, skip_corrupt=skip_corrupt, report=report
                ):
                    arr = self._to_array(frame, shape)
                    shape = arr.shape
                    if size is not None:
                        if size[0] > arr.shape[1] or size[1] > arr.shape[0]:
                            raise CodecError(
                                f"{self.name}: stored size {size} exceeds the coded frame size {arr.shape[:2]}"
                            )
                        arr = arr[: size[1], : size[0]]
                    count += 1
                    if count > MAX_DECODE_FRAMES:
                        raise CodecError(f"{self.name}: more than {MAX_DECODE_FRAMES} frames")
                    yield arr
        except (CodecError, InputError):
            raise
        except FileNotFoundError as exc:
            raise InputError(f"{self.name}: no such file {source}") from exc
        except Exception as exc:  # PyAV raises av.error.*, ValueError, EOFError, ... on bad data
            raise CodecError(f"{self.name}: cannot decode data ({error_text(exc)})") from exc
        if count == 0:
            raise CodecError(f"{self.name}: no decodable frames in data")

    def _true_size(self, value: str | None) -> tuple[int, int] | None:
        if value is None:
            return None
        m = re.fullmatch(r"(\d{1,6})x(\d{1,6})", value)
        if not m:
            raise CodecError(f"{self.name}: malformed {SIZE_KEY} metadata {value!r}")
        return int(m.group(1)), int(m.group(2))

    def _to_array(self, frame: av.VideoFrame, shape: tuple[int, ...] | None) -> np.ndarray:
        if frame.width * frame.height > MAX_DECODE_PIXELS or frame.width <= 0 or frame.height <= 0:
            raise CodecError(f"{self.name}: implausible frame size {frame.width}x{frame.height}")
        name = frame.format.name
        if name in ("gray", "gray8"):
            arr = frame.to_ndarray(format="gray")[:, :, None]
        elif "p10" in name or "p12" in name:
            arr = frame.to_ndarray(format="rgb48le")
        else:
            arr = frame.to_ndarray(format="rgb24")
        if shape is not None and arr.shape != shape:
            raise CodecError(f"{self.name}: frame size/format changed mid-stream ({shape} -> {arr.shape})")
        return np.ascontiguousarray(arr)


class VideoWriter:
    """Streaming MP4 encoder made by :meth:`_PyAVCodec.writer`; the first frame fixes size, channels, dtype.

    Frames are checked like :meth:`encode`'s. On leaving the ``with`` block the encoder is flushed and, for a
    path target, the temporary file renamed onto the path; on an exception nothing is left behind.
    """

    def __init__(self, codec: _PyAVCodec, target: str | os.PathLike[str] | io.BytesIO, cfg: VideoSettings) -> None:
        self.codec, self.cfg, self.frames = codec, cfg, 0
        self.opts = codec._options(cfg)
        self.fps = codec._fps(cfg.fps)
        if cfg.gop is not None:
            check_int(codec.name, "gop", cfg.gop, 1, 10_000)
        self.metadata = codec._metadata(cfg.metadata)
        if cfg.pix_fmt is not None:
            codec._check_pix_fmt(cfg.pix_fmt)
        self._atomic = None if isinstance(target, io.BytesIO) else atomic_path(target)
        self._target = target
        self._container: Any = None
        self._shape: tuple[int, ...] | None = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort(exc_type, exc, tb)

    def _open(self, first: np.ndarray) -> None:
        h, w, c = first.shape
        self.pix_fmt = self.cfg.pix_fmt or self.codec._default_pix_fmt(c, first.dtype)
        self.codec._check_pix_fmt(self.pix_fmt)
        self.codec._check_input(self.pix_fmt, c, first.dtype)
        self.pad = self.codec._padding(h, w, self.pix_fmt)
        if any(self.pad):
            self.metadata[SIZE_KEY] = f"{w}x{h}"
        self.src_fmt = "gray" if self.pix_fmt == "gray" else "rgb48le" if self.pix_fmt.endswith("10le") else "rgb24"
        self.codec._prepare_env()
        out = self._target if self._atomic is None else self._atomic.__enter__()
        # use_metadata_tags keeps arbitrary keys (mdta atoms) such as SIZE_KEY
        self._container = av.open(
            out if isinstance(out, io.BytesIO) else os.fspath(out),
            mode="w",
            format="mp4",
            options={"movflags": "use_metadata_tags"},
        )
        self._container.metadata.update(self.metadata)
        self.stream = self._container.add_stream(self.codec.encoder, rate=self.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = w + self.pad[1], h + self.pad[0], self.pix_fmt
        self.stream.options = self.opts
        if self.cfg.gop is not None:
            self.stream.codec_context.gop_size = self.cfg.gop

    def write(self, frame: np.ndarray) -> None:
        """Encode one ``HxWxC`` frame (uint8 RGB/gray, or uint16 RGB for 10-bit), same shape as the first."""
        arr = check_image(frame, name=f"frame {self.frames}")
        if arr.dtype == np.float32:
            raise InputError(
                f"{self.codec.name}: float32 frames are not coded directly; convert with neuralwrap.io.to_uint8"
            )
        if self._shape is None:
            self._open(arr)
            self._shape = arr.shape
        elif arr.shape != self._shape or arr.dtype != self._dtype:
            raise InputError(
                f"{self.codec.name}: frame {self.frames} is {arr.shape} {arr.dtype}, "
                f"frame 0 is {self._shape} {self._dtype}"
            )
        self._dtype = arr.dtype
        if any(self.pad):
            arr = np.pad(arr, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)), mode="edge")
        plane = np.ascontiguousarray(arr[:, :, 0] if self.src_fmt == "gray" else arr)
        vf = av.VideoFrame.from_ndarray(plane, format=self.src_fmt)
        if self.src_fmt != self.pix_fmt:
            vf = vf.reformat(format=self.pix_fmt)
        vf.pts = self.frames
        vf.time_base = 1 / self.fps
        self._mux(self.stream.encode(vf))
        self.frames += 1

    def _mux(self, packets: Any) -> None:
        for pkt in packets:
            # libx265 flushes a one-frame stream with an uninitialised dts (e.g. -9e13), which the MP4 muxer
            # refuses; no encoder here reorders by more than 16 frames, so such a dts is repaired to the pts.
            if pkt.dts is not None and pkt.pts is not None and pkt.time_base:
                ticks = float(1 / (self.fps * pkt.time_base))
                if pkt.dts < pkt.pts - 16 * ticks:
                    pkt.dts = pkt.pts
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as exc:
            raise CodecError(
                f"{self.codec.name}: {self.codec.encoder} failed with pix_fmt={self.pix_fmt!r}, "
                f"{self.opts}: {error_text(exc)}"
            ) from exc

    def close(self) -> None:
        """Flush the encoder and finish the file (renamed onto its path); no frames → :class:`InputError`."""
        if self._container is None:
            raise InputError(f"{self.codec.name}: no frames were written")
        try:
            self._mux(self.stream.encode(None))
            self._container.close()
        except BaseException as exc:
            self._abort(type(exc), exc, exc.__traceback__)
            raise
        self._container = None
        if self._atomic is not None:
            self._atomic.__exit__(None, None, None)

    def _abort(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        if self._atomic is not None and self._shape is not None:
            with contextlib.suppress(BaseException):
                self._atomic.__exit__(exc_type, exc, tb)


class H264Codec(_PyAVCodec):
    """H.264/AVC via libx264 (decoded by FFmpeg's h264). crf 0–51 (default 23), qp 0–51, preset names.

    ``frames → RGB→YUV (swscale) → libx264 → .mp4``. Formats: yuv420p, yuv444p, yuv420p10le.
    """

    name = "h264"
    encoder = "libx264"
    pix_fmts = ("yuv420p", "yuv444p", "yuv420p10le")
    refused = {"gray": "libx264 accepts gray but stores a 4:2:0 stream (not true 4:0:0); use hevc for gray"}


class HevcCodec(_PyAVCodec):
    """H.265/HEVC via libx265 (decoded by FFmpeg's hevc). crf 0–51 (default 28), qp 0–51, preset names.

    ``frames → RGB→YUV (swscale) → libx265 → .mp4``. Formats: yuv420p, yuv444p, gray (true 4:0:0), yuv420p10le.
    """

    name = "hevc"
    encoder = "libx265"
    pix_fmts = ("yuv420p", "yuv444p", "gray", "yuv420p10le")
    default_crf = 28
    #: libx265 4.x in the PyAV wheel corrupts the heap (abort/segfault, often on a *later* call) for
    #: frame widths of about 33-48 pixels; narrower frames are padded to this width and cropped on decode.
    min_width = 64

    def _padding(self, h: int, w: int, pix_fmt: str) -> tuple[int, int]:
        ph, pw = super()._padding(h, w, pix_fmt)
        return ph, max(pw, self.min_width - w)

    def _options(self, cfg: VideoSettings) -> dict[str, str]:
        opts = super()._options(cfg)
        opts["x265-params"] = "log-level=error"
        return opts


class Av1Codec(_PyAVCodec):
    """AV1 via libsvtav1 (decoded by libdav1d). crf 1–63 (default 35), qp 1–63, preset 0–13 (default 8).

    ``frames → RGB→YUV (swscale) → SVT-AV1 → .mp4``. Formats: yuv420p, yuv420p10le (SVT-AV1 main
    profile has no 4:4:4 and no 4:0:0 input). The SVT log level defaults to errors only
    (environment variable ``SVT_LOG=1`` unless already set).
    """

    name = "av1"
    encoder = "libsvtav1"
    pix_fmts = ("yuv420p", "yuv420p10le")
    refused = {
        "yuv444p": "libsvtav1 refuses 4:4:4 input (avcodec_open2 error 22); use hevc or h264 for 4:4:4",
        "gray": "libsvtav1 has no 4:0:0 input; use hevc for gray",
    }
    default_crf = 35
    crf_range = (1, 63)
    qp_range = (1, 63)
    default_preset = 8

    def _check_preset(self, preset: Any) -> str:
        if isinstance(preset, str) and preset.isdigit():
            preset = int(preset)
        check_int(self.name, "preset", preset, 0, 13)
        return str(int(preset))

    def _prepare_env(self) -> None:
        os.environ.setdefault("SVT_LOG", "1")
