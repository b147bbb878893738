"""``rerender capture`` on photo folders with nothing to register, and ``rerender render / eval / train`` on
empty, bogus or damaged work dirs and scene bundles: each refused cleanly, no work dir or output left."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fuzz_inputs import MUST_FAIL, Corruption, assert_refused

import neuralwrap.rerender
from conftest import smooth_image
from neuralwrap.codecs import get_codec
from neuralwrap.io.images import write_image
from neuralwrap.rerender.cli import main

pytestmark = pytest.mark.timeout(120)

BUNDLE = Path(neuralwrap.rerender.__file__).parent / "pretrained" / "synthetic"


def _noise(d: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(3):  # unrelated noise: SIFT finds nothing to match
        write_image(d / f"noise{i}.png", rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))


def _copies(d: Path) -> None:
    write_image(d / "a.png", smooth_image(96, 128, seed=1))
    shutil.copy(d / "a.png", d / "a_copy.png")
    shutil.copy(d / "a.png", d / "a_again.png")


def _two(d: Path) -> None:
    for i in range(2):
        write_image(d / f"p{i}.png", smooth_image(96, 128, seed=i))


def _truncated(d: Path) -> None:
    for i in range(3):
        data = get_codec("jpeg").encode(smooth_image(96, 128, seed=i), quality=80)
        (d / f"p{i}.jpg").write_bytes(data[: len(data) // 2] if i == 1 else data)


def _not_photos(d: Path) -> None:
    (d / "notes.txt").write_text("no photos here")
    (d / "clip.mp4").write_bytes(b"\0" * 100)


def _tiny(d: Path) -> None:
    for i in range(3):
        write_image(d / f"t{i}.png", smooth_image(20, 30, seed=i))


def _empty_files(d: Path) -> None:
    for i in range(3):
        (d / f"e{i}.jpg").write_bytes(b"")


FOLDERS: dict[str, Callable[[Path], None]] = {
    "empty": lambda d: None,
    "not-photos": _not_photos,
    "noise": _noise,
    "copies-of-one-photo": _copies,
    "two-photos": _two,
    "truncated-jpeg": _truncated,
    "tiny": _tiny,
    "empty-files": _empty_files,
}


@pytest.mark.parametrize("case", FOLDERS)
def test_capture_of_unusable_folder_is_refused(case: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    FOLDERS[case](photos)
    line = assert_refused(main, ["capture", photos, out / "work", "--segmentation-model", "none"], capfd, [photos], out)
    assert str(photos) in line or "registered" in line


def _bundle(tmp_path: Path) -> Path:
    dst = tmp_path / "in" / "bundle"
    shutil.copytree(BUNDLE, dst)
    return dst


@pytest.mark.parametrize("corruption", MUST_FAIL[:4], ids=str)
@pytest.mark.parametrize("file", ["scene.safetensors", "model.safetensors", "scene.json", "model.json"])
def test_render_of_damaged_bundle_is_refused(
    file: str, corruption: Corruption, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bundle = _bundle(tmp_path)
    (bundle / file).write_bytes(corruption((bundle / file).read_bytes()))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(main, ["render", bundle, "--out", out / "r", "--frames", "2"], capfd, [bundle], out)


SCENE_EDITS: dict[str, Callable[[dict], object]] = {
    "not-object": lambda m: [m],
    "empty-object": lambda m: {},
    "codes-not-object": lambda m: {**m, "codes": [1, 2]},
    "cameras-garbage": lambda m: {**m, "cameras": [{"name": 1}]},
    "negative-radius": lambda m: {**m, "splat_radius": -5},
    "depth-scale-nan": lambda m: {**m, "depth_scale": float("nan")},
}


@pytest.mark.parametrize("edit", SCENE_EDITS)
def test_render_of_crafted_scene_json_is_refused(edit: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(tmp_path)
    meta = json.loads((bundle / "scene.json").read_text())
    (bundle / "scene.json").write_text(json.dumps(SCENE_EDITS[edit](meta)))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(main, ["render", bundle, "--out", out / "r", "--frames", "2"], capfd, [bundle], out)


def _work_dir(tmp_path: Path, kind: str) -> Path:
    work = tmp_path / "in" / "work"
    work.mkdir(parents=True)
    if kind == "bogus":
        (work / "dataset").mkdir()
        (work / "dataset" / "dataset.json").write_text("{not json")
        (work / "model.json").write_text("[]")
        (work / "model.safetensors").write_bytes(b"\0" * 32)
    return work


@pytest.mark.parametrize("kind", ["empty", "bogus"])
@pytest.mark.parametrize("command", ["render", "eval", "train"])
def test_view_commands_on_unusable_work_dir(
    command: str, kind: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    work = _work_dir(tmp_path, kind)
    out = tmp_path / "out"
    out.mkdir()
    argv = {
        "render": ["render", work, "--out", out / "r", "--frames", "2"],
        "eval": ["eval", work, "--model", work, "--out", out / "e"],
        "train": ["train", work, "--out", out / "t", "--steps", "1", "1", "1"],
    }[command]
    assert_refused(main, argv, capfd, [work], out)
