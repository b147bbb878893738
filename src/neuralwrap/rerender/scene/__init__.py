"""A captured scene: cameras (camera.py), the deep-framebuffer dataset (dataset.py), network inputs from a deep buffer (inputs.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "DEPTH_CHANNEL": "neuralwrap.rerender.scene.inputs",
    "FORMAT_VERSION": "neuralwrap.rerender.scene.dataset",
    "Frame": "neuralwrap.rerender.scene.dataset",
    "NORMAL_CHANNELS": "neuralwrap.rerender.scene.inputs",
    "PinholeCamera": "neuralwrap.rerender.scene.camera",
    "RerenderDataset": "neuralwrap.rerender.scene.dataset",
    "TRANSIENT_CLASSES": "neuralwrap.rerender.scene.inputs",
    "VALID_CHANNEL": "neuralwrap.rerender.scene.inputs",
    "decode_normals": "neuralwrap.rerender.scene.dataset",
    "encode_normals": "neuralwrap.rerender.scene.dataset",
    "flip_buffer": "neuralwrap.rerender.scene.inputs",
    "frame_input": "neuralwrap.rerender.scene.inputs",
    "input_channels": "neuralwrap.rerender.scene.inputs",
    "photo_tensor": "neuralwrap.rerender.scene.inputs",
    "resize_buffer": "neuralwrap.rerender.scene.inputs",
    "write_frame": "neuralwrap.rerender.scene.dataset",
    "write_index": "neuralwrap.rerender.scene.dataset",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
