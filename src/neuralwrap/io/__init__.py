"""Image/array conversions, file reading/writing (atomic), HDR images (EXR / Radiance), video frame sources. The only place conversions live. Names load lazily."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "FrameSource": "neuralwrap.io.video",
    "HDR_SUFFIXES": "neuralwrap.io.hdr",
    "atomic_dir": "neuralwrap.io.atomic",
    "atomic_path": "neuralwrap.io.atomic",
    "atomic_write_bytes": "neuralwrap.io.atomic",
    "check_image": "neuralwrap.io.images",
    "check_output": "neuralwrap.io.outputs",
    "from_tensor": "neuralwrap.io.images",
    "open_frames": "neuralwrap.io.video",
    "read_exr": "neuralwrap.io.hdr",
    "read_hdr": "neuralwrap.io.hdr",
    "read_image": "neuralwrap.io.images",
    "read_rgbe": "neuralwrap.io.hdr",
    "same_file": "neuralwrap.io.outputs",
    "to_float": "neuralwrap.io.images",
    "to_tensor": "neuralwrap.io.images",
    "to_uint8": "neuralwrap.io.images",
    "write_exr": "neuralwrap.io.hdr",
    "write_image": "neuralwrap.io.images",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
