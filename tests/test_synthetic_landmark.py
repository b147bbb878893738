"""neuralwrap.synthetic landmark generator: determinism, shapes, ground truth consistency."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.synthetic import look_at, make_landmark, write_landmark


@pytest.fixture(scope="module")
def tiny():
    return make_landmark(3, width=64, height=48, seed=3, max_people=3)


def test_shapes_and_determinism(tiny):
    again = make_landmark(3, width=64, height=48, seed=3, max_people=3)
    for a, b in zip(tiny.views, again.views):
        assert a.image.shape == (48, 64, 3) and a.image.dtype == np.uint8
        assert a.transient_mask.shape == (48, 64) and a.transient_mask.dtype == bool
        assert np.array_equal(a.image, b.image) and np.allclose(a.R, b.R)
    other = make_landmark(1, width=64, height=48, seed=4)
    assert not np.array_equal(other.views[0].image, tiny.views[0].image)


def test_ground_truth_projects_building_centre_into_view(tiny):
    for v in tiny.views:
        assert np.allclose(v.R @ v.R.T, np.eye(3), atol=1e-9)
        x = v.K @ (v.R @ np.array([0.0, 0.0, 2.6]) + v.t)
        u, w = x[:2] / x[2], (64, 48)
        assert x[2] > 0 and 0 <= u[0] < w[0] and 0 <= u[1] < w[1]
        assert (v.depth > 0).mean() > 0.3  # mostly building and ground, not sky


def test_look_at_convention():
    R, t = look_at(np.array([0.0, -10.0, 0.0]), np.zeros(3))
    assert np.allclose(R @ np.zeros(3) + t, [0, 0, 10])  # target straight ahead at z = 10
    assert np.allclose(R @ np.array([0.0, 0.0, 1.0]) + t, [0, -1, 10])  # world up = image up (-y)


def test_write_landmark(tmp_path, tiny):
    images = write_landmark(tiny, tmp_path)
    assert sorted(p.name for p in images.iterdir()) == [f"photo_{i:03d}.png" for i in range(3)]
    doc = json.loads((tmp_path / "ground_truth.json").read_text())
    assert len(doc["views"]) == 3 and set(doc["views"][0]["appearance"]) >= {"time_of_day", "haze"}


def test_bad_arguments():
    with pytest.raises(InputError):
        make_landmark(0)
