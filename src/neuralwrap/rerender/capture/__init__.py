"""Capture: photos → SfM (pycolmap) → undistortion → CPU densification → transient masks → deep framebuffers."""

from neuralwrap.rerender.capture.alignment import rotation_errors_deg, umeyama
from neuralwrap.rerender.capture.densify import (
    DensifyOptions,
    PointCloud,
    densify,
    plane_sweep_depth,
)
from neuralwrap.rerender.capture.inputs import PhotoInfo, scan_photos
from neuralwrap.rerender.capture.masks import (
    PERSON,
    DeepLabSegmenter,
    SegmenterUnavailable,
    mask_iou,
)
from neuralwrap.rerender.capture.pipeline import (
    STEPS,
    CaptureConfig,
    default_model_path,
    run_capture,
)
from neuralwrap.rerender.capture.sfm import (
    SfmOptions,
    SfmResult,
    SparseModel,
    load_sparse,
    run_sfm,
    undistort,
)
from neuralwrap.rerender.capture.splat import PointSplatter, SplatOutput, splat_points

__all__ = [
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
]
