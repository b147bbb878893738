"""Codecs by name: one explicit table of the built-in codecs (loaded on first use, so asking for ``jpeg`` does not
import PyAV), plus :func:`register_codec` for a user's own codec class. Nothing registers itself on import."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from neuralwrap.codecs.base import ImageCodec, VideoCodec
from neuralwrap.errors import UnsupportedOptionError

__all__ = ["BUILTIN_CODECS", "decode", "encode", "get_codec", "list_codecs", "register_codec"]

Codec = ImageCodec | VideoCodec
C = TypeVar("C", bound=type)

#: name → (module, class, kind) of every built-in codec
BUILTIN_CODECS: dict[str, tuple[str, str, str]] = {
    "jpeg": ("neuralwrap.codecs.image", "JpegCodec", "image"),
    "webp": ("neuralwrap.codecs.image", "WebpCodec", "image"),
    "avif": ("neuralwrap.codecs.image", "AvifCodec", "image"),
    "heif": ("neuralwrap.codecs.image", "HeifCodec", "image"),
    "h264": ("neuralwrap.codecs.video", "H264Codec", "video"),
    "hevc": ("neuralwrap.codecs.video", "HevcCodec", "video"),
    "av1": ("neuralwrap.codecs.video", "Av1Codec", "video"),
}
_USER: dict[str, type[ImageCodec] | type[VideoCodec]] = {}


def register_codec(name: str) -> Callable[[C], C]:
    """Class decorator for a user's codec class: makes it available as ``get_codec(name)`` (unique names)."""

    def deco(cls: C) -> C:
        if name in BUILTIN_CODECS or name in _USER:
            raise ValueError(f"codec {name!r} is already registered")
        cls.name = name  # type: ignore[attr-defined]
        _USER[name] = cls  # type: ignore[assignment]
        return cls

    return deco


def _kind(name: str) -> str:
    return BUILTIN_CODECS[name][2] if name in BUILTIN_CODECS else _USER[name].kind


def list_codecs(kind: str | None = None) -> list[str]:
    """Names of the available codecs, sorted; ``kind`` filters ``"image"`` or ``"video"``."""
    return sorted(n for n in (*BUILTIN_CODECS, *_USER) if kind is None or _kind(n) == kind)


def _class(name: str) -> type[ImageCodec] | type[VideoCodec]:
    if name in _USER:
        return _USER[name]
    module, cls, _ = BUILTIN_CODECS[name]
    try:
        return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]
    except ImportError as exc:  # pragma: no cover - PyAV and pillow-heif are declared dependencies
        raise UnsupportedOptionError(f"codec {name!r} needs a package that failed to import: {exc}") from exc


def get_codec(name: str) -> Codec:
    """A new instance of the codec ``name``; unknown names raise with the list of known ones."""
    if name not in BUILTIN_CODECS and name not in _USER:
        raise UnsupportedOptionError(f"unknown codec {name!r}; known codecs: {', '.join(list_codecs())}")
    return _class(name)()


def encode(name: str, image: Any, **settings: Any) -> bytes:
    """Encode with the codec ``name`` (see its class for settings)."""
    return get_codec(name).encode(image, **settings)


def decode(name: str, data: bytes) -> Any:
    """Decode with the codec ``name``."""
    return get_codec(name).decode(data)
