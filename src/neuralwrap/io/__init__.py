"""Image/array conversions, file reading/writing (atomic), video frame sources. The only place conversions live."""

from neuralwrap.io.atomic import atomic_path, atomic_write_bytes
from neuralwrap.io.images import (
    check_image,
    from_tensor,
    read_image,
    to_float,
    to_tensor,
    to_uint8,
    write_image,
)
from neuralwrap.io.video import FrameSource, open_frames

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "FrameSource",
    "check_image",
    "from_tensor",
    "open_frames",
    "read_image",
    "to_float",
    "to_tensor",
    "to_uint8",
    "write_image",
]
