"""HDR image files: OpenEXR and Radiance ``.hdr`` (RGBE) in, OpenEXR out.

Every reader returns an ``(H, W, 3)`` float32 array of **linear Rec.709 / sRGB-primary RGB**, in the file's
own (usually relative, scene-referred) units: no tone mapping, no normalisation. Values may exceed 1; small
negative values (out-of-gamut colours, or a gamut conversion) are kept as they are.

* OpenEXR (``OpenEXR`` PyPI package, v3.x): single-part scanline or tiled files with ``R,G,B`` (optionally
  ``A``, which is ignored) or a lone ``Y`` (luminance, replicated to RGB) channel set, half or float.
  A ``chromaticities`` attribute other than Rec.709 (e.g. ACES AP0) is converted to Rec.709 primaries with a
  Bradford chromatic adaptation to D65. Luminance/chroma (``RY``, ``BY``), deep and multi-part files are refused.
* Radiance RGBE (``#?RADIANCE`` / ``#?RGBE``): ``FORMAT=32-bit_rle_rgbe`` or ``32-bit_rle_xyze``, flat or
  new-style run-length encoded scanlines, orientation ``-Y H +X W`` (the standard one) or ``+Y H +X W``.
  ``EXPOSURE=`` lines are undone (values are divided by their product), a ``PRIMARIES=`` line other than
  Rec.709 is converted like an EXR ``chromaticities`` attribute, XYZE data is converted to Rec.709. Old-style
  (1,1,1,n) run lengths are refused.

Any unreadable, truncated, corrupt or unsupported file raises :class:`InputError` naming the file and problem.

Example::

    >>> img = read_hdr("../shared/data/hdr/memorial_o876.hdr")   # (768, 512, 3) float32, linear
    >>> write_exr("out.exr", img)                                   # half-float RGB, ZIP, written atomically
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path
from neuralwrap.io.images import error_text

__all__ = [
    "HDR_SUFFIXES",
    "REC709_CHROMATICITIES",
    "chromaticity_matrix",
    "read_exr",
    "read_hdr",
    "read_rgbe",
    "write_exr",
]

log = logging.getLogger(__name__)

#: file suffixes :func:`read_hdr` understands
HDR_SUFFIXES = (".exr", ".hdr", ".rgbe", ".pic")

#: (xr, yr, xg, yg, xb, yb, xw, yw) of Rec.709 / sRGB with a D65 white
REC709_CHROMATICITIES: tuple[float, ...] = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)

_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


# ----------------------------------------------------------------------------------------------
# colour


def _xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _rgb_to_xyz(chrom: tuple[float, ...]) -> np.ndarray:
    """3×3 matrix from linear RGB with primaries/white ``chrom`` to CIE XYZ (white → Y = 1)."""
    prim = np.stack([_xy_to_xyz(chrom[2 * i], chrom[2 * i + 1]) for i in range(3)], axis=1)
    scale = np.linalg.solve(prim, _xy_to_xyz(chrom[6], chrom[7]))
    return prim * scale


def chromaticity_matrix(chrom: tuple[float, ...] | list[float] | np.ndarray) -> np.ndarray:
    """3×3 matrix ``M`` with ``rgb709 = M @ rgb`` for linear RGB of primaries/white ``chrom``
    ``(xr, yr, xg, yg, xb, yb, xw, yw)``; the white point is adapted to D65 with the Bradford transform."""
    c = tuple(float(v) for v in np.asarray(chrom, dtype=np.float64).ravel())
    if len(c) != 8 or not all(np.isfinite(c)) or min(abs(c[1]), abs(c[3]), abs(c[5]), abs(c[7])) < 1e-9:
        raise InputError(f"chromaticities must be 8 finite numbers with y != 0, got {c}")
    src_w, dst_w = _xy_to_xyz(c[6], c[7]), _xy_to_xyz(*REC709_CHROMATICITIES[6:])
    cone_src, cone_dst = _BRADFORD @ src_w, _BRADFORD @ dst_w
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cone_dst / cone_src) @ _BRADFORD
    return np.linalg.inv(_rgb_to_xyz(REC709_CHROMATICITIES)) @ adapt @ _rgb_to_xyz(c)


def _to_rec709(img: np.ndarray, chrom: tuple[float, ...] | None, what: str) -> np.ndarray:
    if chrom is None or np.allclose(chrom, REC709_CHROMATICITIES, atol=5e-4):
        return img
    m = chromaticity_matrix(chrom).astype(np.float32)
    log.info("%s: converting primaries %s to Rec.709", what, tuple(round(v, 4) for v in chrom))
    return np.einsum("ij,hwj->hwi", m, img, dtype=np.float32)


def _finish(img: np.ndarray, what: str) -> np.ndarray:
    img = np.ascontiguousarray(img, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] == 0 or img.shape[1] == 0:
        raise InputError(f"{what}: decoded to an unexpected shape {img.shape}")
    if not np.all(np.isfinite(img)):
        raise InputError(f"{what}: contains NaN or infinite values")
    return img


# ----------------------------------------------------------------------------------------------
# OpenEXR


def _exr_rgb(channels: dict[str, np.ndarray], what: str) -> np.ndarray:
    """The RGB planes of an EXR channel dict (grouped ``RGB``/``RGBA`` or separate ``R``, ``G``, ``B``)."""
    for key in ("RGB", "RGBA"):
        if key in channels:
            return np.asarray(channels[key])[:, :, :3]
    if all(k in channels for k in "RGB"):
        return np.stack([np.asarray(channels[k]) for k in "RGB"], axis=-1)
    if "Y" in channels and not any(k in channels for k in ("RY", "BY")):
        return np.repeat(np.asarray(channels["Y"])[:, :, None], 3, axis=2)
    raise InputError(f"{what}: unsupported channel set {sorted(channels)} (need R,G,B[,A] or Y)")


def read_exr(path: str | os.PathLike[str], *, to_rec709: bool = True) -> np.ndarray:
    """Read an OpenEXR file → ``(H, W, 3)`` float32 linear RGB (alpha ignored; see module doc)."""
    import OpenEXR

    p = _existing(path)
    try:
        with OpenEXR.File(str(p), separate_channels=False, num_threads=1) as f:
            if len(f.parts) != 1:
                raise InputError(f"{p}: multi-part EXR files are not supported ({len(f.parts)} parts)")
            # read the attribute before the pixels: OpenEXR 3.5 rebuilds the header dict when the pixels load
            chrom = f.header().get("chromaticities")
            chrom = None if chrom is None else tuple(float(v) for v in chrom)
            chans = {k: v.pixels for k, v in f.channels().items()}
    except InputError:
        raise
    except Exception as exc:  # OpenEXR raises RuntimeError / ValueError / OSError on bad data
        raise InputError(f"cannot read EXR file {p}: {error_text(exc)}") from exc
    if not chans or any(v is None for v in chans.values()):
        raise InputError(f"cannot read EXR file {p}: no pixel data (truncated or corrupt?)")
    img = _exr_rgb(chans, str(p)).astype(np.float32)
    if to_rec709:
        img = _to_rec709(img, chrom, str(p))
    return _finish(img, str(p))


def write_exr(path: str | os.PathLike[str], image: np.ndarray, *, half: bool = True) -> None:
    """Write an ``(H, W, 3)`` (or ``(H, W, 1)`` / ``(H, W)``, stored as ``Y``) linear float image as a
    scanline OpenEXR file with ZIP compression, atomically. ``half=False`` stores 32-bit floats.

    Raises :class:`InputError` for a non-array, a wrong shape, or non-finite values.
    """
    import OpenEXR

    arr = np.asarray(image) if isinstance(image, np.ndarray) else None
    if arr is None or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3)):
        raise InputError(
            f"write_exr takes an (H,W,3), (H,W,1) or (H,W) array, got {getattr(image, 'shape', type(image).__name__)}"
        )
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise InputError("write_exr: image is empty or has non-finite values")
    dtype = np.float16 if half else np.float32
    if half and np.abs(arr).max() > 65504:
        raise InputError("write_exr: values beyond the half-float range (65504); pass half=False")
    chans = (
        {"RGB": arr.astype(dtype)}
        if arr.ndim == 3 and arr.shape[2] == 3
        else {"Y": arr.reshape(arr.shape[:2]).astype(dtype)}
    )
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    pixels = {k: np.ascontiguousarray(v) for k, v in chans.items()}
    with atomic_path(path) as tmp, OpenEXR.File(header, pixels) as f:
        f.write(str(tmp))


# ----------------------------------------------------------------------------------------------
# Radiance RGBE


def _existing(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"HDR image file not found: {p}")
    return p


def _rgbe_header(data: bytes, what: str) -> tuple[dict[str, str], float, tuple[int, int, bool], int]:
    """Parse the header: ``(variables, exposure, (height, width, flip_y), offset of the pixel data)``."""
    if not (data.startswith((b"#?RADIANCE", b"#?RGBE"))):
        raise InputError(f"{what}: not a Radiance RGBE file (no '#?RADIANCE' signature)")
    end = data.find(b"\n\n")
    if end < 0:
        raise InputError(f"{what}: truncated header (no blank line)")
    variables: dict[str, str] = {}
    exposure = 1.0
    for line in data[:end].decode("latin-1").splitlines()[1:]:
        key, sep, value = line.partition("=")
        if not sep or line.startswith("#"):
            continue
        key, value = key.strip().upper(), value.strip()
        if key == "EXPOSURE":
            try:
                exposure *= float(value)
            except ValueError as exc:
                raise InputError(f"{what}: bad EXPOSURE line {line!r}") from exc
        variables[key] = value
    nl = data.find(b"\n", end + 2)
    res = data[end + 2 : nl if nl >= 0 else len(data)].decode("latin-1").strip()
    m = re.fullmatch(r"([-+])Y\s+(\d+)\s+\+X\s+(\d+)", res)
    if nl < 0 or m is None:
        raise InputError(f"{what}: unsupported or missing resolution line {res[:40]!r} (need '-Y H +X W')")
    h, w = int(m.group(2)), int(m.group(3))
    if h <= 0 or w <= 0 or h * w > (1 << 28):
        raise InputError(f"{what}: implausible size {w}x{h}")
    if not exposure > 0:
        raise InputError(f"{what}: EXPOSURE must be > 0, got {exposure}")
    return variables, exposure, (h, w, m.group(1) == "+"), nl + 1


def _rle_scanline(buf: np.ndarray, pos: int, width: int, what: str) -> tuple[np.ndarray, int]:
    """Decode one new-style RLE scanline starting at ``pos`` (after its 4-byte marker) → ``(W, 4)`` uint8."""
    out = np.empty((4, width), np.uint8)
    n = buf.size
    for c in range(4):
        x = 0
        while x < width:
            if pos >= n:
                raise InputError(f"{what}: truncated pixel data")
            count = int(buf[pos])
            pos += 1
            run = count > 128
            count = count - 128 if run else count
            if count == 0 or x + count > width:
                raise InputError(f"{what}: corrupt run length")
            if pos + (1 if run else count) > n:
                raise InputError(f"{what}: truncated pixel data")
            if run:
                out[c, x : x + count] = buf[pos]
                pos += 1
            else:
                out[c, x : x + count] = buf[pos : pos + count]
                pos += count
            x += count
    return out.T, pos


def _rgbe_pixels(buf: np.ndarray, pos: int, h: int, w: int, what: str) -> np.ndarray:
    """All scanlines → ``(H, W, 4)`` uint8 RGBE."""
    out = np.empty((h, w, 4), np.uint8)
    for y in range(h):
        head = buf[pos : pos + 4]
        rle = 8 <= w < 32768 and head.size == 4 and head[0] == 2 and head[1] == 2 and not head[2] & 0x80
        if rle:
            if (int(head[2]) << 8 | int(head[3])) != w:
                raise InputError(f"{what}: scanline {y} length does not match the image width")
            out[y], pos = _rle_scanline(buf, pos + 4, w, what)
            continue
        flat = buf[pos : pos + 4 * w]
        if flat.size < 4 * w:
            raise InputError(f"{what}: truncated pixel data (scanline {y} of {h})")
        flat = flat.reshape(w, 4)
        if np.any((flat[:, 0] == 1) & (flat[:, 1] == 1) & (flat[:, 2] == 1)):
            raise InputError(f"{what}: old-style (1,1,1,n) run-length encoding is not supported")
        out[y] = flat
        pos += 4 * w
    return out


def read_rgbe(path: str | os.PathLike[str], *, to_rec709: bool = True) -> np.ndarray:
    """Read a Radiance RGBE (``.hdr``) file → ``(H, W, 3)`` float32 linear RGB (see module doc)."""
    p = _existing(path)
    what = str(p)
    data = p.read_bytes()
    variables, exposure, (h, w, flip), pos = _rgbe_header(data, what)
    fmt = variables.get("FORMAT", "32-bit_rle_rgbe")
    if fmt not in ("32-bit_rle_rgbe", "32-bit_rle_xyze"):
        raise InputError(f"{what}: unsupported FORMAT={fmt}")
    rgbe = _rgbe_pixels(np.frombuffer(data, np.uint8), pos, h, w, what)
    e = rgbe[:, :, 3:4].astype(np.int32)
    scale = np.where(e == 0, 0.0, np.ldexp(1.0, e - 136)).astype(np.float32)  # (m + 0.5) · 2^(e-128) / 256
    img = np.where(e == 0, 0.0, (rgbe[:, :, :3].astype(np.float32) + 0.5) * scale).astype(np.float32)
    img /= np.float32(exposure)
    if flip:
        img = img[::-1]
    if fmt == "32-bit_rle_xyze":
        img = np.einsum("ij,hwj->hwi", np.linalg.inv(_rgb_to_xyz(REC709_CHROMATICITIES)).astype(np.float32), img)
    elif to_rec709 and "PRIMARIES" in variables:
        try:
            chrom = tuple(float(v) for v in variables["PRIMARIES"].split())
        except ValueError as exc:
            raise InputError(f"{what}: bad PRIMARIES line") from exc
        img = _to_rec709(img, chrom, what)
    return _finish(img, what)


def read_hdr(path: str | os.PathLike[str], *, to_rec709: bool = True) -> np.ndarray:
    """Read an OpenEXR or Radiance RGBE file → ``(H, W, 3)`` float32 linear Rec.709 RGB (relative units).

    The format is taken from the file's magic bytes (not its suffix). ``to_rec709=False`` keeps the file's own
    primaries. Raises :class:`InputError` for missing, unreadable, truncated, corrupt or unsupported files.
    """
    p = _existing(path)
    with open(p, "rb") as fh:
        magic = fh.read(10)
    if magic[:4] == b"\x76\x2f\x31\x01":
        return read_exr(p, to_rec709=to_rec709)
    if magic.startswith((b"#?RADIANCE", b"#?RGBE")):
        return read_rgbe(p, to_rec709=to_rec709)
    raise InputError(f"{p}: not an OpenEXR or Radiance RGBE file")
