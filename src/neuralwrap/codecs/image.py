"""Still-image codecs: ``jpeg``, ``webp``, ``avif`` (Pillow) and ``heif`` (pillow-heif, HEVC).

Every codec takes a numpy ``HxWxC`` image (``HxW`` is read as ``C=1``) and returns the bytes of a
standard file; :meth:`decode` returns ``HxWxC`` again (1-channel streams decode to ``HxWx1``).
Settings are keyword arguments validated against a per-codec dataclass (``JpegSettings`` ...):
an unknown keyword or an unsupported combination raises :class:`UnsupportedOptionError` naming the
codec and the option; a malformed image raises :class:`InputError`; any bad bytes given to
``decode`` (empty, truncated, corrupt, another format) raise :class:`CodecError`.

Support matrix (checked with Pillow 13.0 / libjpeg-turbo 6.2 + mozjpeg-lossless-optimization 1.3, libwebp 1.6,
libavif 1.4.2, pillow-heif 1.8.1 / libheif 1.23 / x265 4.3)::

    codec  channels  dtype          subsampling            metadata
    jpeg   1, 3      uint8          420, 444 (3ch); 400 (1ch)   comment, xmp
    webp   3         uint8          420 (lossy), 444 (lossless) xmp
    avif   1, 3      uint8          420, 444 (3ch); 400 (1ch)   xmp
    heif   1, 3      uint8, uint16  420, 444 (3ch); 400 (1ch)   xmp   (bit_depth 8 or 10)

1-channel images are always coded as true 4:0:0 grayscale (one plane, no chroma); WebP has no
grayscale mode, so it refuses 1-channel input instead of silently storing it as colour.

JPEG files get a lossless entropy-coding pass by default (mozjpeg, as ``jpegtran -copy all``: progressive scans with
optimised Huffman tables; ``lossless_pass=False`` turns it off): same decoded pixels, same markers, 2–4% fewer
bytes at common qualities, never more bytes (the smaller file is kept).

Metadata: :func:`read_metadata` reads back the JPEG COM marker and the XMP packet of any of the four
formats; :func:`xmp_packet` builds a small XMP packet carrying ``neuralwrap`` properties (e.g. a
sandwich model id), which :func:`read_metadata` parses back.

Example::

    >>> codec = get_codec("jpeg")
    >>> data = codec.encode(image, quality=40, subsampling="420")   # image: (H, W, 3) uint8
    >>> bpp = bits_per_pixel(data, *image.shape[:2])
    >>> recon = codec.decode(data)                                     # (H, W, 3) uint8
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from PIL import Image, ImageFile

from neuralwrap.codecs.base import ImageCodec
from neuralwrap.codecs.settings import MAX_DECODE_PIXELS, check_int, parse_settings
from neuralwrap.errors import CodecError, InputError, UnsupportedOptionError
from neuralwrap.io.images import check_image, error_text, to_uint8

__all__ = [
    "JpegCodec",
    "JpegSettings",
    "WebpCodec",
    "WebpSettings",
    "AvifCodec",
    "AvifSettings",
    "HeifCodec",
    "HeifSettings",
    "MAX_DECODE_PIXELS",
    "XMP_NAMESPACE",
    "detect_format",
    "read_metadata",
    "xmp_packet",
]

logger = logging.getLogger(__name__)


def _heif():  # -> the pillow_heif module
    """pillow-heif, imported on first use (JPEG/WebP/AVIF work without it)."""
    import pillow_heif

    return pillow_heif


#: XML namespace of the properties written by :func:`xmp_packet`.
XMP_NAMESPACE: str = "https://github.com/neuralwrap/ns/1.0/"


# ----------------------------------------------------------------------------------------------
# shared helpers


def _check_bool(codec: str, option: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise UnsupportedOptionError(f"{codec}: option {option}={value!r} must be True or False")


def _check_bytes(codec: str, option: str, value: Any) -> None:
    if value is not None and not isinstance(value, (bytes, bytearray)):
        raise UnsupportedOptionError(f"{codec}: option {option} must be bytes or None, got {type(value).__name__}")


def _prepare(codec: str, image: np.ndarray, dtypes: tuple[type, ...], channels: tuple[int, ...]) -> np.ndarray:
    """Validate ``image`` (HxWxC) and check its dtype and channel count against what ``codec`` supports."""
    image = check_image(image)
    if image.dtype == np.float32:
        raise InputError(f"{codec}: float32 images are not coded directly; convert with neuralwrap.io.to_uint8")
    if image.dtype.type not in dtypes:
        names = ", ".join(np.dtype(d).name for d in dtypes)
        raise UnsupportedOptionError(f"{codec}: input dtype {image.dtype} is not supported (option dtype; use {names})")
    if image.shape[2] not in channels:
        raise UnsupportedOptionError(
            f"{codec}: {image.shape[2]}-channel input is not supported (option channels; use {channels})"
        )
    return np.ascontiguousarray(image)


def _resolve_subsampling(codec: str, channels: int, subsampling: str | None, colour: tuple[str, ...]) -> str:
    """Subsampling to use: ``"400"`` for 1-channel input, one of ``colour`` for 3-channel input."""
    if subsampling is not None and subsampling not in (*colour, "400"):
        raise UnsupportedOptionError(
            f"{codec}: option subsampling={subsampling!r} is not supported; use one of {(*colour, '400')}"
        )
    if channels == 1:
        if subsampling not in (None, "400"):
            raise UnsupportedOptionError(
                f"{codec}: 1-channel input is coded as 4:0:0 grayscale; option subsampling={subsampling!r} "
                "needs a 3-channel image (omit it or pass subsampling='400')"
            )
        return "400"
    if subsampling == "400":
        raise UnsupportedOptionError(
            f"{codec}: option subsampling='400' (grayscale) needs a 1-channel image; pass the luma / "
            f"1-channel image (HxWx1), not a {channels}-channel one"
        )
    return subsampling or colour[0]


def _check_size(codec: str, size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0 or w * h > MAX_DECODE_PIXELS:
        raise CodecError(f"{codec}: implausible image size {w}x{h} in header (limit {MAX_DECODE_PIXELS} pixels)")


def _as_bytes(codec: str, data: bytes) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"{codec}: decode takes bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise CodecError(f"{codec}: cannot decode empty data")
    return data


def _pil_save(codec: str, arr: np.ndarray, fmt: str, **params: Any) -> bytes:
    """Save ``arr`` (HxWxC uint8, C in 1/3) through Pillow's ``fmt`` writer."""
    pil = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    buf = io.BytesIO()
    try:
        pil.save(buf, format=fmt, **params)
    except (OSError, ValueError, TypeError) as exc:  # pragma: no cover - library refused valid input
        raise CodecError(f"{codec}: encoder failed: {error_text(exc)}") from exc
    return buf.getvalue()


@contextlib.contextmanager
def _pil_block_size(size: int) -> Iterator[None]:
    """Raise Pillow's minimum encoder buffer (``ImageFile.MAXBLOCK``, bytes) to ``size`` while inside."""
    old = ImageFile.MAXBLOCK
    ImageFile.MAXBLOCK = max(old, int(size))
    try:
        yield
    finally:
        ImageFile.MAXBLOCK = old


def _pil_decode(codec: str, data: bytes, fmt: str, modes: tuple[str, ...]) -> np.ndarray:
    """Decode ``data`` with Pillow's ``fmt`` reader; any failure becomes :class:`CodecError`."""
    data = _as_bytes(codec, data)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        logger.warning("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; truncated %s files may decode silently", codec)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                _check_size(codec, im.size)
                im.load()
                if im.mode not in modes:
                    raise CodecError(f"{codec}: decoded mode {im.mode!r} is not one of {modes}")
                arr = np.asarray(im)
                size = im.size
    except CodecError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, ... on bad data
        raise CodecError(f"{codec}: cannot decode data ({error_text(exc)})") from exc
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[:2] != (size[1], size[0]):
        raise CodecError(f"{codec}: decoded array shape {arr.shape} does not match header size {size}")
    return np.ascontiguousarray(arr)


# ----------------------------------------------------------------------------------------------
# metadata


def xmp_packet(properties: Mapping[str, str]) -> bytes:
    """A minimal XMP packet (UTF-8 bytes) with ``properties`` as attributes in :data:`XMP_NAMESPACE`.

    Keys must be XML names (letters, digits, ``_``, ``-``, ``.``; not starting with a digit).
    Pass the result as ``xmp=`` to any image codec; :func:`read_metadata` returns the properties.
    """
    attrs = []
    for key, value in properties.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", key):
            raise InputError(f"xmp_packet: property name {key!r} is not a valid XML name")
        attrs.append(f" nw:{key}={quoteattr(str(value))}")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:nw={quoteattr(escape(XMP_NAMESPACE))}{"".join(attrs)}/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()


def _parse_xmp(text: str) -> dict[str, str]:
    """The ``nw:`` attributes written by :func:`xmp_packet` (best effort, no XML parser needed)."""
    from xml.sax.saxutils import unescape

    out = {}
    for key, _quote, value in re.findall(r"\bnw:([A-Za-z_][A-Za-z0-9_.\-]*)=(['\"])(.*?)\2", text, flags=re.S):
        out[key] = unescape(value, {"&quot;": '"', "&apos;": "'"})
    return out


def detect_format(data: bytes) -> str | None:
    """The image format of ``data`` from its magic bytes: ``jpeg``, ``webp``, ``avif``, ``heif`` or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        brands = data[8:12] + data[16 : min(len(data), 40)]
        if b"avif" in brands[:4] or b"avis" in brands[:4]:
            return "avif"
        if any(b in brands for b in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")):
            return "heif"
        if b"avif" in brands:
            return "avif"
    return None


def read_metadata(data: bytes) -> dict[str, str]:
    """Text metadata of an encoded image, without decoding the pixels.

    Returns a dict with ``"format"`` (see :func:`detect_format`) and, when present, ``"comment"``
    (the JPEG COM marker) and ``"xmp"`` (the XMP packet, all four formats), both decoded as UTF-8
    (invalid bytes replaced), plus every property written by :func:`xmp_packet` under its own name.
    Unknown or corrupt data raises :class:`CodecError`.
    """
    data = _as_bytes("read_metadata", data)
    fmt = detect_format(data)
    if fmt is None:
        raise CodecError("read_metadata: data is not a JPEG, WebP, AVIF or HEIF file")
    raw: dict[str, Any] = {}
    try:
        if fmt == "heif":
            info = _heif().open_heif(io.BytesIO(data), convert_hdr_to_8bit=True).info
        else:
            with Image.open(io.BytesIO(data), formats=[fmt.upper()]) as im:
                info = dict(im.info)
        raw = {k: info.get(k) for k in ("comment", "xmp")}
    except Exception as exc:
        raise CodecError(f"read_metadata: cannot parse {fmt} header ({error_text(exc)})") from exc
    out = {"format": fmt}
    for key, value in raw.items():
        if value:
            out[key] = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)
    if "xmp" in out:
        for key, value in _parse_xmp(out["xmp"]).items():
            out.setdefault(key, value)
    return out


# ----------------------------------------------------------------------------------------------
# JPEG


@dataclass
class JpegSettings:
    """Settings of the ``jpeg`` codec (Pillow / libjpeg-turbo, baseline JFIF)."""

    quality: int = 75
    """libjpeg quality factor, 1 (smallest) to 100 (best); scales the standard quantisation tables."""
    subsampling: str | None = None
    """Chroma format: ``"420"`` (default for 3 channels), ``"444"``, or ``"400"`` (1-channel grayscale only)."""
    optimize: bool = True
    """Optimised Huffman tables (a second pass). Pillow's own default is False; turning it on saves about
    9% BD-rate at no quality cost, so compare sandwich and plain JPEG with the same value."""
    lossless_pass: bool = True
    """Re-code the entropy layer losslessly with mozjpeg after libjpeg-turbo (progressive scans, optimised Huffman
    tables, every marker copied, so the COM tag and XMP survive): identical decoded pixels, typically 2–4% fewer
    bytes at q 30–75; the file is kept only if it is smaller. Costs ~10–40 ms per 768×512 image. False = the
    baseline JFIF file libjpeg-turbo writes."""
    comment: bytes | None = None
    """Payload of a JPEG COM marker (e.g. a sandwich model id); read back with :func:`read_metadata`."""
    xmp: bytes | None = None
    """An XMP packet (see :func:`xmp_packet`) stored in an APP1 segment."""

    def __post_init__(self) -> None:
        check_int("jpeg", "quality", self.quality, 1, 100)
        _check_bool("jpeg", "optimize", self.optimize)
        _check_bool("jpeg", "lossless_pass", self.lossless_pass)
        _check_bytes("jpeg", "comment", self.comment)
        _check_bytes("jpeg", "xmp", self.xmp)
        if self.comment is not None and len(self.comment) > 65533:
            raise UnsupportedOptionError("jpeg: option comment is longer than a COM marker allows (65533 bytes)")


def _lossless_pass(data: bytes) -> bytes:
    """mozjpeg's lossless re-optimisation of the JPEG ``data`` (progressive, optimised Huffman, all markers kept);
    ``data`` itself when that is not smaller or mozjpeg refuses the file."""
    try:
        import mozjpeg_lossless_optimization as mozjpeg
    except ImportError as exc:  # a declared dependency: only a broken install gets here
        raise UnsupportedOptionError(
            "jpeg: option lossless_pass=True needs the mozjpeg-lossless-optimization package "
            "(pip install mozjpeg-lossless-optimization), or pass lossless_pass=False"
        ) from exc
    try:
        out = mozjpeg.optimize(data, mozjpeg.COPY_MARKERS.ALL)
    except ValueError as exc:  # pragma: no cover - mozjpeg refused libjpeg-turbo's own output
        logger.warning("jpeg: lossless pass skipped (%s)", error_text(exc))
        return data
    return out if len(out) < len(data) else data


class JpegCodec(ImageCodec):
    """JPEG. Input ``(H, W, 3)`` RGB or ``(H, W, 1)`` gray, uint8 only; see :class:`JpegSettings`.

    ``x (uint8) → libjpeg-turbo (YCbCr, 4:2:0 / 4:4:4, or single-component 4:0:0) → [mozjpeg lossless pass] → .jpg``
    """

    name = "jpeg"
    suffix = ".jpg"
    _PIL_SUBSAMPLING = {"444": 0, "420": 2}

    def encode(self, image: np.ndarray, **settings: Any) -> bytes:
        """Encode a uint8 ``HxWxC`` (C = 1 or 3) image to JPEG bytes."""
        cfg = parse_settings(self.name, JpegSettings, settings)
        arr = _prepare(self.name, image, (np.uint8,), (1, 3))
        sub = _resolve_subsampling(self.name, arr.shape[2], cfg.subsampling, ("420", "444"))
        params: dict[str, Any] = {"quality": int(cfg.quality), "optimize": cfg.optimize}
        if sub != "400":
            params["subsampling"] = self._PIL_SUBSAMPLING[sub]
        if cfg.comment:
            params["comment"] = bytes(cfg.comment)
        if cfg.xmp:
            params["xmp"] = bytes(cfg.xmp)
        # Pillow writes an optimised JPEG through one output buffer sized at 1–2 bytes per pixel, too small for a
        # high-entropy image (noise, a learned code image) at a high quality ("broken data stream"): give it
        # room for 4 bytes per sample (no measurable cost on Kodak)
        with _pil_block_size(4 * arr.size + sum(len(v) for v in params.values() if isinstance(v, bytes)) + 65536):
            data = _pil_save(self.name, arr, "JPEG", **params)
        return _lossless_pass(data) if cfg.lossless_pass else data

    def decode(self, data: bytes) -> np.ndarray:
        """Decode JPEG bytes to ``(H, W, 3)`` or ``(H, W, 1)`` uint8; truncated/corrupt data raises CodecError."""
        data = _as_bytes(self.name, data)
        # A truncated JPEG lacks its end-of-image marker after the scan data; libjpeg would pad it silently
        # when PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on, so check explicitly.
        if data.rfind(b"\xff\xd9") < data.find(b"\xff\xda"):
            raise CodecError("jpeg: truncated data (no end-of-image marker after the scan)")
        return _pil_decode(self.name, data, "JPEG", ("RGB", "L"))


# ----------------------------------------------------------------------------------------------
# WebP


@dataclass
class WebpSettings:
    """Settings of the ``webp`` codec (Pillow / libwebp)."""

    quality: int = 75
    """Lossy: quality 0 (smallest) to 100 (best). Lossless: compression effort 0 to 100."""
    lossless: bool = False
    """Lossless (VP8L, RGB) instead of lossy (VP8, YUV 4:2:0)."""
    subsampling: str | None = None
    """Only documents the fixed chroma format: ``"420"`` for lossy, ``"444"`` for lossless; other values raise."""
    method: int = 4
    """Speed/size trade-off 0 (fast) to 6 (slowest, smallest)."""
    xmp: bytes | None = None
    """An XMP packet (see :func:`xmp_packet`) stored in the RIFF ``XMP `` chunk."""

    def __post_init__(self) -> None:
        check_int("webp", "quality", self.quality, 0, 100)
        check_int("webp", "method", self.method, 0, 6)
        _check_bool("webp", "lossless", self.lossless)
        _check_bytes("webp", "xmp", self.xmp)
        fixed = "444" if self.lossless else "420"
        if self.subsampling not in (None, fixed):
            raise UnsupportedOptionError(
                f"webp: option subsampling={self.subsampling!r} is not supported; {'lossless' if self.lossless else 'lossy'}"
                f" WebP is always {fixed} (and has no 4:0:0 grayscale mode)"
            )


class WebpCodec(ImageCodec):
    """WebP. Input ``(H, W, 3)`` uint8 RGB only: WebP has no grayscale mode, so 1-channel input raises
    :class:`UnsupportedOptionError` rather than being stored as colour. See :class:`WebpSettings`.

    ``x (uint8 RGB) → libwebp (VP8 YUV 4:2:0, or VP8L lossless) → .webp``
    """

    name = "webp"
    suffix = ".webp"

    def encode(self, image: np.ndarray, **settings: Any) -> bytes:
        """Encode a uint8 ``HxWx3`` image to WebP bytes."""
        cfg = parse_settings(self.name, WebpSettings, settings)
        arr = check_image(image)
        if arr.ndim == 3 and arr.shape[2] == 1:
            raise UnsupportedOptionError(
                "webp: 1-channel input is not supported (option channels): WebP has no 4:0:0 grayscale mode; "
                "to code gray as colour pass np.repeat(image, 3, axis=2), or use jpeg/avif/heif for true 4:0:0"
            )
        arr = _prepare(self.name, arr, (np.uint8,), (3,))
        params: dict[str, Any] = {"quality": int(cfg.quality), "lossless": cfg.lossless, "method": int(cfg.method)}
        if cfg.xmp:
            params["xmp"] = bytes(cfg.xmp)
        return _pil_save(self.name, arr, "WEBP", **params)

    def decode(self, data: bytes) -> np.ndarray:
        """Decode WebP bytes to ``(H, W, 3)`` uint8."""
        return _pil_decode(self.name, data, "WEBP", ("RGB",))


# ----------------------------------------------------------------------------------------------
# AVIF


@dataclass
class AvifSettings:
    """Settings of the ``avif`` codec (Pillow's built-in libavif; 8-bit only)."""

    quality: int = 75
    """Quality 0 (smallest) to 100 (lossless-ish), mapped by libavif to the AV1 quantiser."""
    subsampling: str | None = None
    """``"420"`` (default for 3 channels), ``"444"``, or ``"400"`` (1-channel grayscale only)."""
    speed: int = 6
    """Encoder speed 0 (slowest, smallest) to 10 (fastest)."""
    xmp: bytes | None = None
    """An XMP packet (see :func:`xmp_packet`) stored as an XMP metadata item."""

    def __post_init__(self) -> None:
        check_int("avif", "quality", self.quality, 0, 100)
        check_int("avif", "speed", self.speed, 0, 10)
        _check_bytes("avif", "xmp", self.xmp)


class AvifCodec(ImageCodec):
    """AVIF (AV1 intra). Input ``(H, W, 3)`` or ``(H, W, 1)`` uint8; see :class:`AvifSettings`.

    ``x (uint8) → libavif (YUV 4:2:0 / 4:4:4, or monochrome 4:0:0) → .avif``

    Pillow's writer silently converts 16-bit input to 8-bit, so uint16 is refused here.
    """

    name = "avif"
    suffix = ".avif"

    def encode(self, image: np.ndarray, **settings: Any) -> bytes:
        """Encode a uint8 ``HxWxC`` (C = 1 or 3) image to AVIF bytes."""
        cfg = parse_settings(self.name, AvifSettings, settings)
        arr = _prepare(self.name, image, (np.uint8,), (1, 3))
        sub = _resolve_subsampling(self.name, arr.shape[2], cfg.subsampling, ("420", "444"))
        params: dict[str, Any] = {
            "quality": int(cfg.quality),
            "speed": int(cfg.speed),
            "subsampling": f"{sub[0]}:{sub[1]}:{sub[2]}",
            "max_threads": 1,
        }
        if cfg.xmp:
            params["xmp"] = bytes(cfg.xmp)
        return _pil_save(self.name, arr, "AVIF", **params)

    def decode(self, data: bytes) -> np.ndarray:
        """Decode AVIF bytes to ``(H, W, 3)`` or ``(H, W, 1)`` uint8."""
        return _pil_decode(self.name, data, "AVIF", ("RGB", "L"))


# ----------------------------------------------------------------------------------------------
# HEIF (HEVC)


@dataclass
class HeifSettings:
    """Settings of the ``heif`` codec (pillow-heif → libheif → x265; decoded by libde265)."""

    quality: int = 75
    """Quality 0 (smallest) to 100 (best), mapped by libheif to the x265 CRF. (libheif's own default is 50.)"""
    subsampling: str | None = None
    """``"420"`` (default for 3 channels), ``"444"``, or ``"400"`` (1-channel monochrome only)."""
    bit_depth: int | None = None
    """Coded bit depth, 8 or 10. Default: 8 for uint8 input, 10 for uint16 input."""
    preset: str | None = None
    """x265 preset (``"ultrafast"`` … ``"placebo"``); None keeps libheif's default."""
    xmp: bytes | None = None
    """An XMP packet (see :func:`xmp_packet`) stored as an XMP metadata item."""

    _PRESETS = (
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

    def __post_init__(self) -> None:
        check_int("heif", "quality", self.quality, 0, 100)
        if self.bit_depth not in (None, 8, 10):
            raise UnsupportedOptionError(f"heif: option bit_depth={self.bit_depth!r} is not supported; use 8 or 10")
        if self.preset is not None and self.preset not in self._PRESETS:
            raise UnsupportedOptionError(f"heif: option preset={self.preset!r} is not an x265 preset {self._PRESETS}")
        _check_bytes("heif", "xmp", self.xmp)


def _to_10bit_range(raw: np.ndarray) -> np.ndarray:
    """10-bit codes 0…1023 → uint16 0…65535 by ``round(v * 65535 / 1023)`` (exact end points)."""
    v = raw.astype(np.uint32) & 0x3FF
    return ((v * 65535 + 511) // 1023).astype(np.uint16)


class HeifCodec(ImageCodec):
    """HEIF/HEIC with HEVC (x265). Input ``(H, W, 3)`` or ``(H, W, 1)``, uint8 or uint16.

    ``x → libheif (RGB → YCbCr 4:2:0 / 4:4:4, or monochrome 4:0:0; 8 or 10 bit) → x265 → .heic``

    Bit depth: 8-bit streams decode to uint8. 10-bit streams decode to uint16 scaled to the full
    16-bit range by ``round(v * 65535 / 1023)`` for each 10-bit code ``v`` (0 → 0, 1023 → 65535).
    uint16 input is reduced to 10 bits by libheif (about ``x >> 6``), so a 16-bit image comes back
    with 10-bit precision. uint8 input with ``bit_depth=10`` is widened by ×257 first (decodes as
    uint16); uint16 input with ``bit_depth=8`` is rounded to uint8 first (decodes as uint8).
    """

    name = "heif"
    suffix = ".heic"

    def encode(self, image: np.ndarray, **settings: Any) -> bytes:
        """Encode a uint8/uint16 ``HxWxC`` (C = 1 or 3) image to HEIC bytes."""
        cfg = parse_settings(self.name, HeifSettings, settings)
        arr = _prepare(self.name, image, (np.uint8, np.uint16), (1, 3))
        sub = _resolve_subsampling(self.name, arr.shape[2], cfg.subsampling, ("420", "444"))
        depth = cfg.bit_depth or (10 if arr.dtype == np.uint16 else 8)
        if depth == 8 and arr.dtype == np.uint16:
            arr = to_uint8(arr)
        elif depth == 10 and arr.dtype == np.uint8:
            arr = arr.astype(np.uint16) * 257
        mode = ("L" if arr.shape[2] == 1 else "RGB") + (";16" if depth == 10 else "")
        params: dict[str, Any] = {"quality": int(cfg.quality), "enc_params": {}}
        if sub != "400":
            params["chroma"] = sub
        if cfg.preset:
            params["enc_params"]["preset"] = cfg.preset
        if cfg.xmp:
            params["xmp"] = bytes(cfg.xmp)
        h, w = arr.shape[:2]
        buf = io.BytesIO()
        try:
            _heif().encode(mode, (w, h), arr.tobytes(), buf, **params)
        except (OSError, ValueError, RuntimeError) as exc:  # pragma: no cover - library refused valid input
            raise CodecError(f"heif: encoder failed: {error_text(exc)}") from exc
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """Decode HEIC bytes to ``(H, W, C)`` uint8 (8-bit streams) or uint16 (10-bit streams, see class doc)."""
        data = _as_bytes(self.name, data)
        try:
            hf = _heif().open_heif(io.BytesIO(data), convert_hdr_to_8bit=False, hdr_to_16bit=False)
            img = hf[hf.primary_index]
            _check_size(self.name, img.size)
            depth = int(img.info.get("bit_depth", 8))
            mode = img.mode
            arr = np.asarray(img)
            size = img.size
        except CodecError:
            raise
        except Exception as exc:  # pillow-heif raises ValueError/RuntimeError/EOFError/... on bad data
            raise CodecError(f"heif: cannot decode data ({error_text(exc)})") from exc
        if mode not in ("RGB", "L", "RGB;10", "I;10", "RGB;12", "I;12", "RGB;16", "I;16") or depth not in (8, 10):
            raise CodecError(f"heif: unsupported decoded mode {mode!r} / bit depth {depth}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.shape[:2] != (size[1], size[0]) or arr.shape[2] not in (1, 3):
            raise CodecError(f"heif: decoded array shape {arr.shape} does not match header size {size}")
        if depth == 10:
            arr = _to_10bit_range(arr)
        return np.ascontiguousarray(arr)
