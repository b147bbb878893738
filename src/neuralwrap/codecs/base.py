"""The codec interface and its name registry.

A codec turns an image (numpy ``HxWxC``, uint8/uint16, see :mod:`neuralwrap.io`) into the bytes of a
standard file and back. Video codecs take and return a list of frames. Rate is always measured from
the real bytes: ``bpp = 8 * len(data) / (H * W)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from neuralwrap.errors import UnsupportedOptionError

__all__ = [
    "ImageCodec",
    "VideoCodec",
    "register_codec",
    "get_codec",
    "list_codecs",
    "encode",
    "decode",
    "bits_per_pixel",
]

_REGISTRY: dict[str, type[ImageCodec] | type[VideoCodec]] = {}
C = TypeVar("C", bound=type)


class ImageCodec(ABC):
    """A real still-image codec. Subclasses set ``name`` and implement :meth:`encode` / :meth:`decode`."""

    name: str = ""
    kind: str = "image"
    #: file suffix of the standard container written by :meth:`encode` (e.g. ".jpg")
    suffix: str = ""

    @abstractmethod
    def encode(self, image: np.ndarray, **settings: Any) -> bytes:
        """Encode an ``HxWxC`` image to the bytes of a standard file. Unknown settings raise."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode bytes to an ``HxWxC`` array; corrupt/truncated data raises :class:`CodecError`."""


class VideoCodec(ABC):
    """A real video encoder/decoder. Frames are ``HxWxC`` uint8/uint16 arrays of one size."""

    name: str = ""
    kind: str = "video"
    suffix: str = ".mp4"

    @abstractmethod
    def encode(self, frames: Sequence[np.ndarray], **settings: Any) -> bytes:
        """Encode frames to the bytes of a standard container file."""

    @abstractmethod
    def decode(self, data: bytes) -> list[np.ndarray]:
        """Decode container bytes back to frames; corrupt/truncated data raises :class:`CodecError`."""


def register_codec(name: str) -> Callable[[C], C]:
    """Class decorator: register a codec class under ``name`` (lower-case, unique)."""

    def deco(cls: C) -> C:
        if name in _REGISTRY:
            raise ValueError(f"codec {name!r} is already registered")
        cls.name = name  # type: ignore[attr-defined]
        _REGISTRY[name] = cls  # type: ignore[assignment]
        return cls

    return deco


_VIDEO_IMPORT_ERROR: list[str] = []


def _ensure_loaded() -> None:
    # Importing the implementation modules registers their codecs. Video needs PyAV; without it the
    # image codecs still work and asking for a video codec names the missing package.
    from neuralwrap.codecs import image as _image  # noqa: F401

    try:
        from neuralwrap.codecs import video as _video  # noqa: F401
    except ImportError as exc:  # pragma: no cover - PyAV is a declared dependency
        if not _VIDEO_IMPORT_ERROR:
            _VIDEO_IMPORT_ERROR.append(str(exc))


def list_codecs(kind: str | None = None) -> list[str]:
    """Names of registered codecs, sorted; ``kind`` filters ``"image"`` or ``"video"``."""
    _ensure_loaded()
    return sorted(n for n, c in _REGISTRY.items() if kind is None or c.kind == kind)


def get_codec(name: str) -> ImageCodec | VideoCodec:
    """A new instance of the codec registered as ``name``; unknown names raise with the list of known ones."""
    _ensure_loaded()
    if name not in _REGISTRY:
        if _VIDEO_IMPORT_ERROR and name in ("h264", "hevc", "av1"):
            raise UnsupportedOptionError(f"video codec {name!r} needs PyAV: {_VIDEO_IMPORT_ERROR[0]}")
        raise UnsupportedOptionError(f"unknown codec {name!r}; known codecs: {', '.join(list_codecs())}")
    return _REGISTRY[name]()


def encode(name: str, image: Any, **settings: Any) -> bytes:
    """Encode with the codec registered as ``name`` (see its class for settings)."""
    return get_codec(name).encode(image, **settings)


def decode(name: str, data: bytes) -> Any:
    """Decode with the codec registered as ``name``."""
    return get_codec(name).decode(data)


def bits_per_pixel(data: bytes, height: int, width: int) -> float:
    """Real rate: ``8 * len(data) / (height * width)`` of the original image (headers included)."""
    return 8.0 * len(data) / float(height * width)
