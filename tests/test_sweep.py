"""RD sweep: real JPEG on a small synthetic image, CSV round trip, roundtrip pipelines, summaries."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from neuralwrap.errors import InputError, UnsupportedOptionError
from neuralwrap.rd.sweep import (
    RDRecord,
    average_curve,
    bd_vs_anchor,
    load_images,
    mean_psnr_at_bpp,
    rd_sweep,
    read_csv,
    summarize,
    write_csv,
)

QUALITIES = [20, 50, 80]


@pytest.fixture
def image() -> np.ndarray:
    """64x64 smooth colour gradient with a little deterministic texture (uint8 RGB)."""
    y, x = np.mgrid[0:64, 0:64].astype(np.float32)
    rng = np.random.default_rng(0)
    img = np.stack([x * 4, y * 4, (x + y) * 2], axis=2) + rng.normal(0, 6, (64, 64, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def records(image: np.ndarray) -> list[RDRecord]:
    imgs = {"a": image, "b": np.ascontiguousarray(image[::-1])}
    return rd_sweep("jpeg", imgs, QUALITIES, optimize=False) + rd_sweep(
        "jpeg", imgs, QUALITIES, label="jpegopt", optimize=True
    )


def test_sweep_real_jpeg_bpp_from_bytes(image: np.ndarray) -> None:
    recs = rd_sweep("jpeg", [image], QUALITIES, subsampling="420")
    assert [r.quality for r in recs] == QUALITIES
    for r in recs:
        assert r.label == "jpeg" and r.image == "img000" and (r.height, r.width) == (64, 64)
        assert r.bpp == pytest.approx(8 * r.bytes / (64 * 64))
        assert 15 < r.psnr < 60 and r.encode_s > 0 and r.decode_s > 0
        assert r.seconds == pytest.approx(r.encode_s + r.decode_s)
    assert recs[0].bytes < recs[1].bytes < recs[2].bytes
    assert recs[0].psnr < recs[1].psnr < recs[2].psnr


def test_sweep_grayscale_prepare_compares_with_colour(image: np.ndarray) -> None:
    luma = lambda im: np.rint(im.astype(np.float32) @ [0.299, 0.587, 0.114]).astype(np.uint8)  # noqa: E731
    gray = rd_sweep("jpeg", [image], [90], label="jpeg400", prepare=luma, subsampling="400")
    colour = rd_sweep("jpeg", [image], [90])
    assert gray[0].psnr < colour[0].psnr  # colour lost, measured against the RGB original


def test_write_and_read_csv(records: list[RDRecord], tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "runs" / "sweep.csv"
    write_csv(records, out)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(records) == 12
    assert set(rows[0]) >= {"label", "image", "quality", "bytes", "bpp", "psnr", "encode_s", "decode_s"}
    back = read_csv(out)
    assert [(r.label, r.image, r.bytes) for r in back] == [(r.label, r.image, r.bytes) for r in records]
    assert back[0].bpp == pytest.approx(records[0].bpp)


def test_roundtrip_pipeline(image: np.ndarray) -> None:
    def identity(im: np.ndarray, q: int) -> tuple[bytes, np.ndarray]:
        noisy = im.copy()
        noisy[0, 0, 0] ^= 1
        return bytes(q), noisy

    recs = rd_sweep("ident", [image], [64, 128], roundtrip=identity)
    assert [r.bytes for r in recs] == [64, 128]
    assert recs[0].bpp == pytest.approx(8 * 64 / 4096)
    assert recs[0].psnr == pytest.approx(10 * math.log10(255**2 * 64 * 64 * 3))
    assert math.isnan(recs[0].decode_s)
    with pytest.raises(InputError):
        rd_sweep("ident", [image], [1], roundtrip=identity, optimize=True)


def test_summaries(records: list[RDRecord]) -> None:
    q, bpp, ps = average_curve(records, "jpeg")
    assert q.tolist() == QUALITIES and np.all(np.diff(bpp) > 0)
    mid = float(np.sqrt(bpp[0] * bpp[-1]))
    val, n = mean_psnr_at_bpp(records, "jpeg", mid)
    assert n == 2 and ps[0] < val < ps[-1]
    assert math.isnan(mean_psnr_at_bpp(records, "jpeg", 100.0)[0])
    bd = bd_vs_anchor(records, "jpegopt", "jpeg")
    assert bd["n_img"] == 2 and bd["bd_rate_img"] < 0 and bd["bd_rate_avg"] < 0  # Huffman optimisation helps
    s = summarize(records, anchors=["jpeg"], targets=[mid])
    assert s["jpeg"]["bd"]["jpeg"]["bd_rate_avg"] == pytest.approx(0.0, abs=1e-9)
    assert set(s["jpegopt"]["mp_per_s"]) == {"20", "50", "80"}
    with pytest.raises(InputError):
        summarize(records, anchors=["nope"])


def test_sweep_errors(image: np.ndarray, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedOptionError):
        rd_sweep("no-such-codec", [image], [50])
    with pytest.raises(InputError):
        rd_sweep("jpeg", [image], [])
    with pytest.raises(InputError):
        load_images(tmp_path / "missing")
    with pytest.raises(InputError):
        load_images(tmp_path)  # empty folder


def test_sweep_from_folder(image: np.ndarray, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from neuralwrap.io.images import write_image

    write_image(tmp_path / "b.png", image)
    write_image(tmp_path / "a.png", image[:32])
    (tmp_path / "notes.txt").write_text("not an image")
    recs = rd_sweep("webp", tmp_path, [50])
    assert [(r.image, r.height) for r in recs] == [("a", 32), ("b", 64)]
    assert all(r.bpp == pytest.approx(8 * r.bytes / (r.height * r.width)) for r in recs)
