"""ONNX export (export.py: torch, onnx, onnxscript) and a torch-free onnxruntime decoder (runtime.py: onnxruntime,
numpy, Pillow). Names load lazily, so importing the decoder never loads torch."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "MANIFEST": "neuralwrap.sandwich.onnx.manifest",
    "ONNX_FORMAT": "neuralwrap.sandwich.onnx.manifest",
    "ONNX_FORMAT_VERSION": "neuralwrap.sandwich.onnx.manifest",
    "ONNX_OPSET": "neuralwrap.sandwich.onnx.export",
    "OnnxDecoder": "neuralwrap.sandwich.onnx.runtime",
    "OnnxSandwich": "neuralwrap.sandwich.onnx.runtime",
    "exportable_models": "neuralwrap.sandwich.onnx.export",
    "export_onnx": "neuralwrap.sandwich.onnx.export",
    "read_manifest": "neuralwrap.sandwich.onnx.manifest",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
