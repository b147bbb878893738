"""Transient masks: PASCAL VOC semantic segmentation with the DeepLabv3-MobileNetV2 tflite model (ai-edge-litert).

The photo is resized (aspect kept) so its longer side is 513 px, padded to 513×513, segmented, and the
class map is cropped and resized back (nearest) to the photo size. Person = 15.

Example::

    seg = DeepLabSegmenter(model_path)
    classes = seg(photo)            # (H, W) uint8 class ids
    transient = classes == PERSON
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from neuralwrap.errors import InputError, NeuralwrapError
from neuralwrap.io.images import error_text

__all__ = ["PERSON", "TRANSIENT_CLASSES", "VOC_LABELS", "DeepLabSegmenter", "SegmenterUnavailable", "mask_iou"]

log = logging.getLogger(__name__)

#: PASCAL VOC class index of "person"
PERSON: int = 15
#: classes treated as transient occluders (people; vehicles and animals could be added)
TRANSIENT_CLASSES: tuple[int, ...] = (PERSON,)
#: the 21 PASCAL VOC labels, index = class id
VOC_LABELS: list[str] = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]


class SegmenterUnavailable(NeuralwrapError):
    """The tflite runtime or the model file is missing; masking must be skipped (message says why)."""


class DeepLabSegmenter:
    """DeepLabv3 (uint8-quantised tflite, 513×513 input) run with ai-edge-litert on the CPU."""

    def __init__(self, model_path: str | os.PathLike[str], *, num_threads: int = 1) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise SegmenterUnavailable(f"segmentation model not found: {path}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise SegmenterUnavailable("the tflite runtime is not installed (pip install ai-edge-litert)") from exc
        try:
            self._it = Interpreter(model_path=str(path), num_threads=num_threads)
            self._it.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise SegmenterUnavailable(f"cannot load {path} with ai-edge-litert: {error_text(exc)}") from exc
        self._in = self._it.get_input_details()[0]
        self._out = self._it.get_output_details()[0]
        self.size = int(self._in["shape"][1])

    def __call__(self, photo: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB photo → ``(H, W)`` uint8 class map (VOC ids 0…20)."""
        if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
            raise InputError(f"segmenter needs an (H, W, 3) uint8 photo, got {photo.shape} {photo.dtype}")
        h, w = photo.shape[:2]
        s = self.size / max(h, w)
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        canvas = np.zeros((self.size, self.size, 3), dtype=np.uint8)
        canvas[:nh, :nw] = np.asarray(Image.fromarray(photo).resize((nw, nh), Image.BILINEAR))
        self._it.set_tensor(self._in["index"], canvas[None].astype(self._in["dtype"]))
        self._it.invoke()
        out = np.asarray(self._it.get_tensor(self._out["index"]))[0, :nh, :nw].astype(np.uint8)
        return np.asarray(Image.fromarray(out).resize((w, h), Image.NEAREST))


def mask_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean ``(H, W)`` masks; 1.0 when both are empty."""
    union = np.logical_or(pred, truth).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, truth).sum() / union)
