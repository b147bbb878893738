"""Decode sandwich files with onnxruntime (CPU) from an ONNX export folder: numpy, Pillow and onnxruntime only —
this module never imports torch, directly or through the package.

::

    file ─► read_tag ─► codec decoder (Pillow) ─► /255 ─► <name>.post.onnx ─► ×255, rounded ─► HxWxC uint8

The rounding and the float conversions are the PyTorch path's (:class:`~neuralwrap.sandwich.inference.SandwichCodec`),
so the two decodes differ only by float arithmetic inside the graphs.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CheckpointError, CodecError, InputError, UnsupportedOptionError
from neuralwrap.io.images import check_image, to_float, to_uint8
from neuralwrap.sandwich.inference.fileformat import SandwichTag, read_tag
from neuralwrap.sandwich.onnx.manifest import MIN_CODE_SIDE, read_manifest

if TYPE_CHECKING:
    import onnxruntime

__all__ = ["OnnxDecoder", "OnnxSandwich"]


def _onnxruntime() -> Any:
    """The onnxruntime module, or :class:`UnsupportedOptionError` naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise UnsupportedOptionError("the ONNX backend needs onnxruntime: pip install 'neuralwrap[onnx]'") from exc
    return onnxruntime


def _session(path: Path, sha256: str, threads: int) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session of ``path`` after checking its sha256 (the bytes hashed are the bytes loaded)."""
    ort = _onnxruntime()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"ONNX file missing or unreadable: {path} ({type(exc).__name__})") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise CheckpointError(f"{path}: sha256 mismatch ({digest[:16]}… != {sha256[:16]}…); file changed or corrupt?")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        raise CheckpointError(f"{path}: onnxruntime cannot load it ({' '.join(str(exc).split())[:200]})") from exc


def _nchw(image: np.ndarray) -> np.ndarray:
    """``HxWxC`` uint8/uint16/float32 → ``(1, C, H, W)`` float32 in [0,1] (what ``to_tensor`` gives torch)."""
    return np.ascontiguousarray(to_float(image).transpose(2, 0, 1))[None]


class OnnxSandwich:
    """One model of an export folder: its post-processor (and pre-processor) as onnxruntime sessions.

    ``threads`` is onnxruntime's intra-op thread count (0: its default, one per core); ``int8`` runs the int8
    post-processor (``export-onnx --int8``: about 2.6× faster, up to 0.5 dB lower up to q 80, 1–1.4 dB at q 95)."""

    def __init__(
        self, folder: str | Path, name: str, entry: dict[str, Any], threads: int = 0, int8: bool = False
    ) -> None:
        self.folder, self.name, self.entry, self.threads, self.int8 = Path(folder), name, entry, int(threads), int8
        self.version: str = entry["version"]
        self._sessions: dict[str, onnxruntime.InferenceSession] = {}

    def _run(self, kind: str, array: np.ndarray, quality: int) -> np.ndarray:
        if kind not in self._sessions:
            file = self.entry.get(kind)
            if file is None:
                again = " --int8" if kind == "post_int8" else ""
                raise UnsupportedOptionError(
                    f"the ONNX export of {self.name} has no {kind.replace('_', ' ')} graph; export it again with "
                    f"`sandwich export-onnx {self.name} {self.folder}{again}`"
                )
            self._sessions[kind] = _session(self.folder / file, self.entry["sha256"][file], self.threads)
        session = self._sessions[kind]
        name = session.get_inputs()[0].name
        q = np.array([float(quality)], dtype=np.float32)
        try:
            return session.run(None, {name: array, "quality": q})[0]
        except Exception as exc:  # onnxruntime's own exception types; inputs were checked, so the graph is at fault
            raise CheckpointError(
                f"{self.entry[kind]}: onnxruntime failed on a {array.shape} input ({' '.join(str(exc).split())[:200]})"
            ) from exc

    def _check(self, image: np.ndarray, channels: int, what: str, step: int = 1) -> np.ndarray:
        image = check_image(image, name=what)
        h, w, c = image.shape
        if c != channels:
            raise CodecError(f"model {self.name} takes a {channels}-channel {what}, got {c} channels")
        if min(h, w) < MIN_CODE_SIDE * step or h % step or w % step:
            raise InputError(
                f"{what} {w}×{h}: sides must be at least {MIN_CODE_SIDE * step} and multiples of {step} for the "
                f"ONNX graphs of {self.name}"
            )
        return image

    def postprocess_float(self, decoded: np.ndarray, quality: int) -> np.ndarray:
        """Decoded ``hxwxC`` code image (uint8, or uint16 of 10-bit streams) → ``(h·s)x(w·s)xC`` float32 in [0,1]."""
        decoded = self._check(decoded, self.entry["code_channels"], "decoded code image")
        out = self._run("post_int8" if self.int8 else "post", _nchw(decoded), quality)
        return np.ascontiguousarray(out[0].transpose(1, 2, 0), dtype=np.float32)

    def postprocess(self, decoded: np.ndarray, quality: int) -> np.ndarray:
        """Decoded code image → uint8 reconstruction, rounded as the PyTorch path rounds (``rint(x·255)``)."""
        return to_uint8(np.clip(self.postprocess_float(decoded, quality), 0.0, 1.0))

    def code_image(self, image: np.ndarray, quality: int) -> np.ndarray:
        """Source ``HxWxC`` uint8 → the uint8 code image (``H/s × W/s × code_channels``) the encoder receives.
        No conversions: the image must already have the model's channel count."""
        image = self._check(image, self.entry["in_channels"], "image", self.entry["scale"])
        return to_uint8(np.clip(self._run("pre", _nchw(image), quality)[0].transpose(1, 2, 0), 0.0, 1.0))


class OnnxDecoder:
    """The models of an export folder (``sandwich export-onnx``); the manifest is read and checked at once,
    each ONNX file (sha256-checked) when its model is first used. ``threads``, ``int8``: see :class:`OnnxSandwich`."""

    def __init__(self, folder: str | Path, threads: int = 0, int8: bool = False) -> None:
        self.folder, self.threads, self.int8 = Path(folder), int(threads), int8
        self.manifest = read_manifest(self.folder)
        self._models: dict[str, OnnxSandwich] = {}

    @property
    def names(self) -> list[str]:
        """Model names the folder holds."""
        return sorted(self.manifest["models"])

    def model(self, name: str) -> OnnxSandwich:
        """The model ``name``; :class:`CheckpointError` when the folder does not hold it."""
        if name not in self.manifest["models"]:
            raise CheckpointError(
                f"ONNX folder {self.folder} has no model {name!r} (it has: {', '.join(self.names) or 'none'}); "
                f"add it with `sandwich export-onnx {name} {self.folder}`"
            )
        if name not in self._models:
            entry = self.manifest["models"][name]
            self._models[name] = OnnxSandwich(self.folder, name, entry, self.threads, self.int8)
        return self._models[name]

    def decode(self, data: bytes) -> tuple[np.ndarray, SandwichTag | None]:
        """Decode any supported image file like :func:`~neuralwrap.sandwich.inference.decode_file`: with the
        post-processor its tag names (name and version must match the folder's), else plainly with a warning.
        Returns ``(HxWxC uint8, tag or None)``."""
        fmt, tag = read_tag(data)
        if tag is None:
            warnings.warn(f"file has no neuralwrap tag: decoded as a plain {fmt} image", stacklevel=2)
            return get_codec(fmt).decode(data), None
        model = self.model(tag.model)
        if model.version != tag.version:
            raise CheckpointError(
                f"file needs {tag.model} version {tag.version}, the ONNX folder holds version {model.version}"
            )
        return model.postprocess(get_codec(fmt).decode(data), tag.quality), tag
