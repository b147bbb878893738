"""The installed ``sandwich`` / ``rerender`` console scripts on bad input, as a user runs them: exit code 2, the
one-line error last on stderr (everything a library printed at the C level included), no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fuzz_inputs import MUST_FAIL, assert_error_line, snapshot

from conftest import smooth_image
from neuralwrap.io.images import write_image
from neuralwrap.sandwich.inference.codec import load_pretrained

pytestmark = pytest.mark.timeout(120)


def _script(name: str) -> Path:
    path = Path(sys.executable).with_name(name)
    if not path.is_file():
        pytest.skip(f"console script {name} is not installed next to {sys.executable} (pip install -e .)")
    return path


def _run(argv: list[str], inputs: Path, out: Path) -> None:
    before = snapshot(inputs)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=100, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert_error_line(proc.stderr)
    assert snapshot(inputs) == before
    assert not any(out.iterdir()), list(out.iterdir())


def test_sandwich_decode_of_truncated_file(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    truncated = next(c for c in MUST_FAIL if c.name == "truncated")
    (src / "bad.jpg").write_bytes(truncated(load_pretrained("jpeg420").encode(smooth_image(64, 64), 30)))
    _run([str(_script("sandwich")), "decode", str(src / "bad.jpg"), str(out / "x.png")], src, out)


def test_rerender_capture_of_unregistrable_photos(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):  # noise: SfM runs and registers nothing (COLMAP's own log lines must stay hidden)
        write_image(src / f"p{i}.png", rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    _run([str(_script("rerender")), "capture", str(src), str(out / "work"), "--segmentation-model", "none"], src, out)
