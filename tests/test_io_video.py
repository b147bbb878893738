"""Video frame sources (image folder, y4m, raw yuv, PyAV files) and the streaming video writer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from tests.conftest import smooth_image
from tests.robustness.fuzz_inputs import corrupt_one_frame

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CodecError, InputError
from neuralwrap.io import write_image
from neuralwrap.io.video import DecodeReport, open_frames
from neuralwrap.metrics import psnr

W, H, N = 64, 48, 4


@pytest.fixture(scope="module")
def raw420(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw I420 clip made by FFmpeg from RGB frames (so it holds realistic YUV)."""
    path = tmp_path_factory.mktemp("raw") / "clip.yuv"
    chunks = []
    for i in range(N):
        frame = av.VideoFrame.from_ndarray(smooth_image(H, W, seed=i), format="rgb24").reformat(format="yuv420p")
        chunks += [
            np.asarray(p).reshape(-1, p.line_size)[:, : (W if j == 0 else W // 2)].tobytes()
            for j, p in enumerate(frame.planes)
        ]
    path.write_bytes(b"".join(chunks))
    return path


def _reference_rgb(path: Path, pix_fmt: str = "yuv420p") -> list[np.ndarray]:
    """FFmpeg's own rawvideo demuxer + swscale, the reference our reader must match."""
    with av.open(str(path), format="rawvideo", options={"video_size": f"{W}x{H}", "pixel_format": pix_fmt}) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def test_raw_yuv_matches_ffmpeg(raw420: Path) -> None:
    src = open_frames(raw420, size=(W, H))
    ours = list(src)
    ref = _reference_rgb(raw420)
    assert src.num_frames == N == len(ref) and (src.width, src.height) == (W, H)
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a, b)


def test_y4m_8_and_10_bit_match_raw(raw420: Path, tmp_path: Path) -> None:
    fb = W * H * 3 // 2
    data = raw420.read_bytes()
    frames = [data[i * fb : (i + 1) * fb] for i in range(N)]
    y8 = tmp_path / "c8.y4m"
    y8.write_bytes(
        f"YUV4MPEG2 W{W} H{H} F30000:1001 Ip A1:1 C420jpeg\n".encode() + b"".join(b"FRAME\n" + f for f in frames)
    )
    y10 = tmp_path / "c10.y4m"
    deep = [(np.frombuffer(f, np.uint8).astype("<u2") << 2).tobytes() for f in frames]
    y10.write_bytes(
        f"YUV4MPEG2 W{W} H{H} F25:1 C420p10 XYSCSS=420P10\n".encode() + b"".join(b"FRAME\n" + f for f in deep)
    )
    ref = list(open_frames(raw420, size=(W, H)))
    s8 = open_frames(y8)
    assert s8.fps == Fraction(30000, 1001) and s8.num_frames == N
    for a, b, c in zip(ref, s8, open_frames(y10)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)  # 10-bit input is rounded to 8 bits (documented conversion)


def test_bad_inputs_are_named(raw420: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--size WxH\) and pixel format \(--in-pix-fmt\)"):
        open_frames(raw420)
    cut = tmp_path / "cut.yuv"
    cut.write_bytes(raw420.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated"):
        open_frames(cut, size=(W, H))
    with pytest.raises(InputError, match="pixel format"):
        open_frames(raw420, size=(W, H), pix_fmt="nv12")
    y4m = tmp_path / "cut.y4m"
    y4m.write_bytes(f"YUV4MPEG2 W{W} H{H} F25:1 C420jpeg\n".encode() + b"FRAME\n" + b"\0" * 100)
    with pytest.raises(InputError, match="truncated"):
        open_frames(y4m)
    with pytest.raises(InputError, match="does not exist"):
        open_frames(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\0not a video" * 50)
    with pytest.raises(InputError, match="junk.mp4"):
        list(open_frames(junk))
    folder = tmp_path / "frames"
    write_image(folder / "f000.png", smooth_image(H, W))
    write_image(folder / "f001.png", smooth_image(H + 2, W))
    with pytest.raises(InputError, match="first frame"):
        list(open_frames(folder))


def test_streaming_writer_roundtrip_and_atomicity(tmp_path: Path) -> None:
    frames = [smooth_image(H + 1, W + 1, seed=i) for i in range(N)]  # odd size: padded, cropped back
    out = tmp_path / "out.mp4"
    codec = get_codec("h264")
    with codec.writer(out, crf=20, fps=12) as w:
        for f in frames:
            w.write(f)
    src = open_frames(out)
    assert src.fps == 12
    decoded = list(codec.iter_decode(out))
    assert len(decoded) == N and decoded[0].shape == frames[0].shape
    assert psnr(frames[0], decoded[0]) > 28
    assert codec.decode(out.read_bytes())[0].shape == frames[0].shape  # the in-memory API sees the same file

    bad = tmp_path / "bad.mp4"
    with pytest.raises(InputError, match="frame 1"), codec.writer(bad, crf=20) as w:
        w.write(frames[0])
        w.write(smooth_image(H, W))  # other size
    assert not bad.exists() and not list(tmp_path.glob(".bad*"))  # nothing half-written left behind
    with pytest.raises(CodecError):
        list(codec.iter_decode(out.read_bytes()[: len(out.read_bytes()) // 3]))


def test_variable_frame_rate_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    with av.open(str(path), "w") as c:
        st = c.add_stream("libx264", rate=30)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        st.codec_context.time_base = Fraction(1, 1000)
        for i, pts in enumerate([0, 33, 66, 200, 233, 500, 533, 566]):
            f = av.VideoFrame.from_ndarray(smooth_image(H, W, seed=i), format="rgb24")
            f.pts, f.time_base = pts, Fraction(1, 1000)
            c.mux(st.encode(f))
        c.mux(st.encode(None))
    src = open_frames(path)
    assert src.variable_frame_rate
    assert len(list(src)) == 8


@pytest.fixture(scope="module")
def pan8() -> list[np.ndarray]:
    """Eight frames of a smooth pan (inter-coded by the encoders: P and B frames)."""
    big = smooth_image(H, W + 4 * 8, seed=11)
    return [np.ascontiguousarray(big[:, 4 * i : 4 * i + W]) for i in range(8)]


@pytest.mark.parametrize("name", ["h264", "hevc"])
def test_corrupt_frame_is_named_or_skipped(name: str, pan8: list[np.ndarray], tmp_path: Path) -> None:
    """Issue 18: a frame the decoder drops is an error naming its index, or skipped and counted on request."""
    codec = get_codec(name)
    data, lost = corrupt_one_frame(codec.encode(pan8, crf=30))
    assert 0 < lost < 7
    with pytest.raises(CodecError, match=rf"frame {lost} of 8 could not be decoded.*--skip-corrupt"):
        codec.decode(data)
    report = DecodeReport()
    frames = codec.decode(data, skip_corrupt=True, report=report)
    assert len(frames) == 7 and report.skipped == 1 and report.lost == [lost] and report.expected == 8
    clean = codec.decode(codec.encode(pan8, crf=30), report=report)
    assert len(clean) == 8 and report.skipped == 0
    # the same through a file source (sandwich video encode of a damaged input clip)
    path = tmp_path / "bad.mp4"
    path.write_bytes(data)
    with pytest.raises(InputError, match=rf"bad.mp4: frame {lost} of 8"):
        list(open_frames(path))
    src = open_frames(path, skip_corrupt=True)
    assert len(list(src)) == 7 and src.report.skipped == 1
    with pytest.raises(CodecError, match=rf"bad.mp4: frame {lost} of 8"):
        list(codec.iter_decode(path))


def test_truncated_faststart_file_names_lost_frames(pan8: list[np.ndarray], tmp_path: Path) -> None:
    """An MP4 whose index (moov) comes first and whose frame data is cut short: the missing frames are named."""
    path = tmp_path / "fs.mp4"
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as c:
        st = c.add_stream("libx264", rate=25)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        for i, frame in enumerate(pan8):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = i
            c.mux(st.encode(vf))
        c.mux(st.encode(None))
    data = path.read_bytes()
    with pytest.raises(CodecError, match="could not be decoded"):
        get_codec("h264").decode(data[:-20])
    report = DecodeReport()
    frames = get_codec("h264").decode(data[:-20], skip_corrupt=True, report=report)
    assert report.skipped >= 1 and len(frames) + report.skipped == 8


def test_single_frame_hevc_encodes_at_every_crf() -> None:
    """libx265 flushes a one-frame stream with a garbage dts; the writer repairs it (regression)."""
    codec = get_codec("hevc")
    frame = smooth_image(H, 2 * W, seed=5)
    for crf in (20, 24, 30, 32, 36):
        decoded = codec.decode(codec.encode([frame], crf=crf))
        assert len(decoded) == 1 and decoded[0].shape == frame.shape
