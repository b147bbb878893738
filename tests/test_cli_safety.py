"""Safe by default (issue 18): no command writes over an input, outputs are checked before any work and written
atomically, model files are validated, inputs a model cannot carry are refused or announced. Each test fails on
the code before the fix (the commands exited 0 and overwrote their input, or wrote garbage)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.io import atomic_dir, check_output
from neuralwrap.sandwich import load_pretrained
from neuralwrap.sandwich.cli.main import build_parser, main
from neuralwrap.sandwich.config import SandwichConfig
from neuralwrap.sandwich.inference.codec import load_model_file, save_model_file
from neuralwrap.train.checkpoint import load_weights


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-q", *argv])
    err = capsys.readouterr().err.strip()
    return code, err


def _refused(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "photo.png"
    y, x = np.mgrid[0:48, 0:64]
    img = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).clip(0, 255).astype(np.uint8)
    Image.fromarray(img).save(path)
    return path


@pytest.fixture(scope="module")
def coded(photo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("coded") / "photo.jpg"
    out.write_bytes(load_pretrained("jpeg420").encode(np.asarray(Image.open(photo)), 30))
    return out


# -- outputs never overwrite inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_decode_refuses_output_that_is_its_input(
    coded: Path, tmp_path: Path, link: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "x.png"  # a name decode accepts, so only the input rule can refuse it
    src.write_bytes(coded.read_bytes())
    out = {"same": src, "symlink": tmp_path / "s.png", "hardlink": tmp_path / "h.png"}[link]
    if link == "symlink":
        out.symlink_to(src)
    elif link == "hardlink":
        os.link(src, out)
    before = _digest(src)
    code, err = _run(["decode", str(src), str(out), "--force"], capsys)
    _refused(code, err, "is the input")
    assert _digest(src) == before


def test_encode_refuses_its_input_even_with_force(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.jpg"
    src.write_bytes(photo.read_bytes())  # a PNG named .jpg: encode can read it, and the name suits the codec
    before = _digest(src)
    code, err = _run(["encode", str(src), str(src), "--model", "jpeg420", "--quality", "30", "--force"], capsys)
    _refused(code, err, "is the input")
    assert _digest(src) == before


def test_existing_output_needs_force(photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.jpg"
    out.write_bytes(b"keep me")
    argv = ["encode", str(photo), str(out), "--model", "jpeg420", "--quality", "30"]
    _refused(*_run(argv, capsys), "--force")
    assert out.read_bytes() == b"keep me"
    assert _run([*argv, "--force"], capsys)[0] == 0
    assert out.read_bytes()[:2] == b"\xff\xd8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jpg"]  # no temporary left


@pytest.mark.parametrize(
    "argv",
    [
        ["decode", "{coded}", "{out}.xyz"],
        ["decode", "{coded}", "{out}.jpg"],
        ["encode", "{photo}", "{out}.png", "--model", "jpeg420", "--quality", "30"],
    ],
)
def test_output_format_checked_before_work(
    argv: list[str], photo: Path, coded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filled = [a.format(photo=photo, coded=coded, out=tmp_path / "o") for a in argv]
    _refused(*_run(filled, capsys), "unsupported format")
    assert list(tmp_path.iterdir()) == []


# -- video: atomic folder output, corrupt frames -------------------------------------------------------------
@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clip")
    frames = root / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    base = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    for i in range(8):
        Image.fromarray(np.roll(base, 2 * i, axis=1)).save(frames / f"f{i:02d}.png")
    out = root / "c.mp4"
    assert (
        main(["-q", "video", "encode", str(frames), str(out), "--model", "jpeg444", "--qp", "30", "--fps", "24"]) == 0
    )
    return out


def test_video_refuses_output_that_is_its_input(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _digest(clip)
    _refused(*_run(["video", "decode", str(clip), str(clip), "--force"], capsys), "is the input")
    _refused(*_run(["video", "decode", str(clip), str(clip.parent), "--force"], capsys), "holds the input")
    assert _digest(clip) == before


def test_video_eval_refuses_to_report_into_its_input(clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = clip.parent / "frames"
    before = sorted(p.name for p in frames.iterdir())
    code, err = _run(["video", "eval", str(frames), "--model", "jpeg444", "--fps", "24", "--out", str(frames)], capsys)
    _refused(code, err, "is the input")
    assert sorted(p.name for p in frames.iterdir()) == before


def test_quiet_turns_the_progress_bar_off(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["video", "decode", str(clip), str(tmp_path / "loud")]) == 0
    assert "decode c.mp4" in capsys.readouterr().err
    assert main(["-q", "video", "decode", str(clip), str(tmp_path / "quiet")]) == 0
    assert "decode c.mp4" not in capsys.readouterr().err


def test_video_decode_replaces_folder_whole(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_00099.png").write_bytes(b"stale frame of an earlier run")
    _refused(*_run(["video", "decode", str(clip), str(out)], capsys), "--force")
    assert _run(["video", "decode", str(clip), str(out), "--force"], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:05d}.png" for i in range(8)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def _corrupt_middle_frame(clip: Path, dst: Path) -> None:
    """Overwrite bytes inside the payload of the 5th video packet (a real corruption of a real file)."""
    import av

    with av.open(str(clip)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
    pkt = sorted(packets, key=lambda p: p.pos)[4]
    data = bytearray(clip.read_bytes())
    start = int(pkt.pos) + 4
    data[start : start + max(8, pkt.size - 8)] = bytes(max(8, pkt.size - 8))
    dst.write_bytes(bytes(data))


def test_video_decode_lost_frame_is_an_error_and_old_output_survives(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.mp4"
    _corrupt_middle_frame(clip, bad)
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_00000.png").write_bytes(b"earlier result")
    code, err = _run(["video", "decode", str(bad), str(out), "--force"], capsys)
    _refused(code, err, "frame")
    assert sorted(p.name for p in out.iterdir()) == ["frame_00000.png"]  # untouched
    assert (out / "frame_00000.png").read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "frames"]  # no temporary folder left
    assert main(["-q", "video", "decode", str(bad), str(tmp_path / "skip"), "--skip-corrupt"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["skipped"] >= 1 and report["frames"] == 8 - report["skipped"]


def test_atomic_dir_interrupted_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_sigterm_removes_temporaries(tmp_path: Path) -> None:
    """A console command ended by SIGTERM unwinds like Ctrl-C: its temporary output is removed."""
    script = textwrap.dedent(f"""
        import os, signal
        from neuralwrap.cli_support import terminate_as_interrupt
        from neuralwrap.io import atomic_dir, atomic_path
        terminate_as_interrupt()
        try:
            with atomic_path({str(tmp_path / "f.mp4")!r}) as t, atomic_dir({str(tmp_path / "d")!r}) as d:
                t.write_bytes(b"partial"); (d / "x").write_bytes(b"partial")
                os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:
            raise SystemExit(130)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert list(tmp_path.iterdir()) == []


# -- model files are untrusted input -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def user_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped jpeg420 saved as a user's own model file under another name."""
    sc = load_pretrained("jpeg420")
    return save_model_file(tmp_path_factory.mktemp("model") / "mine.safetensors", sc.model.cpu(), "mine", "3")


def _crafted(
    user_model: Path, tmp_path: Path, edit: dict[str, object] | None = None, tensors: dict[str, object] | None = None
) -> Path:
    """A copy of ``user_model`` with its sandwich config edited and/or tensors replaced, its sidecar's sha256
    recomputed (as an attacker would: the hash guards against damage, not against a crafted file)."""
    from safetensors.numpy import load_file, save_file

    cfg = json.loads(user_model.with_suffix(".json").read_text())
    for dotted, value in (edit or {}).items():
        node = cfg["config"]
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    arrays = load_file(str(user_model))
    arrays.update(tensors or {})
    out = tmp_path / "crafted.safetensors"
    save_file(arrays, str(out))
    cfg["sha256"] = _digest(out)
    out.with_suffix(".json").write_text(json.dumps(cfg))
    return out


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"sandwich.code_channels": -3}, "code_channels"),
        ({"sandwich.post.unet_dec": [200000, 32]}, "post.unet_dec[0]"),
        ({"sandwich.codec": "mpeg1"}, "codec"),
        ({"sandwich.quality_range": [90, 10]}, "quality_range"),
        ({"sandwich.pre.mlp_layers": "2"}, "pre.mlp_layers"),
        ({"sandwich.post": [1, 2]}, "post"),
        ({"name": "a b;q=1"}, "name"),
    ],
)
def test_crafted_config_refused_naming_the_field(
    user_model: Path, tmp_path: Path, edit: dict[str, object], field: str
) -> None:
    path = _crafted(user_model, tmp_path, edit)
    try:
        load_model_file(path)
    except CheckpointError as exc:
        assert repr(field) in str(exc) or field in str(exc), exc
    else:
        pytest.fail("crafted model file was accepted")


def test_nonfinite_or_misshaped_weights_refused(
    user_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], photo: Path
) -> None:
    arrays = load_weights(user_model).state_dict
    key = next(k for k, v in arrays.items() if v.ndim == 4)
    nan = arrays[key].numpy().copy()
    nan.flat[0] = np.nan
    bad = _crafted(user_model, tmp_path, tensors={key: nan})
    code, err = _run(
        ["encode", str(photo), str(tmp_path / "o.jpg"), "--model-file", str(bad), "--quality", "30"], capsys
    )
    _refused(code, err, "NaN", key)
    assert not (tmp_path / "o.jpg").exists()
    wrong = _crafted(user_model, tmp_path, tensors={key: np.zeros((1, 1, 1, 1), np.float32)})
    with pytest.raises(CheckpointError, match="shape"):
        load_model_file(wrong)


def test_config_bounds_apply_to_code_too() -> None:
    with pytest.raises(InputError, match="in_channels"):
        SandwichConfig(in_channels=0)
    assert SandwichConfig().to_dict()["codec"] == "jpeg"  # the defaults are valid


def test_user_model_file_round_trip(
    user_model: Path, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coded, out = tmp_path / "m.jpg", tmp_path / "m.png"
    assert _run(["encode", str(photo), str(coded), "--model-file", str(user_model), "--quality", "40"], capsys)[0] == 0
    _refused(*_run(["decode", str(coded), str(out)], capsys), "--model-file")  # not shipped: needs the file
    assert _run(["decode", str(coded), str(out), "--model-file", str(user_model)], capsys)[0] == 0
    assert np.asarray(Image.open(out)).shape == (48, 64, 3)


# -- inputs a model cannot carry ------------------------------------------------------------------------------
def test_quality_outside_trained_range_refused(photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(
        *_run(["encode", str(photo), str(tmp_path / "o.jpg"), "--model", "jpeg420", "--quality", "99"], capsys), "5..95"
    )


def test_alpha_refused_unless_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "rgba.png"
    Image.fromarray(np.full((32, 32, 4), 200, np.uint8)).save(src)
    argv = ["encode", str(src), str(tmp_path / "o.jpg"), "--model", "jpeg420", "--quality", "30"]
    _refused(*_run(argv, capsys), "alpha", "--alpha drop")
    assert _run([*argv, "--alpha", "drop"], capsys)[0] == 0


@pytest.mark.parametrize("channels", [1, 3])
def test_sixteen_bit_input_is_announced(channels: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Announced once: by the model for a 16-bit gray image, by the command for a 16-bit RGB PNG (Pillow reads that
    as 8 bits without saying so)."""
    import cv2

    src = tmp_path / "deep.png"
    assert cv2.imwrite(str(src), np.full((32, 32, channels), 40000, np.uint16).squeeze())
    code, err = _run(["encode", str(src), str(tmp_path / "o.jpg"), "--model", "jpeg420", "--quality", "30"], capsys)
    assert code == 0 and "16-bit" in err and "8 bits" in err, err
    assert err.count("16-bit") == 1, err  # said once, not by both the command and the model


@pytest.mark.parametrize(
    ("name", "model", "words"),
    [("x.exr", "jpeg420", ("HDR", "hdr-jpeg")), ("x.png", "hevc444-video", ("sandwich video encode",))],
)
def test_wrong_kind_names_the_right_tool(
    name: str, model: str, words: tuple[str, ...], photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / name
    src.write_bytes(photo.read_bytes())
    _refused(*_run(["encode", str(src), str(tmp_path / "o.jpg"), "--model", model, "--quality", "30"], capsys), *words)


def test_every_option_has_help() -> None:
    import argparse

    def walk(parser: argparse.ArgumentParser, where: str) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{where} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
        return missing

    assert walk(build_parser(), "sandwich") == []


def test_check_output_rules(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(b"x")
    with pytest.raises(InputError, match="is the input"):
        check_output(tmp_path / "." / "in.png", [src], force=True)
    assert check_output(tmp_path / "new.png", [src], suffixes=(".png",)) == tmp_path / "new.png"
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        check_output(tmp_path / "dir", [src], force=True)
