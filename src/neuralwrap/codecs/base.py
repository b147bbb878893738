"""The codec interface (types only; codecs by name: :mod:`neuralwrap.codecs.registry`).

A codec turns an image (numpy ``HxWxC``, uint8/uint16, see :mod:`neuralwrap.io`) into the bytes of a
standard file and back. Video codecs take and return a list of frames. Rate is always measured from
the real bytes: ``bpp = 8 * len(data) / (H * W)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ImageCodec", "VideoCodec", "bits_per_pixel"]


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


def bits_per_pixel(data: bytes, height: int, width: int) -> float:
    """Real rate: ``8 * len(data) / (height * width)`` of the original image (headers included)."""
    return 8.0 * len(data) / float(height * width)
