"""Neural rerendering in the wild: capture (SfM → deep framebuffers) → dataset → models → render."""

from neuralwrap.rerender.camera import PinholeCamera
from neuralwrap.rerender.dataset import (
    FORMAT_VERSION,
    Frame,
    RerenderDataset,
    write_frame,
    write_index,
)

__all__ = ["FORMAT_VERSION", "Frame", "PinholeCamera", "RerenderDataset", "write_frame", "write_index"]
