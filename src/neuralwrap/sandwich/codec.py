"""A trained sandwich used with the REAL codec: encode to a standard file, decode with the post-processor.

::

    image (HxWx3 uint8) ─► pre ─► code image (uint8) ─► real encoder ─► standard file (+ tag)
    standard file ─► real decoder ─► decoded code image ─► post ─► image (HxWx3 uint8)
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CheckpointError, CodecError, InputError
from neuralwrap.io.images import check_image, from_tensor, to_tensor, to_uint8
from neuralwrap.sandwich.config import SandwichConfig
from neuralwrap.sandwich.fileformat import SandwichTag, metadata_settings, read_tag
from neuralwrap.sandwich.models import Sandwich
from neuralwrap.sandwich.zoo import zoo_path
from neuralwrap.train.checkpoint import apply_state_dict, load_weights, save_weights

__all__ = ["SandwichCodec", "load_pretrained", "load_model_file", "save_model_file", "decode_file", "MIN_SIDE"]

log = logging.getLogger(__name__)

#: smallest image side (pixels) a sandwich accepts: one chroma-subsampled 8×8 JPEG block
MIN_SIDE = 16


def prepare_input(image: np.ndarray, channels: int) -> np.ndarray:
    """Validate a source image for a sandwich; documented conversions happen with a warning:
    uint16/float → 8-bit, RGBA → RGB (alpha dropped), gray → RGB (replicated)."""
    image = check_image(image)
    if image.dtype != np.uint8:
        warnings.warn(f"sandwich: {image.dtype} input converted to 8 bits (the models are 8-bit)", stacklevel=3)
        image = to_uint8(image)
    c = image.shape[2]
    if c == 4 and channels == 3:
        warnings.warn("sandwich: RGBA input, alpha channel dropped", stacklevel=3)
        image = image[:, :, :3]
    elif c == 1 and channels == 3:
        warnings.warn("sandwich: grayscale input replicated to RGB", stacklevel=3)
        image = np.repeat(image, 3, axis=2)
    if image.shape[2] != channels:
        raise InputError(f"sandwich model takes {channels}-channel images, got {image.shape[2]} channels")
    if min(image.shape[:2]) < MIN_SIDE:
        raise InputError(f"image {image.shape[1]}×{image.shape[0]} is smaller than the {MIN_SIDE}×{MIN_SIDE} minimum")
    return np.ascontiguousarray(image)


class SandwichCodec:
    """A trained :class:`Sandwich` in front of and behind a real codec.

    ``encode(image, quality)`` returns the bytes of a standard file of the model's codec (``.jpg`` for
    ``jpeg``) whose metadata names the model; ``decode(data)`` undoes it. ``codec=`` lets a model
    trained on one codec run over another (e.g. the JPEG-trained model over ``heif``), with
    ``cond_quality`` the quality the networks are told (default: ``quality``).
    """

    def __init__(self, model: Sandwich, name: str, version: str = "1", device: str | torch.device = "cpu") -> None:
        # channels_last roughly halves CPU convolution time for these narrow U-Nets
        self.model = model.to(device).to(memory_format=torch.channels_last).eval()
        self.name, self.version, self.device = name, version, torch.device(device)

    @property
    def config(self) -> SandwichConfig:
        """The model's configuration."""
        return self.model.cfg

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return to_tensor(image, self.device).contiguous(memory_format=torch.channels_last)

    def _quality(self, q: int) -> torch.Tensor:
        return torch.tensor([float(q)], device=self.device)

    @torch.inference_mode()
    def code_image(self, image: np.ndarray, cond_quality: int) -> np.ndarray:
        """Pre-process ``HxWxC`` uint8 → the uint8 code image the encoder receives."""
        x = self._tensor(prepare_input(image, self.config.in_channels))
        return from_tensor(self.model.preprocess(x, self._quality(cond_quality)))

    @torch.inference_mode()
    def postprocess(self, decoded: np.ndarray, cond_quality: int) -> np.ndarray:
        """Post-process a decoded ``HxWxC`` uint8 code image → uint8 reconstruction."""
        return from_tensor(self.model.postprocess(self._tensor(decoded), self._quality(cond_quality)))

    @torch.inference_mode()
    def proxy_bits(self, code: np.ndarray, cond_quality: int) -> float:
        """The trained rate proxy's estimate (with its real-codec correction) of the file size in bits
        of a uint8 code image; compare with the real bytes to check the proxy's honesty."""
        q = self._quality(cond_quality)
        _, bits, _ = self.model.proxy(to_tensor(code, self.device), q)
        return float(bits[0] * self.model.rate_correction(q)[0])

    def encode_with_code(self, image: np.ndarray, quality: int, *, codec: str | None = None,
                         cond_quality: int | None = None, **settings: Any) -> tuple[bytes, np.ndarray]:
        """Like :meth:`encode`, also returning the uint8 code image that was encoded."""
        name = codec or self.config.codec
        cq = int(quality if cond_quality is None else cond_quality)
        if name == self.config.codec:
            settings.setdefault("subsampling", self.config.subsampling)
        tag = SandwichTag(self.name, self.version, cq)
        code = self.code_image(image, cq)
        return get_codec(name).encode(code, quality=int(quality), **metadata_settings(name, tag), **settings), code

    def encode(self, image: np.ndarray, quality: int, *, codec: str | None = None,
               cond_quality: int | None = None, **settings: Any) -> bytes:
        """``HxWx3`` uint8 → bytes of a standard file (metadata carries the model id and quality)."""
        return self.encode_with_code(image, quality, codec=codec, cond_quality=cond_quality, **settings)[0]

    def decode(self, data: bytes) -> np.ndarray:
        """Bytes of a file made by :meth:`encode` → ``HxWx3`` uint8 reconstruction."""
        fmt, tag = read_tag(data)
        if tag is None:
            raise CodecError(f"file has no neuralwrap tag; decode it with decode_file() or as plain {fmt}")
        if tag.model != self.name:
            raise CodecError(f"file was made by model {tag.model!r}, not {self.name!r}")
        return self.postprocess(get_codec(fmt).decode(data), tag.quality)


def save_model_file(path: str | os.PathLike[str], model: Sandwich, name: str, version: str = "1",
                    extra: dict[str, Any] | None = None) -> Path:
    """Write an inference model file pair (safetensors + JSON with the sandwich config)."""
    config = {"name": name, "version": version, "sandwich": model.cfg.to_dict(), **(extra or {})}
    return save_weights(path, model, config)


def load_model_file(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> SandwichCodec:
    """Load a model file written by :func:`save_model_file` (strict: every tensor must match)."""
    weights = load_weights(path)
    cfg_dict = weights.config.get("sandwich")
    if cfg_dict is None:
        raise CheckpointError(f"{path}: not a sandwich model file (no 'sandwich' config)")
    model = Sandwich(SandwichConfig.from_dict(cfg_dict))
    apply_state_dict(model, weights.state_dict, strict=True, what=f"sandwich model {path}")
    return SandwichCodec(model, str(weights.config.get("name", Path(path).stem)),
                         str(weights.config.get("version", "1")), device)


def load_pretrained(name: str, device: str | torch.device = "cpu") -> SandwichCodec:
    """A shipped model by name (see ``sandwich models``), sha256-checked."""
    return load_model_file(zoo_path(name), device)


def decode_file(data: bytes, device: str | torch.device = "cpu") -> tuple[np.ndarray, SandwichTag | None]:
    """Decode any supported image file: with its shipped post-processor when its metadata names one,
    else plainly with a warning. Returns ``(HxWxC uint8, tag or None)``."""
    fmt, tag = read_tag(data)  # CodecError for anything that is not a JPEG, WebP, AVIF or HEIF file
    if tag is None:
        warnings.warn(f"file has no neuralwrap tag: decoded as a plain {fmt} image", stacklevel=2)
        return get_codec(fmt).decode(data), None
    sc = load_pretrained(tag.model, device)
    if sc.version != tag.version:
        raise CheckpointError(f"file needs {tag.model} version {tag.version}, shipped version is {sc.version}")
    return sc.decode(data), tag
