"""The lossless mozjpeg pass on every JPEG the package writes (issue 25 §3): on by default, same decoded pixels,
same markers (the sandwich model tag survives), never more bytes; ``lossless_pass=False`` / ``--no-lossless-pass``
give libjpeg-turbo's own file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralwrap.codecs import get_codec
from neuralwrap.codecs.image import read_metadata, xmp_packet
from neuralwrap.errors import UnsupportedOptionError
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.evaluation.image import EvalSpec
from neuralwrap.sandwich.inference.fileformat import read_tag


def _photo(h: int = 96, w: int = 128, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth image with edges and mild noise (what photos look like to an entropy coder)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = (
        128 + 60 * np.sin(x / 9.0)[..., None] * np.cos(y / 13.0)[..., None] + 40 * ((x // 24 + y // 24) % 2)[..., None]
    )
    img = base + rng.normal(0, 6, (h, w, channels))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("channels", "subsampling"), [(3, "420"), (3, "444"), (1, None)])
@pytest.mark.parametrize("quality", [5, 30, 75, 95])
def test_pass_keeps_pixels_and_never_adds_bytes(channels: int, subsampling: str | None, quality: int) -> None:
    c = get_codec("jpeg")
    img = _photo(channels=channels, seed=quality)
    kw = {"subsampling": subsampling} if subsampling else {}
    with_pass = c.encode(img, quality=quality, **kw)  # the default
    without = c.encode(img, quality=quality, lossless_pass=False, **kw)
    assert len(with_pass) <= len(without)
    assert np.array_equal(c.decode(with_pass), c.decode(without))


def test_pass_saves_bytes_and_is_progressive() -> None:
    c = get_codec("jpeg")
    img = _photo(256, 256)
    with_pass, without = c.encode(img, quality=75), c.encode(img, quality=75, lossless_pass=False)
    assert len(with_pass) < 0.99 * len(without)
    assert b"\xff\xc2" in with_pass and b"\xff\xc2" not in without  # SOF2 (progressive) vs baseline


def test_pass_keeps_comment_and_xmp() -> None:
    c = get_codec("jpeg")
    meta = {"comment": b"neuralwrap:jpeg420@2;q=40", "xmp": xmp_packet({"sandwich": "x"})}
    data = c.encode(_photo(), quality=40, **meta)
    plain = c.encode(_photo(), quality=40, lossless_pass=False, **meta)
    assert read_metadata(data) == read_metadata(plain)
    assert read_metadata(data)["comment"] == "neuralwrap:jpeg420@2;q=40"


def test_pass_setting_is_checked() -> None:
    with pytest.raises(UnsupportedOptionError, match="lossless_pass"):
        get_codec("jpeg").encode(_photo(), quality=50, lossless_pass="yes")


def test_eval_reports_both_anchors_for_jpeg() -> None:
    spec = EvalSpec(codec="jpeg", settings={"subsampling": "420", "optimize": True})
    assert spec.extra_anchors() == {"plain-nopass": {"subsampling": "420", "optimize": True, "lossless_pass": False}}
    assert EvalSpec(codec="jpeg", settings={"lossless_pass": False}).extra_anchors() == {}
    assert EvalSpec(codec="webp").extra_anchors() == {}


def test_sandwich_encode_flag_and_decode_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "photo.png"
    Image.fromarray(_photo(192, 256)).save(src)  # large enough for progressive scans to pay
    outs = {}
    for name, flags in (("pass", []), ("nopass", ["--no-lossless-pass"])):
        jpg = tmp_path / f"{name}.jpg"
        assert main(["-q", "encode", str(src), str(jpg), "--model", "jpeg420", "--quality", "40", *flags]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["bytes"] == jpg.stat().st_size
        png = tmp_path / f"{name}.png"
        assert main(["-q", "decode", str(jpg), str(png)]) == 0
        outs[name] = (jpg.read_bytes(), np.asarray(Image.open(png)))
    (a, dec_a), (b, dec_b) = outs["pass"], outs["nopass"]
    assert a != b and len(a) <= len(b)
    assert read_tag(a) == read_tag(b) and read_tag(a)[1] is not None
    assert np.array_equal(get_codec("jpeg").decode(a), get_codec("jpeg").decode(b))
    assert np.array_equal(dec_a, dec_b)
