"""Still-image codecs (neuralwrap.codecs.image): registry, round trips, rates, errors, metadata."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import smooth_image
from neuralwrap.codecs import bits_per_pixel, get_codec, list_codecs
from neuralwrap.codecs.image import detect_format, read_metadata, xmp_packet
from neuralwrap.errors import InputError, UnsupportedOptionError

pytestmark = pytest.mark.timeout(60)

IMAGE_CODECS = ["avif", "heif", "jpeg", "webp"]
H, W = 53, 77  # odd on purpose

# (codec, channels, dtype) combinations each codec supports
SUPPORTED = [
    ("jpeg", 3, np.uint8),
    ("jpeg", 1, np.uint8),
    ("webp", 3, np.uint8),
    ("avif", 3, np.uint8),
    ("avif", 1, np.uint8),
    ("heif", 3, np.uint8),
    ("heif", 1, np.uint8),
    ("heif", 3, np.uint16),
    ("heif", 1, np.uint16),
]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    peak = 65535.0 if a.dtype == np.uint16 else 255.0
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def test_registry_lists_all_codecs() -> None:
    assert list_codecs("image") == IMAGE_CODECS
    assert set(list_codecs()) >= set(IMAGE_CODECS) | {"h264", "hevc", "av1"}
    for name in IMAGE_CODECS:
        codec = get_codec(name)
        assert codec.name == name and codec.kind == "image" and codec.suffix.startswith(".")


@pytest.mark.parametrize("name,channels,dtype", SUPPORTED)
def test_round_trip_odd_size(name: str, channels: int, dtype: type) -> None:
    codec = get_codec(name)
    img = smooth_image(H, W, channels, dtype)
    data = codec.encode(img, quality=95)
    assert detect_format(data) == name
    out = codec.decode(data)
    assert out.shape == (H, W, channels) and out.dtype == dtype
    assert psnr(out, img) > 33.0, f"{name} {channels}ch {np.dtype(dtype).name}: PSNR {psnr(out, img):.1f} dB"
    assert 0 < bits_per_pixel(data, H, W) < 16


def test_two_dimensional_input_decodes_with_one_channel() -> None:
    img = smooth_image(H, W, 1)[:, :, 0]
    out = get_codec("jpeg").decode(get_codec("jpeg").encode(img))
    assert out.shape == (H, W, 1)


def test_kodak_crop_quality(shared_data) -> None:
    from neuralwrap.io.images import read_image

    path = shared_data / "kodak" / "kodim23.png"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    img = read_image(path)[200:328, 300:428]  # 128x128 crop of real content
    for name, floor in [("jpeg", 36.0), ("webp", 36.0), ("avif", 38.0), ("heif", 38.0)]:
        out = get_codec(name).decode(get_codec(name).encode(img, quality=90))
        assert psnr(out, img) > floor, f"{name}: {psnr(out, img):.2f} dB"


@pytest.mark.parametrize("name", IMAGE_CODECS)
def test_higher_quality_more_bytes(name: str) -> None:
    img = smooth_image(64, 96, 3, noise=0.03)
    codec = get_codec(name)
    sizes = [len(codec.encode(img, quality=q)) for q in (20, 60, 95)]
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize("name", ["jpeg", "avif", "heif"])
def test_444_costs_more_than_420(name: str) -> None:
    img = smooth_image(64, 96, 3, noise=0.03)
    codec = get_codec(name)
    assert len(codec.encode(img, quality=90, subsampling="444")) > len(codec.encode(img, quality=90, subsampling="420"))


def test_jpeg_optimize_saves_bytes_and_400_is_true_grayscale() -> None:
    codec = get_codec("jpeg")
    img = smooth_image(64, 96, 3, noise=0.03)
    plain = {"lossless_pass": False}  # libjpeg-turbo's own Huffman tables (the pass optimises them anyway)
    assert len(codec.encode(img, optimize=True, **plain)) < len(codec.encode(img, optimize=False, **plain))
    data = codec.encode(img[:, :, :1], subsampling="400")
    # SOF0 (baseline) or SOF2 (progressive, after the lossless pass): length(2) precision(1) height(2) width(2) ncomp(1)
    sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
    assert data[sof + 9] == 1
    assert codec.decode(data).shape == (64, 96, 1)


@pytest.mark.parametrize("quality", [90, 100])
def test_jpeg_high_entropy_image_at_high_quality(quality: int) -> None:
    """Noise at a high quality needs more than the 1–2 bytes per pixel Pillow reserves for an optimised JPEG
    (it used to fail with "broken data stream"); the file decodes to within JPEG's rounding."""
    from PIL import ImageFile

    x = np.random.default_rng(0).integers(0, 256, (256, 384, 3), dtype=np.uint8)
    block = ImageFile.MAXBLOCK
    c = get_codec("jpeg")
    data = c.encode(x, quality=quality, subsampling="444", comment=b"neuralwrap:test")
    assert bits_per_pixel(data, 256, 384) > (16 if quality >= 95 else 8)  # more than Pillow reserved
    assert ImageFile.MAXBLOCK == block  # Pillow's global is restored
    err = np.abs(c.decode(data).astype(int) - x).mean()
    assert err < (1 if quality == 100 else 10), err


def test_heif_10bit_full_range() -> None:
    codec = get_codec("heif")
    img = np.zeros((16, 24, 3), np.uint16)
    img[:, 12:] = 65535
    data = codec.encode(img, quality=100, subsampling="444")
    out = codec.decode(data)
    assert out.dtype == np.uint16
    assert out[:, 16:].min() > 65000 and out[:, :8].max() < 600
    # 8-bit input coded at 10 bits decodes as uint16; 16-bit coded at 8 bits decodes as uint8
    assert codec.decode(codec.encode(smooth_image(H, W, 3), bit_depth=10)).dtype == np.uint16
    assert codec.decode(codec.encode(smooth_image(H, W, 3, np.uint16), bit_depth=8)).dtype == np.uint8


@pytest.mark.parametrize(
    "name,image_args,settings,words",
    [
        ("jpeg", (3, np.uint16), {}, ["jpeg", "dtype"]),
        ("jpeg", (3, np.uint8), {"subsampling": "400"}, ["jpeg", "subsampling", "1-channel"]),
        ("jpeg", (1, np.uint8), {"subsampling": "444"}, ["jpeg", "subsampling"]),
        ("jpeg", (3, np.uint8), {"subsampling": "422"}, ["jpeg", "subsampling"]),
        ("jpeg", (3, np.uint8), {"quality": 0}, ["jpeg", "quality"]),
        ("jpeg", (3, np.uint8), {"quality": 101}, ["jpeg", "quality"]),
        ("jpeg", (3, np.uint8), {"comment": "text"}, ["jpeg", "comment"]),
        ("jpeg", (3, np.uint8), {"qualty": 50}, ["jpeg", "qualty"]),
        ("webp", (1, np.uint8), {}, ["webp", "channels"]),
        ("webp", (3, np.uint8), {"subsampling": "444"}, ["webp", "subsampling"]),
        ("webp", (3, np.uint16), {}, ["webp", "dtype"]),
        ("avif", (3, np.uint16), {}, ["avif", "dtype"]),
        ("avif", (3, np.uint8), {"subsampling": "400"}, ["avif", "subsampling"]),
        ("avif", (3, np.uint8), {"speed": 11}, ["avif", "speed"]),
        ("heif", (3, np.uint8), {"bit_depth": 12}, ["heif", "bit_depth"]),
        ("heif", (3, np.uint8), {"subsampling": "400"}, ["heif", "subsampling"]),
        ("heif", (3, np.uint8), {"preset": "warp"}, ["heif", "preset"]),
        ("heif", (3, np.uint8), {"chroma": 444}, ["heif", "chroma"]),
        ("jpeg", (4, np.uint8), {}, ["jpeg", "channels"]),
    ],
)
def test_unsupported_raises_naming_codec_and_option(name, image_args, settings, words) -> None:
    img = smooth_image(H, W, *image_args)
    with pytest.raises(UnsupportedOptionError) as info:
        get_codec(name).encode(img, **settings)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


@pytest.mark.parametrize("name", IMAGE_CODECS)
@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 5, 6, 3), np.uint8),
        np.zeros((8, 8, 3), np.int32),
        np.full((8, 8, 3), 0.5, np.float32),
        np.zeros((0, 8, 3), np.uint8),
        [[1, 2], [3, 4]],
    ],
    ids=["4d", "int32", "float32", "empty", "list"],
)
def test_invalid_image_raises_input_error(name: str, bad) -> None:
    with pytest.raises(InputError):
        get_codec(name).encode(bad)


def test_metadata_round_trip() -> None:
    img = smooth_image(H, W, 3)
    xmp = xmp_packet({"model": "sandwich-unet/slim@v1", "note": 'a "quoted" <value>'})
    jpeg = get_codec("jpeg").encode(img, comment=b"neuralwrap:model=abc", xmp=xmp)
    meta = read_metadata(jpeg)
    assert meta["format"] == "jpeg" and meta["comment"] == "neuralwrap:model=abc"
    assert meta["model"] == "sandwich-unet/slim@v1" and meta["note"] == 'a "quoted" <value>'
    for name in ("webp", "avif", "heif"):
        meta = read_metadata(get_codec(name).encode(img, xmp=xmp))
        assert meta["format"] == name and meta["model"] == "sandwich-unet/slim@v1", (name, meta)
    assert "xmp" not in read_metadata(get_codec("heif").encode(img))


def test_resize_bicubic_keeps_dtype_and_channels() -> None:
    from neuralwrap.io.images import resize_bicubic

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 30, 3), dtype=np.uint8)
    gray = rgb[:, :, :1].copy()
    for img in (rgb, gray):
        small = resize_bicubic(img, 15, 12)
        assert small.shape == (12, 15, img.shape[2]) and small.dtype == np.uint8
    flat = np.full((24, 30, 3), 77, np.uint8)  # a constant image stays constant
    assert np.array_equal(resize_bicubic(flat, 60, 48), np.full((48, 60, 3), 77, np.uint8))
