"""``sandwich video decode`` / ``sandwich video encode`` fed damaged .mp4 files, a frame the decoder loses,
empty files and folders, wrong extensions and outputs that are inputs: each refused cleanly (issue 18)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzz_inputs import (
    FLIPS,
    MUST_FAIL,
    Corruption,
    assert_clean,
    assert_error_line,
    assert_refused,
    corrupt_one_frame,
    run_cli,
    snapshot,
)

from conftest import smooth_image
from neuralwrap.codecs import get_codec
from neuralwrap.io.images import write_image
from neuralwrap.io.video import open_frames
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.inference.codec import load_pretrained
from neuralwrap.sandwich.inference.video import encode_video

pytestmark = pytest.mark.timeout(180)

W, H, N = 96, 64, 8
MODEL = "jpeg420-postonly"


def _pan() -> list[np.ndarray]:
    big = smooth_image(H, W + 4 * N, seed=11)
    return [np.ascontiguousarray(big[:, 4 * i : 4 * i + W]) for i in range(N)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``frames/`` (PNG clip), ``plain.mp4`` (h264 of it, with B-frames) and ``sandwich.mp4`` (the real sandwich
    video encode)."""
    d = tmp_path_factory.mktemp("pristine")
    for i, frame in enumerate(_pan()):
        write_image(d / "frames" / f"f{i:03d}.png", frame)
    (d / "plain.mp4").write_bytes(get_codec("h264").encode(_pan(), crf=30))
    encode_video(
        load_pretrained(MODEL),
        open_frames(d / "frames", fps=12),
        d / "sandwich.mp4",
        codec="hevc",
        crf=30,
        cond_quality=50,
        progress=False,
    )
    return d


def _case(pristine: Path, name: str, data: bytes, tmp_path: Path) -> tuple[Path, Path, Path]:
    """``(input file, input folder, empty output folder)``."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / name).write_bytes(data)
    return src / name, src, out


def _argv(command: str, clip: Path, out: Path) -> list[str]:
    if command == "decode":
        return ["video", "decode", str(clip), str(out / "frames")]
    return ["video", "encode", str(clip), str(out / "x.mp4"), "--model", MODEL, "--cond-quality", "50", "--crf", "30"]


CLIPS = [("decode", "sandwich.mp4"), ("encode", "plain.mp4")]


@pytest.mark.parametrize("corruption", MUST_FAIL, ids=str)
@pytest.mark.parametrize(("command", "name"), CLIPS)
def test_damaged_clip_is_refused(
    command: str, name: str, corruption: Corruption, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip, src, out = _case(pristine, name, corruption((pristine / name).read_bytes()), tmp_path)
    assert_refused(main, _argv(command, clip, out), capsys, [src], out)


@pytest.mark.parametrize("corruption", FLIPS, ids=str)
@pytest.mark.parametrize(("command", "name"), CLIPS)
def test_bit_flipped_clip_codes_whole_or_is_refused(
    command: str, name: str, corruption: Corruption, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip, src, out = _case(pristine, name, corruption((pristine / name).read_bytes()), tmp_path)
    before = snapshot(src)
    rc, err = run_cli(main, _argv(command, clip, out), capsys)
    assert_clean(err, out, before, [src])
    if rc != 0:
        assert_error_line(err)
        assert not any(out.iterdir())
    elif command == "decode":
        assert len(list((out / "frames").glob("frame_*.png"))) == N
    else:
        assert len(get_codec("hevc").decode((out / "x.mp4").read_bytes())) == N


@pytest.mark.parametrize(("command", "name"), CLIPS)
def test_lost_frame_is_named(
    command: str, name: str, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18: a frame the decoder drops is an error naming its index, never a silent 7 of 8 frames."""
    data, lost = corrupt_one_frame((pristine / name).read_bytes())
    clip, src, out = _case(pristine, name, data, tmp_path)
    line = assert_refused(main, _argv(command, clip, out), capsys, [src], out)
    assert f"frame {lost} of {N}" in line


def test_skip_corrupt_decodes_the_rest(pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _ = corrupt_one_frame((pristine / "sandwich.mp4").read_bytes())
    clip, src, out = _case(pristine, "sandwich.mp4", data, tmp_path)
    before = snapshot(src)
    capsys.readouterr()
    rc = main(["video", "decode", str(clip), str(out / "frames"), "--skip-corrupt"])
    stdout, err = capsys.readouterr()
    assert rc == 0, err
    assert_clean(err, out, before, [src])
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["frames"] == N - 1 and report["skipped"] == 1
    assert len(list((out / "frames").glob("frame_*.png"))) == N - 1


@pytest.mark.parametrize("case", ["empty-folder", "text-frame", "truncated-png", "mixed-sizes", "text.mp4", "png.mp4"])
def test_bad_source_clip_is_refused(
    case: str, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sandwich video encode`` of unusable sources: no frames, unreadable frames, files that are no video."""
    src, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(pristine / "frames", src / "frames")
    out.mkdir()
    frames, clip = src / "frames", src / "frames"
    first = sorted(frames.iterdir())[0]
    if case == "empty-folder":
        for f in frames.iterdir():
            f.unlink()
    elif case == "text-frame":
        first.write_text("not a png")
    elif case == "truncated-png":
        first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    elif case == "mixed-sizes":
        write_image(first, smooth_image(H + 2, W))
    else:
        clip = src / "clip.mp4"
        clip.write_bytes(b"not a video\n" * 20 if case == "text.mp4" else first.read_bytes())
    assert_refused(main, _argv("encode", clip, out), capsys, [src], out)


@pytest.mark.parametrize(
    ("command", "output"),
    [
        ("encode", "x.avi"),
        ("encode", "x.png"),
        ("encode", "frames"),  # video encode writes .mp4 only
        ("decode", "x.avi"),
        ("decode", "x.jpg"),  # decode writes a PNG folder or an .mp4
    ],
)
def test_wrong_output_extension_is_refused(
    command: str, output: str, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "sandwich.mp4" if command == "decode" else "plain.mp4"
    clip, src, out = _case(pristine, name, (pristine / name).read_bytes(), tmp_path)
    argv = _argv(command, clip, out)
    argv[3] = str(out / output)
    assert_refused(main, argv, capsys, [src], out)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(("command", "name"), CLIPS)
def test_output_may_never_be_the_input(
    command: str, name: str, force: bool, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip, src, out = _case(pristine, name, (pristine / name).read_bytes(), tmp_path)
    argv = _argv(command, clip, out)
    argv[3] = str(clip)
    assert_refused(main, argv + (["--force"] if force else []), capsys, [src], out)
