"""Image/array conversions, file reading/writing (atomic), checkpoints. The only place conversions live."""

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

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "check_image",
    "from_tensor",
    "read_image",
    "to_float",
    "to_tensor",
    "to_uint8",
    "write_image",
]
