"""Generator inputs: a :class:`~neuralwrap.rerender.scene.dataset.Frame`'s deep framebuffer as one tensor.

Channel layout of :func:`frame_input` (``C = input_channels(use_semantics)``)::

    0:3  splatted point colour, RGB in [0, 1] (0 where no point)
    3    camera z-depth in SfM units, 0 where no point (the model divides it by its ``depth_scale``)
    4:7  camera-space unit normals in [-1, 1] (0 where no point or when the cloud has no normals)
    7    validity: 1 where a point was splatted, else 0
    8    transient mask (only with ``use_semantics``): 1 on people / other transient classes, 0 = background

Resizing (``size``) uses nearest-neighbour sampling for the buffer (depth, normals and class ids must not
be blended) and antialiased bilinear filtering for photos. Sizes are ``(width, height)`` in pixels.

Example::

    buf = frame_input(ds[0], size=(160, 120))          # (9, 120, 160) float32
    photo = photo_tensor(ds[0], size=(160, 120))       # (3, 120, 160) float32 in [0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from neuralwrap.errors import InputError
from neuralwrap.rerender.scene.dataset import Frame

__all__ = [
    "DEPTH_CHANNEL",
    "NORMAL_CHANNELS",
    "TRANSIENT_CLASSES",
    "VALID_CHANNEL",
    "flip_buffer",
    "frame_input",
    "input_channels",
    "photo_tensor",
    "resize_buffer",
]

#: PASCAL VOC ids treated as transient (person = 15), as written by ``rerender capture``
TRANSIENT_CLASSES: tuple[int, ...] = (15,)
#: index of the depth channel in a generator input
DEPTH_CHANNEL: int = 3
#: index of the validity channel (1 where a point was splatted)
VALID_CHANNEL: int = 7
#: slice of the normal channels in a generator input
NORMAL_CHANNELS: slice = slice(4, 7)


def input_channels(use_semantics: bool) -> int:
    """Number of generator input channels: 8 (colour, depth, normals, validity) + 1 transient mask if used."""
    return 9 if use_semantics else 8


def _nearest_index(src: int, dst: int) -> torch.Tensor:
    """Source rows/cols sampled by a nearest resize ``src → dst`` (pixel centres aligned)."""
    return ((torch.arange(dst, dtype=torch.float64) + 0.5) * (src / dst)).floor().long().clamp(0, src - 1)


def resize_buffer(buffer: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour resize of ``(..., C, H, W)`` to ``size = (width, height)``; no blending of values."""
    w, h = size
    if buffer.shape[-2:] == (h, w):
        return buffer
    rows = _nearest_index(buffer.shape[-2], h).to(buffer.device)
    cols = _nearest_index(buffer.shape[-1], w).to(buffer.device)
    return buffer.index_select(-2, rows).index_select(-1, cols)


def _check_size(size: tuple[int, int] | None) -> None:
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise InputError(f"size must be (width, height) with positive values, got {size!r}")


def frame_input(
    frame: Frame,
    *,
    size: tuple[int, int] | None = None,
    use_semantics: bool = True,
    remove_transients: bool = False,
    transient_classes: Sequence[int] = TRANSIENT_CLASSES,
) -> torch.Tensor:
    """The generator input of ``frame``: ``(C, H, W)`` float32, layout in the module docstring.

    Args:
        frame: a dataset frame, or a novel view's splatted buffer (``photo`` is not used; ``classes`` may
            be None: no mask → everything background).
        size: output ``(width, height)`` in pixels; None keeps the camera's size.
        use_semantics: append the transient-mask channel.
        remove_transients: feed an all-background mask (render people as background).
        transient_classes: class ids counted as transient.
    """
    _check_size(size)
    depth = np.asarray(frame.depth, dtype=np.float32)
    if depth.ndim != 2:
        raise InputError(f"frame {frame.name}: depth must be (H, W), got {depth.shape}")
    h, w = depth.shape
    valid = (depth > 0).astype(np.float32)
    color = np.asarray(frame.color, dtype=np.float32) / 255.0
    normals = np.zeros((h, w, 3), np.float32) if frame.normals is None else np.asarray(frame.normals, np.float32)
    parts = [color, depth[..., None], normals * valid[..., None], valid[..., None]]
    if use_semantics:
        mask = np.zeros((h, w), np.float32)
        if frame.classes is not None and not remove_transients:
            mask = np.isin(frame.classes, list(transient_classes)).astype(np.float32)
        parts.append(mask[..., None])
    buf = torch.from_numpy(np.ascontiguousarray(np.concatenate(parts, axis=-1).transpose(2, 0, 1)))
    return resize_buffer(buf, size) if size is not None else buf


def photo_tensor(frame: Frame, size: tuple[int, int] | None = None) -> torch.Tensor:
    """``frame.photo`` as ``(3, H, W)`` float32 in [0, 1], resized (antialiased bilinear) to ``size = (w, h)``."""
    _check_size(size)
    img = torch.from_numpy(np.ascontiguousarray(np.asarray(frame.photo).transpose(2, 0, 1))).float() / 255.0
    if size is None or img.shape[-2:] == (size[1], size[0]):
        return img
    out = F.interpolate(img[None], size=(size[1], size[0]), mode="bilinear", antialias=True, align_corners=False)
    return out[0].clamp(0, 1)


def flip_buffer(buffer: torch.Tensor) -> torch.Tensor:
    """Mirror a generator input ``(..., C, H, W)`` left–right (the normals' x component changes sign)."""
    out = buffer.flip(-1).clone()
    out[..., NORMAL_CHANNELS.start, :, :] *= -1
    return out
