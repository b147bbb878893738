"""Fuzzing every registered codec's decoder: bad bytes must give a sane image or CodecError, never hang.

Truncations and seeded random bit flips of a valid stream either decode to a well-formed result
(``HxWxC`` array(s), C in {1, 3}, uint8/uint16 — a flipped header bit may legitimately change the
coded size) or raise :class:`CodecError` with a one-line message; any other exception type, or a hang, is a bug.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import smooth_image
from neuralwrap.codecs import get_codec, list_codecs
from neuralwrap.errors import CodecError

pytestmark = pytest.mark.timeout(60)

IMAGE = smooth_image(37, 45, 3, noise=0.03)
FRAMES = [np.ascontiguousarray(np.roll(IMAGE, 2 * t, axis=1)) for t in range(3)]
N_FLIPS = 12


def valid_stream(name: str) -> bytes:
    codec = get_codec(name)
    if codec.kind == "image":
        return codec.encode(IMAGE, quality=80)
    return codec.encode(FRAMES, preset=12 if name == "av1" else "ultrafast")


def check_outcome(name: str, data: bytes) -> None:
    codec = get_codec(name)
    try:
        out = codec.decode(data)
    except CodecError as exc:
        assert "\n" not in str(exc), f"{name}: the error message spans lines: {exc}"  # the CLI prints one line
        return
    arrays = [out] if codec.kind == "image" else out
    assert isinstance(arrays, list) and arrays, f"{name}: decode returned {type(out)}"
    for arr in arrays:
        assert isinstance(arr, np.ndarray) and arr.ndim == 3, f"{name}: bad result {getattr(arr, 'shape', arr)}"
        assert arr.shape[2] in (1, 3) and min(arr.shape) > 0 and arr.dtype in (np.uint8, np.uint16)


def test_every_codec_is_fuzzed() -> None:
    assert set(list_codecs()) >= {"jpeg", "webp", "avif", "heif", "h264", "hevc", "av1"}


@pytest.mark.parametrize("name", list_codecs())
def test_truncations(name: str) -> None:
    data = valid_stream(name)
    n = len(data)
    for cut in sorted({0, 1, 4, 12, 40, n // 4, n // 2, 3 * n // 4, n - 16, n - 2, n - 1}):
        if cut == 0:
            with pytest.raises(CodecError):
                get_codec(name).decode(data[:cut])
        else:
            check_outcome(name, data[:cut])


@pytest.mark.parametrize("name", list_codecs())
def test_random_bit_flips(name: str) -> None:
    data = valid_stream(name)
    rng = np.random.default_rng(1234)
    for _ in range(N_FLIPS):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 5))):
            buf[pos] ^= 1 << int(rng.integers(0, 8))
        check_outcome(name, bytes(buf))


@pytest.mark.parametrize("name", list_codecs())
def test_garbage_and_foreign_formats(name: str) -> None:
    rng = np.random.default_rng(7)
    kind = get_codec(name).kind
    foreigns = ["hevc", "webp"] if kind == "image" else ["jpeg", "av1" if name != "av1" else "hevc"]
    foreigns = [f for f in foreigns if f != name]
    junks = [b"\x00" * 64, rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()] + [valid_stream(f) for f in foreigns]
    for junk in junks:
        with pytest.raises(CodecError):
            get_codec(name).decode(junk)


def test_truncated_jpeg_detected_even_when_pillow_tolerates_truncation(monkeypatch) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = valid_stream("jpeg")
    with pytest.raises(CodecError):
        get_codec("jpeg").decode(data[: len(data) * 2 // 3])
