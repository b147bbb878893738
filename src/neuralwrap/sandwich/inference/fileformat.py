"""How a sandwich file says which post-processor decodes it: a short tag in the file's metadata.

The tag ``neuralwrap:<model>@<version>;q=<quality>`` travels in the JPEG COM marker (about 30 bytes,
counted in the rate like every other byte of the file) and in an XMP property for WebP/AVIF/HEIF.
The file stays a standard file of its codec: any viewer shows the pre-processed code image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from neuralwrap.codecs.image import read_metadata, xmp_packet
from neuralwrap.errors import CodecError

__all__ = ["SandwichTag", "metadata_settings", "parse_tag", "read_tag"]

_PREFIX = "neuralwrap:"
_RE = re.compile(r"^neuralwrap:(?P<model>[A-Za-z0-9_.\-]+)@(?P<version>[A-Za-z0-9_.\-]+);q=(?P<q>\d{1,3})$")


@dataclass(frozen=True)
class SandwichTag:
    """Model name, model version and the codec quality the code image was encoded at."""

    model: str
    version: str
    quality: int

    def text(self) -> str:
        """The tag string."""
        return f"{_PREFIX}{self.model}@{self.version};q={self.quality}"


def metadata_settings(fmt: str, tag: SandwichTag) -> dict[str, bytes]:
    """Codec keyword arguments that store ``tag`` in a file of format ``fmt``."""
    if fmt == "jpeg":
        return {"comment": tag.text().encode("ascii")}
    return {"xmp": xmp_packet({"sandwich": tag.text()})}


def read_tag(data: bytes) -> tuple[str, SandwichTag | None]:
    """``(format, tag or None)`` of an encoded file; corrupt headers raise :class:`CodecError`."""
    meta = read_metadata(data)
    for text in (meta.get("comment"), meta.get("sandwich")):
        tag = parse_tag(text)
        if tag is not None:
            return meta["format"], tag
    return meta["format"], None


def parse_tag(text: str | None) -> SandwichTag | None:
    """The tag in ``text`` (None when ``text`` is not a neuralwrap tag); a malformed tag raises :class:`CodecError`."""
    if not text or not text.startswith(_PREFIX):
        return None
    m = _RE.match(text.strip())
    if m is None:
        raise CodecError(f"malformed neuralwrap tag in file metadata: {text[:80]!r}")
    return SandwichTag(m["model"], m["version"], int(m["q"]))
