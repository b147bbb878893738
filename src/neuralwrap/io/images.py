"""Image arrays: validation, dtype conversion, numpy <-> torch, file read/write.

Conventions (DESIGN.md): numpy images are ``HxWxC`` (or ``HxW``) arrays of dtype uint8, uint16 or
float32 in [0, 1]; torch images are ``(N, C, H, W)`` float tensors in [0, 1].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path

if TYPE_CHECKING:  # torch loads only in the two functions that need it: reading and decoding files stay torch-free
    import torch

__all__ = [
    "check_image",
    "error_text",
    "to_float",
    "to_uint8",
    "to_tensor",
    "from_tensor",
    "read_image",
    "write_image",
    "resize_bicubic",
]

_DTYPES = (np.uint8, np.uint16, np.float32)


def error_text(exc: BaseException) -> str:
    """``"Type: message"`` of a library exception on one line (libheif, FFmpeg … messages may span lines), for
    embedding in a one-line error message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_image(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Validate a numpy image and return it as ``HxWxC`` (a 2-D input gets ``C=1``).

    Raises :class:`InputError` naming the problem: not an array, wrong number of dimensions,
    unsupported dtype, empty, or float values outside [0, 1] / non-finite.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name} must be a numpy array (HxWxC), got {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise InputError(f"{name} must have shape HxW or HxWxC, got shape {image.shape}")
    if image.dtype not in _DTYPES:
        raise InputError(f"{name} dtype must be uint8, uint16 or float32, got {image.dtype}")
    h, w, c = image.shape
    if h == 0 or w == 0 or c == 0:
        raise InputError(f"{name} is empty (shape {image.shape})")
    if image.dtype == np.float32 and (not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 1):
        raise InputError(f"{name} is float32 but not finite in [0, 1] (min {image.min()}, max {image.max()})")
    return image


def to_float(image: np.ndarray) -> np.ndarray:
    """Convert a uint8/uint16/float32 image to float32 in [0, 1] (same shape)."""
    image = check_image(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image to uint8 (float: round(x*255) clipped; uint16: round(x/257))."""
    image = check_image(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def to_tensor(image: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """numpy ``HxWxC`` image (any supported dtype) -> ``(1, C, H, W)`` float32 tensor in [0, 1]."""
    import torch

    arr = to_float(image)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None].to(device)


def from_tensor(tensor: torch.Tensor, dtype: type = np.uint8) -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` tensor in [0, 1] -> numpy ``HxWxC`` image of ``dtype`` (rounded, clipped)."""
    import torch

    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise InputError(f"from_tensor takes a single image, got batch of {tensor.shape[0]}")
        tensor = tensor[0]
    if tensor.ndim != 3:
        raise InputError(f"from_tensor expects (1,C,H,W) or (C,H,W), got shape {tuple(tensor.shape)}")
    arr = tensor.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy()
    if dtype == np.float32:
        return np.ascontiguousarray(arr)
    if dtype == np.uint8:
        return np.rint(arr * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(arr * 65535.0).astype(np.uint16)
    raise InputError(f"from_tensor dtype must be uint8, uint16 or float32, got {dtype}")


def read_image(path: str | os.PathLike[str], *, mode: str | None = "RGB") -> np.ndarray:
    """Read an 8/16-bit image file into an ``HxWxC`` array.

    ``mode="RGB"`` (default) converts palette/RGBA/gray to 8-bit RGB (alpha is dropped); ``mode="L"``
    gives 1-channel 8-bit; ``mode=None`` keeps 16-bit data as uint16 when the file has it.
    Raises :class:`InputError` for missing or unreadable files.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"image file not found: {p}")
    try:
        with Image.open(p) as im:
            im.load()
            if mode is not None:
                arr = np.asarray(im.convert(mode))
            elif im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im).astype(np.uint16)
            else:
                arr = np.asarray(im.convert("RGB" if im.mode not in ("L", "RGB") else im.mode))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"cannot read image {p}: {error_text(exc)}") from exc
    return check_image(np.ascontiguousarray(arr), name=str(p))


def write_image(path: str | os.PathLike[str], image: np.ndarray, **save_kwargs: object) -> None:
    """Write an ``HxWxC`` image (1 or 3 channels; float is converted to uint8) atomically; format from suffix."""
    image = check_image(image)
    if image.dtype == np.float32:
        image = to_uint8(image)
    if image.shape[2] not in (1, 3, 4):
        raise InputError(f"write_image supports 1, 3 or 4 channels, got {image.shape[2]}")
    arr = image[:, :, 0] if image.shape[2] == 1 else image
    if arr.dtype == np.uint16 and arr.ndim == 3:
        raise InputError("write_image: 16-bit colour is not supported by Pillow PNG; write channels separately")
    im = Image.fromarray(arr)
    with atomic_path(path) as tmp:
        im.save(tmp, **save_kwargs)  # type: ignore[arg-type]


def resize_bicubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 ``(H, W, C)`` (C = 1 or 3) → uint8 ``(height, width, C)`` with Pillow's bicubic filter
    (antialiased when shrinking): the resampling of the 2× baselines and anchors."""
    im = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    out = np.asarray(im.resize((int(width), int(height)), Image.Resampling.BICUBIC))
    return out[:, :, None] if out.ndim == 2 else out
