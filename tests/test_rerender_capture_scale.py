"""Capture options for large collections on a tiny in-the-wild scene: global mapper, retrieval and sequential
pairs, the registration report, streaming densification, and bad option values."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.io.images import read_image
from neuralwrap.rerender.capture import CaptureConfig, DensifyOptions, SfmOptions, load_sparse, run_capture
from neuralwrap.rerender.capture.sfm import choose_mapper, choose_matching, run_sfm
from neuralwrap.rerender.cli import main
from neuralwrap.synthetic import make_landmark, write_landmark
from neuralwrap.synthetic.wild import WildOptions, make_wild_landmark

# 10 photos (8 of the landmark, one of another building, one close-up of the paving), 224 px, 50° of arc
densify_module = importlib.import_module("neuralwrap.rerender.capture.densify")  # the package re-exports the function

SCENE = WildOptions(photos=10, seed=0, long_sides=(224,), arc_deg=50, focal_range=(0.8, 1.0), max_transients=2)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("wild")
    doc = make_wild_landmark(root, SCENE)
    return root / "images", {v["name"]: v["kind"] for v in doc["views"]}


@pytest.fixture(scope="module")
def captured(scene, tmp_path_factory):
    """``rerender capture --mapper global --pairs retrieval`` (sparse points, no masks) and its printout."""
    work = tmp_path_factory.mktemp("cap") / "work"
    args = ["capture", str(scene[0]), str(work), "--mapper", "global", "--pairs", "retrieval", "--no-dense"]
    rc = main([*args, "--image-size", "224", "--segmentation-model", "none", "-q"])
    return rc, work


def test_global_retrieval_registers_landmark_and_rejects_the_rest(scene, captured, capsys):
    rc, work = captured
    kinds = scene[1]
    assert rc == 0
    summary = json.loads((work / "capture.json").read_text())
    reg = summary["registration"]
    assert (reg["mapper"], reg["pairs"], reg["total"]) == ("global", "retrieval", 10)
    landmark = {n for n, k in kinds.items() if k == "landmark"}
    rejected = set(reg["rejected"])
    assert {n for n, k in kinds.items() if k != "landmark"} <= rejected  # other place and close-up
    assert len(landmark - rejected) >= 6 and reg["registered"] == 10 - len(rejected)
    assert summary["sfm"]["matched_pairs"] > 0 and (work / "sfm" / "vocabulary.bin").is_file()
    assert len(load_sparse(work / "undistort" / "sparse").cameras) == reg["registered"]


def test_sequential_pairs_work(tmp_path):
    """An ordered sequence (neighbouring file names overlap): sequential pairs register it with either mapper."""
    images = write_landmark(make_landmark(8, width=224, height=168, seed=1, arc_deg=60, focal_jitter=0.0), tmp_path)
    names = sorted(p.name for p in images.iterdir())
    res = run_sfm(
        images, names, tmp_path / "sfm", SfmOptions(pairs="sequential", sequential_overlap=3, mapper="global")
    )
    assert res.matching == "sequential" and res.mapper == "global" and len(res.registered) >= 7
    assert res.matched_pairs < 8 * 7 // 2  # not every pair


def test_auto_choices_by_count():
    o = SfmOptions()
    assert [choose_matching(n, o) for n in (60, 61)] == ["exhaustive", "retrieval"]
    assert [choose_mapper(n, o) for n in (400, 401)] == ["incremental", "global"]
    assert choose_mapper(5, SfmOptions(mapper="global")) == "global"


def test_bad_values_fail_before_writing(scene, tmp_path, capsys):
    for flag, value in (("--mapper", "glomap"), ("--pairs", "vocab")):
        with pytest.raises(SystemExit) as exc:
            main(["capture", str(scene[0]), str(tmp_path / "w"), flag, value])
        assert exc.value.code == 2
        assert "invalid choice" in capsys.readouterr().err.strip().splitlines()[-1]
    for opts in (SfmOptions(mapper="glomap"), SfmOptions(pairs="vocab")):
        with pytest.raises(InputError, match="glomap|vocab"):
            run_capture(scene[0], tmp_path / "w", CaptureConfig(sfm=opts))
    assert not (tmp_path / "w").exists()


def test_densify_streams_with_a_small_cache(captured, monkeypatch):
    _, work = captured
    model = load_sparse(work / "undistort" / "sparse")
    folder = work / "undistort" / "images"
    opts = DensifyOptions(max_size=96, num_depths=16)
    full = densify_module.densify(model, {n: read_image(folder / n) for n in model.cameras}, opts)
    monkeypatch.setattr(densify_module, "CACHE_SIZE", 2)
    loads = []

    def load(name):
        loads.append(name)
        return read_image(folder / name)

    streamed = densify_module.densify(model, load, opts)
    assert len(loads) > len(model.cameras)  # photos were dropped and read again
    assert np.array_equal(full.xyz, streamed.xyz) and np.array_equal(full.rgb, streamed.rgb)
