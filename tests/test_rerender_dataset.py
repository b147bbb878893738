"""Deep-framebuffer dataset: write/read round trip and format checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.rerender import (
    FORMAT_VERSION,
    Frame,
    PinholeCamera,
    RerenderDataset,
    write_frame,
    write_index,
)


def _frame(name: str, with_extras: bool) -> Frame:
    rng = np.random.default_rng(0)
    h, w = 12, 16
    cam = PinholeCamera(w, h, 20.0, 21.0, 8.0, 6.0, np.eye(3), np.array([0.1, 0.2, 0.3]))
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return Frame(
        name,
        cam,
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        rng.uniform(0, 9, (h, w)).astype(np.float32),
        n if with_extras else None,
        rng.integers(0, 21, (h, w), dtype=np.uint8) if with_extras else None,
    )


def test_round_trip(tmp_path):
    frames = [_frame("a.jpg", True), _frame("b.png", False)]
    write_index(tmp_path, [write_frame(tmp_path, f) for f in frames], labels=["background"], summary={"x": 1})
    ds = RerenderDataset(tmp_path)
    assert len(ds) == 2 and ds.names == ["a.jpg", "b.png"]
    a, b = ds[0], ds[1]
    f = frames[0]
    assert np.array_equal(a.photo, f.photo) and np.array_equal(a.color, f.color)
    assert np.array_equal(a.depth, f.depth) and np.array_equal(a.classes, f.classes)
    assert np.abs(a.normals - f.normals).max() < 0.01
    assert np.allclose(a.camera.K, f.camera.K) and np.allclose(a.camera.t, f.camera.t)
    assert b.normals is None and b.classes is None
    assert ds.index["summary"] == {"x": 1}


def test_shape_mismatch_and_version(tmp_path):
    f = _frame("a.jpg", False)
    f.depth = f.depth[:5]
    with pytest.raises(InputError, match="like its camera"):
        write_frame(tmp_path, f)
    write_index(tmp_path, [])
    doc = json.loads((tmp_path / "dataset.json").read_text())
    doc["format_version"] = FORMAT_VERSION + 1
    (tmp_path / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="format_version"):
        RerenderDataset(tmp_path)
    with pytest.raises(InputError, match="no dataset.json"):
        RerenderDataset(tmp_path / "missing")
