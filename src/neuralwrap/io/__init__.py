"""Image/array conversions, file reading/writing (atomic), HDR images (EXR / Radiance), video frame sources. The only place conversions live."""

from neuralwrap.io.atomic import atomic_dir, atomic_path, atomic_write_bytes
from neuralwrap.io.hdr import HDR_SUFFIXES, read_exr, read_hdr, read_rgbe, write_exr
from neuralwrap.io.images import (
    check_image,
    from_tensor,
    read_image,
    to_float,
    to_tensor,
    to_uint8,
    write_image,
)
from neuralwrap.io.outputs import check_output, same_file
from neuralwrap.io.video import FrameSource, open_frames

__all__ = [
    "HDR_SUFFIXES",
    "FrameSource",
    "atomic_dir",
    "atomic_path",
    "atomic_write_bytes",
    "check_image",
    "check_output",
    "from_tensor",
    "open_frames",
    "read_exr",
    "read_hdr",
    "read_image",
    "read_rgbe",
    "same_file",
    "to_float",
    "to_tensor",
    "to_uint8",
    "write_exr",
    "write_image",
]
