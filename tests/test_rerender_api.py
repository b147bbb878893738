"""Public API snapshot of neuralwrap.rerender and rerender.capture (names may only be added on purpose;
neuralwrap.synthetic is in tests/expected/api.json)."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "neuralwrap.rerender": [
        "FORMAT_VERSION",
        "Frame",
        "PinholeCamera",
        "RerenderDataset",
        "write_frame",
        "write_index",
    ],
    "neuralwrap.rerender.capture": [
        "PERSON",
        "STEPS",
        "CaptureConfig",
        "DeepLabSegmenter",
        "DensifyOptions",
        "PhotoInfo",
        "PointCloud",
        "PointSplatter",
        "SegmenterUnavailable",
        "SfmOptions",
        "SfmResult",
        "SparseModel",
        "SplatOutput",
        "default_model_path",
        "densify",
        "load_sparse",
        "mask_iou",
        "plane_sweep_depth",
        "rotation_errors_deg",
        "run_capture",
        "run_sfm",
        "scan_photos",
        "splat_points",
        "umeyama",
        "undistort",
    ],
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(EXPECTED[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} listed in __all__ but missing"
