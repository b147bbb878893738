"""End-to-end capture on a small synthetic landmark: SfM accuracy, dataset, resume, CLI."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from neuralwrap.rerender import RerenderDataset
from neuralwrap.rerender.capture import (
    CaptureConfig,
    DensifyOptions,
    SfmOptions,
    load_sparse,
    rotation_errors_deg,
    run_capture,
)
from neuralwrap.rerender.cli import main
from neuralwrap.synthetic import make_landmark, write_landmark

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODEL = SHARED_DATA / "models" / "deeplabv3_mnv2_pascal_quant.tflite"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """12 photos (320×240) over a 100° arc, one shared camera: ≈15 s to render on one core."""
    root = tmp_path_factory.mktemp("landmark")
    s = make_landmark(12, width=320, height=240, seed=1, arc_deg=100, focal_jitter=0.0)
    return s, write_landmark(s, root)


def _config(seg: str = "none") -> CaptureConfig:
    # the same settings as the CLI flags in test_cli_capture_prints_summary, so that run reuses every step
    return CaptureConfig(
        sfm=SfmOptions(single_camera=True), image_size=320, segmentation_model=seg, densify=DensifyOptions(max_size=128)
    )


@pytest.fixture(scope="module")
def captured(scene, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    t0 = time.perf_counter()
    summary = run_capture(scene[1], work, _config(str(MODEL) if MODEL.is_file() else "none"))
    return work, summary, time.perf_counter() - t0


def test_sfm_registers_and_rotations_are_accurate(scene, captured):
    s, _ = scene
    work, summary, _ = captured
    reg = summary["sfm"]["registered"]
    assert len(reg) / len(s.views) >= 0.9
    model = load_sparse(work / "undistort" / "sparse")
    gt = {f"{v.name}.png": v for v in s.views}
    names = sorted(model.cameras)
    err = rotation_errors_deg(
        np.stack([model.cameras[n].R for n in names]),
        np.stack([model.cameras[n].center for n in names]),
        np.stack([gt[n].R for n in names]),
        np.stack([gt[n].center for n in names]),
    )
    assert err.max() < 2.0, err
    assert summary["sfm"]["mean_reprojection_error"] < 1.0


def test_dataset_written_and_readable(captured):
    work, summary, _ = captured
    ds = RerenderDataset(work / "dataset")
    assert len(ds) == len(summary["sfm"]["registered"])
    f = ds[0]
    assert f.photo.shape == f.color.shape == (f.camera.height, f.camera.width, 3)
    assert (f.depth > 0).mean() > 0.2 and f.normals is not None
    assert summary["densify"]["dense_points"] > 10 * summary["densify"]["sparse_points"]
    if MODEL.is_file():
        assert f.classes is not None and f.classes.shape == f.depth.shape
    else:
        assert "skipped" in summary["masks"]


def test_rerun_reuses_and_interrupted_step_resumes(scene, captured):
    work, summary, first = captured
    t0 = time.perf_counter()
    again = run_capture(scene[1], work, _config(summary and ("none" if "skipped" in summary["masks"] else str(MODEL))))
    assert time.perf_counter() - t0 < max(2.0, first / 5) and again["sfm"] == summary["sfm"]
    # simulate a run killed during the dataset step: the step is gone and a stale .tmp is left behind
    shutil.move(work / "dataset", work / "dataset.tmp")
    (work / "dataset.tmp" / "step.json").unlink()
    resumed = run_capture(scene[1], work, _config("none" if "skipped" in summary["masks"] else str(MODEL)))
    assert resumed["dataset"]["frames"] == summary["dataset"]["frames"]
    assert not (work / "dataset.tmp").exists() and (work / "dataset" / "dataset.json").is_file()
    assert set(resumed["timings_s"]) == set(summary["timings_s"])


def test_changed_settings_recompute_later_steps(scene, captured, tmp_path):
    work, _, _ = captured
    copy = tmp_path / "w"
    shutil.copytree(work, copy)
    cfg = _config("none")
    cfg.splat_radius = 2
    before = json.loads((copy / "sfm" / "step.json").read_text())
    out = run_capture(scene[1], copy, cfg)
    assert json.loads((copy / "sfm" / "step.json").read_text()) == before  # sfm reused
    assert out["dataset"]["frames"] > 0


def test_cli_capture_prints_summary(scene, captured, capsys):
    work, summary, _ = captured
    seg = "none" if "skipped" in summary["masks"] else str(MODEL)
    t0 = time.perf_counter()
    rc = main(
        [
            "capture",
            str(scene[1]),
            str(work),
            "--single-camera",
            "--image-size",
            "320",
            "--dense-size",
            "128",
            "--segmentation-model",
            seg,
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "registered" in out and "capture.json" in out
    assert time.perf_counter() - t0 < 5.0  # every step reused
