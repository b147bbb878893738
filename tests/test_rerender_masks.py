"""Transient masks: DeepLabv3 tflite segmenter (skipped without shared data) and IoU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.rerender.capture.masks import (
    PERSON,
    VOC_LABELS,
    DeepLabSegmenter,
    SegmenterUnavailable,
    mask_iou,
)

MODEL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "models" / "deeplabv3_mnv2_pascal_quant.tflite"


def test_labels_and_iou():
    assert VOC_LABELS[PERSON] == "person" and len(VOC_LABELS) == 21
    a = np.zeros((4, 4), bool)
    b = a.copy()
    assert mask_iou(a, b) == 1.0
    a[:2], b[1:3] = True, True
    assert mask_iou(a, b) == pytest.approx(4 / 12)


def test_missing_model_is_a_clear_skip(tmp_path):
    with pytest.raises(SegmenterUnavailable, match="not found"):
        DeepLabSegmenter(tmp_path / "missing.tflite")


@pytest.mark.skipif(not MODEL.is_file(), reason=f"segmentation model not found at {MODEL} (needs ../shared/data)")
def test_segmenter_shapes():
    seg = DeepLabSegmenter(MODEL)
    photo = np.random.default_rng(0).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    classes = seg(photo)
    assert classes.shape == (60, 90) and classes.dtype == np.uint8 and classes.max() <= 20
    with pytest.raises(InputError):
        seg(photo[..., 0])
