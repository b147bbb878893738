"""Real codecs behind one interface: ``encode(image, **settings) -> bytes`` and ``decode(bytes) -> image``.

Image codecs: ``jpeg``, ``webp``, ``avif`` (Pillow), ``heif`` (pillow-heif, HEVC). Video codecs: ``h264``,
``hevc``, ``av1`` (PyAV). Look them up with :func:`get_codec` / :func:`list_codecs`.
"""

from neuralwrap.codecs.base import ImageCodec, VideoCodec, bits_per_pixel
from neuralwrap.codecs.registry import (
    decode,
    encode,
    get_codec,
    list_codecs,
    register_codec,
)

__all__ = [
    "ImageCodec",
    "VideoCodec",
    "bits_per_pixel",
    "decode",
    "encode",
    "get_codec",
    "list_codecs",
    "register_codec",
]
