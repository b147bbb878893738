"""int8 post-processors: onnxruntime's static QDQ quantisation (int8 weights per channel, uint8 activations),
activation ranges calibrated on real decoded code images of the shipped demo photos at several qualities.

Dynamic quantisation (weights only) is not offered: onnxruntime runs its ConvInteger 6–10× slower than the float
graph on CPU (docs/BENCHMARKS.md, "ONNX decoder"). Static int8 is about 2.6× faster and stays ≥ 43 dB from the float
output, but costs up to 0.5 dB against the source up to quality 80 and 1–1.4 dB at 95: an option, never the default.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from neuralwrap.codecs import get_codec
from neuralwrap.errors import UnsupportedOptionError
from neuralwrap.io.images import to_float
from neuralwrap.resources import package_file
from neuralwrap.sandwich.inference.codec import SandwichCodec

__all__ = ["CALIBRATION_QUALITIES", "calibration_samples", "quantize_post"]

#: qualities each calibration photo is coded at (activation ranges differ between low and high q)
CALIBRATION_QUALITIES = (10, 30, 50, 70, 90)


class _Reader:
    """onnxruntime ``CalibrationDataReader``: one feed dict per call, then None."""

    def __init__(self, samples: Sequence[dict[str, np.ndarray]]) -> None:
        self._it = iter(samples)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def _demo_photos() -> list[np.ndarray]:
    """The photos shipped with the package (``sandwich/demo_images``), cropped to multiples of 16."""
    folder = package_file("neuralwrap.sandwich", "demo_images")
    photos = []
    for path in sorted(folder.glob("*.png")):
        img = np.asarray(Image.open(path).convert("RGB"))
        photos.append(img[: img.shape[0] // 16 * 16, : img.shape[1] // 16 * 16])
    return photos


def calibration_samples(
    sc: SandwichCodec, photos: Sequence[np.ndarray] | None = None, qualities: Sequence[int] = CALIBRATION_QUALITIES
) -> list[dict[str, np.ndarray]]:
    """Post-processor feeds ``{"decoded", "quality"}``: each photo (default: the demo photos) coded by ``sc`` with
    the real codec at each quality in the model's range, and decoded."""
    lo, hi = sc.config.quality_range
    samples = []
    for img in _demo_photos() if photos is None else photos:
        for q in sorted({min(max(int(q), lo), hi) for q in qualities}):
            decoded = get_codec(sc.config.codec).decode(sc.encode(img, q))
            x = np.ascontiguousarray(to_float(decoded).transpose(2, 0, 1))[None]
            samples.append({"decoded": x, "quality": np.array([float(q)], np.float32)})
    return samples


def quantize_post(float_graph: bytes, samples: Sequence[dict[str, np.ndarray]]) -> bytes:
    """The int8 QDQ version of a post-processor graph (bytes of ``<name>.post.onnx``), calibrated (min/max) on
    ``samples``."""
    try:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise UnsupportedOptionError("int8 export needs onnxruntime: pip install 'neuralwrap[onnx]'") from exc
    with tempfile.TemporaryDirectory(prefix="neuralwrap-int8-") as tmp:
        src, prep, out = Path(tmp, "float.onnx"), Path(tmp, "prep.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(float_graph)
        # the symbolic shape pass cannot follow the U-Net's size-dependent padding; ONNX's own inference suffices
        quant_pre_process(str(src), str(prep), skip_symbolic_shape=True)
        quantize_static(
            str(prep),
            str(out),
            _Reader(samples),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
        )
        return out.read_bytes()
