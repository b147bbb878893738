"""Bad input to ``rerender capture``: clear InputError messages and nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import smooth_image
from neuralwrap.errors import InputError
from neuralwrap.io.images import write_image
from neuralwrap.rerender.capture.inputs import scan_photos
from neuralwrap.rerender.cli import main


def _photos(folder: Path, n: int, size: tuple[int, int] = (96, 128)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_image(folder / f"p{i}.png", smooth_image(*size, seed=i))
    return folder


def _capture_fails(tmp_path: Path, photos: Path, needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    assert main(["capture", str(photos), str(work), "--segmentation-model", "none"]) == 2
    assert needle in capsys.readouterr().err
    assert not work.exists(), "nothing may be written for bad input"


def test_missing_and_empty_folder(tmp_path, capsys):
    with pytest.raises(InputError, match="not found"):
        scan_photos(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    _capture_fails(tmp_path, tmp_path / "empty", "no photos found", capsys)


def test_non_images_are_ignored_or_rejected(tmp_path, capsys):
    d = _photos(tmp_path / "in", 3)
    (d / "README.md").write_text("not a photo")
    assert [p.name for p in scan_photos(d)] == ["p0.png", "p1.png", "p2.png"]
    (d / "broken.jpg").write_bytes(b"this is text, not a jpeg")
    _capture_fails(tmp_path, d, "broken.jpg: not a readable image", capsys)


def test_duplicates_and_tiny(tmp_path, capsys):
    d = _photos(tmp_path / "in", 3)
    shutil.copy(d / "p1.png", d / "p1_copy.png")
    write_image(d / "small.png", smooth_image(20, 30))
    with pytest.raises(InputError) as err:
        scan_photos(d)
    assert "p1_copy.png: duplicate of p1.png" in str(err.value)
    assert "small.png: too small (30x20" in str(err.value)


def test_unrelated_scenes_fail_sfm_cleanly(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # unrelated random-noise "scenes": nothing matches
        write_image(d / f"u{i}.png", rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    work = tmp_path / "work"
    assert main(["capture", str(d), str(work), "--segmentation-model", "none"]) == 2
    err = capsys.readouterr().err
    assert "could be registered" in err and "unrelated" in err
    assert not work.exists(), "a run that fails in its first step leaves nothing"
