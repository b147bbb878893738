"""Sandwiched video (per-frame networks over real x264/x265): streaming encode/decode, tags, flicker, eval."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest
from tests.conftest import smooth_image

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CodecError, InputError
from neuralwrap.io import write_image
from neuralwrap.io.video import open_frames
from neuralwrap.metrics import psnr
from neuralwrap.sandwich.evaluation.video import (
    PlainVideo,
    SandwichVideo,
    VideoEvalSpec,
    evaluate_video,
    parse_anchor,
)
from neuralwrap.sandwich.inference.codec import load_pretrained
from neuralwrap.sandwich.inference.video import (
    decode_video,
    encode_video,
    iter_decode_video,
    read_video_tag,
    temporal_flicker,
)

W, H = 96, 64


def _pan_clip(folder: Path, n: int) -> Path:
    """A smooth pan over one image: ``n`` PNG frames of ``W×H``."""
    big = smooth_image(H + 8, W + 4 * n, seed=11)
    for i in range(n):
        write_image(folder / f"f{i:03d}.png", np.ascontiguousarray(big[4 : 4 + H, 4 * i : 4 * i + W]))
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pan_clip(tmp_path_factory.mktemp("clip"), 6)


@pytest.fixture(scope="module")
def model():
    return load_pretrained("jpeg420-postonly")


def test_encode_decode_roundtrip(clip: Path, model, tmp_path: Path) -> None:
    src = open_frames(clip, fps=12)
    out = tmp_path / "s.mp4"
    rep = encode_video(model, src, out, codec="hevc", crf=30, progress=False)
    assert rep.frames == 6 and rep.bytes == out.stat().st_size and rep.pix_fmt == "yuv420p"
    assert rep.bpp == pytest.approx(8 * rep.bytes / (W * H * 6))
    codec, tag = read_video_tag(out)
    assert codec == "hevc" and tag is not None and tag.model == model.name and tag.quality == rep.cond_quality
    recs = list(iter_decode_video(out))
    refs = list(src)
    assert len(recs) == 6 and recs[0].shape == (H, W, 3)
    assert np.mean([psnr(a, b) for a, b in zip(refs, recs)]) > 28
    # the post-processor runs: the sandwich decode differs from the plain decode of the same stream
    plain = get_codec("hevc").decode(out.read_bytes())
    assert any(np.abs(a.astype(int) - b).max() > 0 for a, b in zip(plain, recs))

    mp4 = decode_video(out, tmp_path / "dec.mp4", progress=False)
    with av.open(str(tmp_path / "dec.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    assert mp4.frames == len(frames) == 6 and frames[0].shape == (H, W, 3)
    pngs = decode_video(out, tmp_path / "frames", progress=False)
    assert pngs.frames == 6 and len(list((tmp_path / "frames").glob("frame_*.png"))) == 6


def test_plain_or_broken_videos_are_refused(clip: Path, model, tmp_path: Path) -> None:
    plain = tmp_path / "plain.mp4"
    plain.write_bytes(get_codec("h264").encode(list(open_frames(clip)), crf=30))
    with pytest.raises(CodecError, match="no neuralwrap tag"):
        list(iter_decode_video(plain))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 200)
    with pytest.raises(InputError, match="junk.mp4"):
        read_video_tag(junk)
    with pytest.raises(InputError, match="does not exist"):
        read_video_tag(tmp_path / "missing.mp4")
    gray = load_pretrained("jpeg420")
    with pytest.raises(InputError, match="pix_fmt"):
        encode_video(gray, open_frames(clip), tmp_path / "x.mp4", pix_fmt="gray", progress=False)
    assert not (tmp_path / "x.mp4").exists()


def test_memory_does_not_grow_with_clip_length(model, tmp_path: Path) -> None:
    peaks = []
    for n in (6, 24):
        src = open_frames(_pan_clip(tmp_path / f"c{n}", n))
        tracemalloc.start()
        encode_video(model, src, tmp_path / f"m{n}.mp4", codec="h264", crf=30, cond_quality=40, progress=False)
        for _ in iter_decode_video(tmp_path / f"m{n}.mp4"):
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0], peaks  # 4x the frames, about the same peak


def test_temporal_flicker() -> None:
    ref = [np.full((4, 4, 3), 100, np.uint8)] * 4
    static = [np.full((4, 4, 3), 103, np.uint8)] * 4
    alternating = [np.full((4, 4, 3), v, np.uint8) for v in (103, 97, 103, 97)]
    assert temporal_flicker(ref, static) == 0.0
    assert temporal_flicker(ref, alternating) == pytest.approx(6.0)
    with pytest.raises(InputError):
        temporal_flicker(ref[:1], static[:1])


def test_video_eval_writes_tables_plots_and_comparison(clip: Path, model, tmp_path: Path) -> None:
    entries = [PlainVideo("plain"), SandwichVideo("post", model)]
    summary = evaluate_video(
        entries, open_frames(clip), tmp_path, VideoEvalSpec(codec="h264", crfs=(24, 32, 40)), progress=False
    )
    for name in ("records.csv", "summary.json", "rd.png", "flicker.png", "comparison.mp4", "comparison.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    post = json.loads((tmp_path / "summary.json").read_text())["entries"]["post"]
    assert np.isfinite(post["bd_rate_pct"]) and np.isfinite(post["bd_psnr_db"]) and post["mean_flicker"] > 0
    assert summary["anchor"] == "plain"


def test_video_eval_lpips_and_half_resolution_anchor(clip: Path, tmp_path: Path) -> None:
    """``lpips=True`` adds per-frame LPIPS and a BD-rate under it; a ``@2`` anchor codes half resolution."""
    entries = [parse_anchor("yuv420p@2", "h264"), parse_anchor("yuv420p", "h264")]
    summary = evaluate_video(
        entries, open_frames(clip), tmp_path, VideoEvalSpec(codec="h264", crfs=(24, 32, 40), lpips=True), progress=False
    )
    rows = list(csv.DictReader((tmp_path / "records.csv").open()))
    half, full = (
        sorted((r for r in rows if r["label"] == lb), key=lambda r: int(r["crf"]))
        for lb in ("h264-yuv420p-half-bicubic", "h264-yuv420p")
    )
    assert all(0.0 <= float(r["lpips"]) < 1.0 for r in rows)
    # the full-resolution encode spends more bits and looks better (lower LPIPS) at every CRF
    assert all(int(f["bytes"]) > int(h["bytes"]) and float(f["lpips"]) < float(h["lpips"]) for f, h in zip(full, half))
    e = summary["entries"]["h264-yuv420p"]
    assert e["mean_lpips"] < summary["entries"]["h264-yuv420p-half-bicubic"]["mean_lpips"]
    assert "bd_rate_lpips_pct" in e and (tmp_path / "rd_lpips.png").stat().st_size > 0
