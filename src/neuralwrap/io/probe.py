"""What an image file holds before it is decoded: format, channels, bit depth, alpha, HDR. Lets a command
say what a conversion would lose (alpha, 16-bit precision) instead of flattening it silently."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from neuralwrap.errors import InputError
from neuralwrap.io.hdr import HDR_SUFFIXES

__all__ = ["ImageInfo", "probe_image"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageInfo:
    """Header facts of an image file."""

    format: str
    """Container format as Pillow names it (``PNG``, ``JPEG`` …) or ``HDR`` for .exr / .hdr files."""
    width: int
    height: int
    bits: int
    """Bits per sample: 8, 16, or 32 for a floating-point HDR file."""
    has_alpha: bool
    """True when the file carries an alpha channel or a transparency key."""

    @property
    def is_hdr(self) -> bool:
        """True for a floating-point high-dynamic-range file (.exr, .hdr)."""
        return self.format == "HDR"


def _png_bits(path: Path) -> int:
    """Bit depth from a PNG's IHDR chunk (Pillow loads 16-bit RGB PNGs as 8-bit without saying so)."""
    with path.open("rb") as f:
        head = f.read(25)
    return head[24] if len(head) == 25 and head.startswith(_PNG_MAGIC) else 8


def probe_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Read only the header of an image file; :class:`InputError` for a missing or unreadable file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"image file not found: {p}")
    if p.suffix.lower() in HDR_SUFFIXES:
        return ImageInfo("HDR", 0, 0, 32, False)
    try:
        with Image.open(p) as im:
            mode, fmt, (w, h), info = im.mode, im.format or "?", im.size, im.info
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"cannot read image {p}: {exc}") from exc
    bits = 16 if mode.startswith("I;16") or mode == "I" else 8
    if fmt == "PNG":
        bits = max(bits, _png_bits(p))
    alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in info
    return ImageInfo(fmt, w, h, bits, alpha)
