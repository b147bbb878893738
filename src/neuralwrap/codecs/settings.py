"""Settings shared by the codec implementations: parsing keyword settings into a dataclass, range checks, and the
decode-size guard. Both image.py and video.py use these; neither imports the other."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from neuralwrap.errors import UnsupportedOptionError

__all__ = ["MAX_DECODE_PIXELS", "check_int", "parse_settings"]

#: decoders refuse images with more pixels than this (guards against decompression bombs in corrupt
#: or hostile headers; below Pillow's own 89 Mpx warning threshold so that warning never fires).
MAX_DECODE_PIXELS: int = 1 << 26
S = TypeVar("S")


def parse_settings(codec: str, cls: type[S], settings: Mapping[str, Any]) -> S:
    """Build the settings dataclass ``cls``; unknown keywords raise :class:`UnsupportedOptionError`."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(settings) - known)
    if unknown:
        raise UnsupportedOptionError(
            f"{codec}: unknown setting(s) {', '.join(unknown)}; supported: {', '.join(sorted(known))}"
        )
    return cls(**settings)


def check_int(codec: str, option: str, value: Any, lo: int, hi: int) -> None:
    """Refuse ``value`` unless it is an integer in ``[lo, hi]`` (the message names codec and option)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise UnsupportedOptionError(f"{codec}: option {option}={value!r} must be an integer in [{lo}, {hi}]")
