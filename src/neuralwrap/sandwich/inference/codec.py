"""A trained sandwich used with the REAL codec: encode to a standard file, decode with the post-processor.

::

    image (HxWx3 uint8) ─► pre ─► code image (uint8) ─► real encoder ─► standard file (+ tag)
    standard file ─► real decoder ─► decoded code image ─► post ─► image (HxWx3 uint8)

The code image may have fewer channels (1: a 4:0:0 file) and, for ``scale = 2``, half the resolution:
the file stores the ``H/2 × W/2`` code and :meth:`SandwichCodec.decode` returns the full resolution.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.errors import (
    CheckpointError,
    CodecError,
    InputError,
    UnsupportedOptionError,
)
from neuralwrap.io.images import check_image, from_tensor, read_image, to_tensor, to_uint8
from neuralwrap.io.probe import probe_image
from neuralwrap.sandwich.config import SandwichConfig
from neuralwrap.sandwich.inference.fileformat import SandwichTag, metadata_settings, read_tag
from neuralwrap.sandwich.inference.zoo import list_models, zoo_path
from neuralwrap.sandwich.models.image import Sandwich
from neuralwrap.train.checkpoint import apply_state_dict, load_weights, save_weights

__all__ = [
    "MIN_SIDE",
    "MODEL_ID_RE",
    "SandwichCodec",
    "decode_file",
    "load_any",
    "load_model_file",
    "load_pretrained",
    "read_source",
    "save_model_file",
]

log = logging.getLogger(__name__)

#: what a model name or version may be: it travels in the file tag (``neuralwrap:<name>@<version>;q=…``)
MODEL_ID_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

#: smallest image side (pixels) a sandwich accepts: one chroma-subsampled 8×8 JPEG block
MIN_SIDE = 16


def prepare_input(image: np.ndarray, channels: int, keep_precision: bool = False, scale: int = 1) -> np.ndarray:
    """Validate a source image for a sandwich; documented conversions happen with a warning:
    uint16/float → 8-bit (unless ``keep_precision``: an app model takes its representation as is),
    RGBA → RGB (alpha dropped), gray → RGB (replicated). Sides must be multiples of ``scale``."""
    image = check_image(image)
    if image.dtype != np.uint8 and not keep_precision:
        depth = {np.dtype(np.uint16): "16-bit"}.get(image.dtype, str(image.dtype))
        warnings.warn(f"sandwich: {depth} input converted to 8 bits (the models are 8-bit)", stacklevel=3)
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
    if image.shape[0] % scale or image.shape[1] % scale:
        raise InputError(
            f"image {image.shape[1]}×{image.shape[0]}: sides must be multiples of {scale} for this "
            f"model (its code image is 1/{scale} of the resolution)"
        )
    return np.ascontiguousarray(image)


def read_source(path: str | os.PathLike[str], model: str, alpha: str = "refuse") -> np.ndarray:
    """Read a source image for ``sandwich encode`` (one file or a batch), refusing what model ``model`` cannot carry:
    an HDR image (:class:`InputError`: it goes through the hdr app) and an alpha channel unless ``alpha == "drop"``.
    A file with more bits than the reader keeps is read with a warning."""
    info = probe_image(path)
    if info.is_hdr:
        raise InputError(
            f"{path} is an HDR image; `sandwich encode` codes 8/16-bit images. HDR goes through the "
            "hdr app: `sandwich eval --app hdr --model hdr-jpeg`"
        )
    if info.has_alpha and alpha != "drop":
        raise InputError(
            f"{path} has an alpha channel, which model {model} cannot carry; pass --alpha drop to "
            "code the colour without it"
        )
    image = read_image(path, mode=None)
    if info.bits > 8 * image.dtype.itemsize:  # the reader kept 8 bits (Pillow does so for 16-bit RGB PNGs)
        warnings.warn(f"{path} is {info.bits}-bit: read as 8 bits, the extra precision is lost", stacklevel=2)
    return image


class SandwichCodec:
    """A trained :class:`Sandwich` in front of and behind a real codec.

    ``encode(image, quality)`` returns the bytes of a standard file of the model's codec (``.jpg`` for
    ``jpeg``) whose metadata names the model; ``decode(data)`` undoes it. ``codec=`` lets a model
    trained on one codec run over another (e.g. the JPEG-trained model over ``heif``), with
    ``cond_quality`` the quality the networks are told (default: ``quality``).

    ``app`` names the application (:mod:`neuralwrap.sandwich.apps.registry`) the model was trained for, if any;
    such a model takes uint8, uint16 or float32 input as its representation without an 8-bit
    conversion, and :meth:`decode_float` gives its unrounded float output.
    """

    def __init__(
        self, model: Sandwich, name: str, version: str = "1", device: str | torch.device = "cpu", app: str | None = None
    ) -> None:
        # channels_last roughly halves CPU convolution time for these narrow U-Nets
        self.model = model.to(device).to(memory_format=torch.channels_last).eval()
        self.name, self.version, self.device, self.app = name, version, torch.device(device), app

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
        """Pre-process ``HxWxC`` uint8 (any dtype for an app model) → the uint8 code image the encoder
        receives, ``H/scale × W/scale × code_channels``."""
        x = self._tensor(prepare_input(image, self.config.in_channels, self.app is not None, self.config.scale))
        return from_tensor(self.model.preprocess(x, self._quality(cond_quality)))

    @torch.inference_mode()
    def postprocess_float(self, decoded: np.ndarray, cond_quality: int) -> np.ndarray:
        """Post-process a decoded ``hxwxC`` code image → ``(h·scale)x(w·scale)xC`` float32 reconstruction in [0,1]."""
        out = self.model.postprocess(self._tensor(decoded), self._quality(cond_quality))
        return out[0].permute(1, 2, 0).to("cpu", torch.float32).contiguous().numpy()

    @torch.inference_mode()
    def postprocess(self, decoded: np.ndarray, cond_quality: int) -> np.ndarray:
        """Post-process a decoded ``HxWxC`` uint8 code image → uint8 reconstruction (full resolution)."""
        return from_tensor(self.model.postprocess(self._tensor(decoded), self._quality(cond_quality)))

    @torch.inference_mode()
    def proxy_bits(self, code: np.ndarray, cond_quality: int) -> float:
        """The trained rate proxy's estimate (with its real-codec correction) of the file size in bits
        of a uint8 code image; compare with the real bytes to check the proxy's honesty."""
        q = self._quality(cond_quality)
        _, bits, _ = self.model.proxy(to_tensor(code, self.device), q)
        return float(bits[0] * self.model.rate_correction(q)[0])

    def encode_with_code(
        self,
        image: np.ndarray,
        quality: int,
        *,
        codec: str | None = None,
        cond_quality: int | None = None,
        **settings: Any,
    ) -> tuple[bytes, np.ndarray]:
        """Like :meth:`encode`, also returning the uint8 code image that was encoded."""
        name = codec or self.config.codec
        if self.config.code_channels not in (1, 3):
            raise UnsupportedOptionError(
                f"model {self.name} makes a {self.config.code_channels}-channel code image, coded as "
                f"{-(-self.config.code_channels // 3)} files; one-file encode is not supported for it: use "
                "neuralwrap.sandwich.apps.multichannel.grouped_model_roundtrip (or load_grouped)"
            )
        cq = int(quality if cond_quality is None else cond_quality)
        if name == self.config.codec:
            settings.setdefault("subsampling", self.config.subsampling)
        tag = SandwichTag(self.name, self.version, cq)
        code = self.code_image(image, cq)
        return get_codec(name).encode(code, quality=int(quality), **metadata_settings(name, tag), **settings), code

    def encode(
        self,
        image: np.ndarray,
        quality: int,
        *,
        codec: str | None = None,
        cond_quality: int | None = None,
        **settings: Any,
    ) -> bytes:
        """``HxWx3`` uint8 → bytes of a standard file (metadata carries the model id and quality)."""
        return self.encode_with_code(image, quality, codec=codec, cond_quality=cond_quality, **settings)[0]

    def _decoded(self, data: bytes) -> tuple[np.ndarray, int]:
        fmt, tag = read_tag(data)
        if tag is None:
            raise CodecError(f"file has no neuralwrap tag; decode it with decode_file() or as plain {fmt}")
        if tag.model != self.name:
            raise CodecError(f"file was made by model {tag.model!r}, not {self.name!r}")
        return get_codec(fmt).decode(data), tag.quality

    def decode(self, data: bytes) -> np.ndarray:
        """Bytes of a file made by :meth:`encode` → ``HxWx3`` uint8 reconstruction (full resolution: for
        ``scale = 2`` twice the size of the image stored in the file)."""
        return self.postprocess(*self._decoded(data))

    def decode_float(self, data: bytes) -> np.ndarray:
        """Like :meth:`decode`, but the post-processor's float32 output in [0,1] (not rounded to 8 bits)."""
        return self.postprocess_float(*self._decoded(data))


def save_model_file(
    path: str | os.PathLike[str], model: Sandwich, name: str, version: str = "1", extra: dict[str, Any] | None = None
) -> Path:
    """Write an inference model file pair (safetensors + JSON with the sandwich config)."""
    config = {"name": name, "version": version, "sandwich": model.cfg.to_dict(), **(extra or {})}
    return save_weights(path, model, config)


def _model_id(config: dict[str, Any], key: str, default: str, path: str | os.PathLike[str]) -> str:
    """The model's ``name`` / ``version`` from its JSON: a short string that fits the file tag."""
    value = config.get(key, default)
    if not isinstance(value, str | int) or isinstance(value, bool) or not MODEL_ID_RE.fullmatch(str(value)):
        raise CheckpointError(
            f"{path}: model field {key!r} must be 1-64 characters of A-Z a-z 0-9 _ . -, got {str(value)[:40]!r}"
        )
    return str(value)


def _check_finite(state: dict[str, torch.Tensor], path: str | os.PathLike[str]) -> None:
    """Refuse weights with NaN or infinite values (they would write garbage files with exit code 0)."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN or infinite values; the model file is damaged")


def load_model_file(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> SandwichCodec:
    """Load a model file written by :func:`save_model_file`. The file is untrusted input: its config is checked
    against :data:`~neuralwrap.sandwich.config.LIMITS` before anything is allocated, every tensor must be
    finite and match the config's shapes, and name/version must fit the file tag."""
    weights = load_weights(path)
    if not isinstance(weights.config, dict):
        raise CheckpointError(f"{path}: model config must be a JSON object")
    cfg_dict = weights.config.get("sandwich")
    if cfg_dict is None:
        raise CheckpointError(f"{path}: not a sandwich model file (no 'sandwich' config)")
    name = _model_id(weights.config, "name", Path(path).stem, path)
    version = _model_id(weights.config, "version", "1", path)
    try:
        cfg = SandwichConfig.from_dict(cfg_dict)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    _check_finite(weights.state_dict, path)
    model = Sandwich(cfg)
    apply_state_dict(model, weights.state_dict, strict=True, what=f"sandwich model {path}")
    app = weights.config.get("app")
    if app is not None and not isinstance(app, str):
        raise CheckpointError(f"{path}: model field 'app' must be a string, got {type(app).__name__}")
    return SandwichCodec(model, name, version, device, app=app or None)


def load_pretrained(name: str, device: str | torch.device = "cpu") -> SandwichCodec:
    """A shipped model by name (see ``sandwich models``), sha256-checked."""
    return load_model_file(zoo_path(name), device)


def load_any(ref: str, device: str | torch.device = "cpu") -> SandwichCodec:
    """A shipped model name (see ``sandwich models``) or a path to a model file."""
    if (
        ref.endswith(".safetensors")
        or Path(ref).is_file()
        or Path(ref).with_suffix(".safetensors").is_file()
        and "/" in ref
    ):
        return load_model_file(ref, device)
    return load_pretrained(ref, device)


def decode_file(
    data: bytes, device: str | torch.device = "cpu", sc: SandwichCodec | None = None
) -> tuple[np.ndarray, SandwichTag | None]:
    """Decode any supported image file: with its post-processor when its metadata names one (the shipped
    model of that name, or ``sc`` — a user's model file — whose name and version must match the tag), else
    plainly with a warning. Returns ``(HxWxC uint8, tag or None)``."""
    fmt, tag = read_tag(data)  # CodecError for anything that is not a JPEG, WebP, AVIF or HEIF file
    if tag is None:
        warnings.warn(f"file has no neuralwrap tag: decoded as a plain {fmt} image", stacklevel=2)
        return get_codec(fmt).decode(data), None
    if sc is None:
        if tag.model not in list_models():
            raise CheckpointError(
                f"file was made by model {tag.model!r}, which is not shipped: give its model file "
                "(--model-file PATH.safetensors)"
            )
        sc = load_pretrained(tag.model, device)
    if sc.name != tag.model:
        raise CheckpointError(f"file was made by model {tag.model!r}, not {sc.name!r}")
    if sc.version != tag.version:
        raise CheckpointError(f"file needs {tag.model} version {tag.version}, the model given is version {sc.version}")
    if sc.config.code_channels not in (1, 3):
        raise UnsupportedOptionError(
            f"model {sc.name} codes several files per image; decode them with "
            "neuralwrap.sandwich.apps.multichannel.load_grouped"
        )
    return sc.decode(data), tag
