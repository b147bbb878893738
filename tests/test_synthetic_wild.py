"""The in-the-wild synthetic collection (``rerender make-landmark``): layout, ground truth, determinism, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.io.images import read_image
from neuralwrap.rerender.cli import main
from neuralwrap.synthetic.wild import KINDS, WildOptions, make_wild_landmark

TINY = WildOptions(photos=6, seed=0, long_sides=(96,), max_transients=3)


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    root = tmp_path_factory.mktemp("wild")
    return root, make_wild_landmark(root, TINY)


def test_layout_and_ground_truth(wild):
    root, doc = wild
    assert doc == json.loads((root / "ground_truth.json").read_text())
    views = doc["views"]
    assert [v["name"] for v in views] == [f"photo_{i:04d}.jpg" for i in range(6)]
    assert sum(doc["counts"].values()) == 6 and set(doc["counts"]) == set(KINDS)
    assert doc["counts"]["other_place"] >= 1 and doc["counts"]["closeup"] >= 1  # rejection is always tested
    registrable = {v["name"] for v in views if v["registrable"]}
    assert doc["test"] and set(doc["test"]) <= registrable
    assert (root / "test.txt").read_text().split() == doc["test"]
    for v in views:
        stem = v["name"][:-4]
        photo = read_image(root / "images" / v["name"])
        assert photo.shape == (v["height"], v["width"], 3) and max(photo.shape[:2]) == 96
        for sub in ("clean", "reference"):
            assert read_image(root / sub / f"{stem}.png").shape == photo.shape
        assert read_image(root / "masks" / f"{stem}.png", mode="L").shape[:2] == photo.shape[:2]
        K, R = np.asarray(v["K"]), np.asarray(v["R"])
        assert K.shape == (3, 3) and np.allclose(R @ R.T, np.eye(3), atol=1e-9)
        if v["kind"] == "landmark":  # the building is in front of the camera, near the frame
            x = K @ (R @ np.array([0.0, 0.0, 2.6]) + np.asarray(v["t"]))
            u = x[:2] / x[2]
            assert x[2] > 0 and -0.5 * v["width"] < u[0] < 1.5 * v["width"]


def test_clean_view_differs_from_photo_only_at_transients(wild):
    root, doc = wild
    checked = 0
    for v in doc["views"]:
        stem = v["name"][:-4]
        mask = read_image(root / "masks" / f"{stem}.png", mode="L")[:, :, 0] > 127
        photo = read_image(root / "images" / v["name"]).astype(np.float32)
        diff = np.abs(photo - read_image(root / "clean" / f"{stem}.png")).mean(-1)
        assert np.median(diff[~mask]) < 6  # JPEG noise (and transient shadows) only
        if mask.sum() >= 20:
            assert diff[mask].mean() > np.median(diff[~mask]) + 5
            checked += 1
    assert checked >= 1


def test_deterministic_and_seeded(wild, tmp_path):
    root, _ = wild
    again = make_wild_landmark(tmp_path / "a", WildOptions(photos=2, seed=0, long_sides=(96,), max_transients=3))
    other = make_wild_landmark(tmp_path / "b", WildOptions(photos=2, seed=1, long_sides=(96,), max_transients=3))
    a = read_image(tmp_path / "a" / "reference" / "photo_0000.png")
    b = read_image(tmp_path / "b" / "reference" / "photo_0000.png")
    assert not np.array_equal(a, b) and again["views"][0]["K"] != other["views"][0]["K"]
    third = make_wild_landmark(tmp_path / "c", WildOptions(photos=2, seed=0, long_sides=(96,), max_transients=3))
    assert third == again
    assert (tmp_path / "c" / "images" / "photo_0001.jpg").read_bytes() == (
        tmp_path / "a" / "images" / "photo_0001.jpg"
    ).read_bytes()


def test_bad_options(tmp_path):
    with pytest.raises(InputError):
        make_wild_landmark(tmp_path / "x", WildOptions(photos=0))
    with pytest.raises(InputError):
        make_wild_landmark(tmp_path / "x", WildOptions(photos=2, long_sides=()))


def test_cli_make_landmark(tmp_path, capsys):
    out = tmp_path / "scene"
    assert main(["make-landmark", str(out), "--photos", "2", "--long-side", "64", "-q"]) == 0
    assert "wrote 2 photos" in capsys.readouterr().out
    assert len(list((out / "images").iterdir())) == 2 and not (tmp_path / "scene.partial").exists()
    assert main(["make-landmark", str(out), "--photos", "2", "--long-side", "64", "-q"]) == 2  # exists: --force
    assert "--force" in capsys.readouterr().err
    assert main(["make-landmark", str(out), "--photos", "1", "--long-side", "64", "-q", "--force"]) == 0
    assert len(list((out / "images").iterdir())) == 1
