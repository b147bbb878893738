"""ONNX export of a sandwich's pre- and post-processors, plus the ``manifest.json`` a decoder needs.

::

    OUT_DIR/
      manifest.json            {"format": "neuralwrap-onnx", "format_version": 1, "models": {name: entry}}
      <name>.pre.onnx          image (1, in_ch, H, W) in [0,1], quality (1,)  → code  (1, code_ch, H/s, W/s) in [0,1]
      <name>.post.onnx         decoded (1, code_ch, h, w) in [0,1], quality (1,) → image (1, out_ch, h·s, w·s) in [0,1]

Heights and widths are dynamic (at least 8 code pixels; multiples of ``scale`` for the pre-processor); quality is
the tag's ``q`` as float32. A post-only model's fixed pre-processor (area average, channel map) is exported too, so
every entry has both files. Needs torch, onnx and onnxscript (``pip install 'neuralwrap[onnx]'``); the decoder
(:mod:`neuralwrap.sandwich.onnx.runtime`) needs only onnxruntime and numpy.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CheckpointError, InputError, UnsupportedOptionError
from neuralwrap.io.atomic import atomic_path, atomic_write_bytes
from neuralwrap.sandwich.inference.codec import SandwichCodec, load_any
from neuralwrap.sandwich.inference.zoo import list_models
from neuralwrap.sandwich.onnx.manifest import MANIFEST, MIN_CODE_SIDE, read_manifest
from neuralwrap.sandwich.onnx.quantize import calibration_samples, quantize_post

__all__ = ["ONNX_OPSET", "exportable_models", "export_onnx"]

log = logging.getLogger(__name__)

#: ONNX opset of the exported graphs (torch's default; onnxruntime and onnxruntime-web ≥ 1.17 run it)
ONNX_OPSET = 20


class _Post(nn.Module):
    """``(decoded, quality) → image`` of a sandwich, clamped to [0,1]."""

    def __init__(self, sc: SandwichCodec) -> None:
        super().__init__()
        self.sandwich = sc.model

    def forward(self, decoded: Tensor, quality: Tensor) -> Tensor:
        return self.sandwich.postprocess(decoded, quality)


class _Pre(nn.Module):
    """``(image, quality) → code`` of a sandwich, clamped to [0,1] (the caller rounds ×255 to uint8)."""

    def __init__(self, sc: SandwichCodec) -> None:
        super().__init__()
        self.sandwich = sc.model

    def forward(self, image: Tensor, quality: Tensor) -> Tensor:
        return self.sandwich.preprocess(image, quality)


def _check_exportable(sc: SandwichCodec) -> None:
    """Refuse models that do not code one image as one file (video models, grouped multi-file codes)."""
    if get_codec(sc.config.codec).kind != "image":
        raise UnsupportedOptionError(
            f"model {sc.name} is a {sc.config.codec} video model; ONNX export covers image models"
        )
    if sc.config.code_channels not in (1, 3):
        raise UnsupportedOptionError(
            f"model {sc.name} codes several files per image ({sc.config.code_channels} code channels); "
            "ONNX export covers one-file models"
        )


def _require_exporter() -> None:
    """:class:`UnsupportedOptionError` naming the extra when onnx or onnxscript (the exporter's) is missing."""
    for module in ("onnx", "onnxscript"):
        if importlib.util.find_spec(module) is None:
            raise UnsupportedOptionError(f"ONNX export needs {module}: pip install 'neuralwrap[onnx]'")


def exportable_models() -> list[str]:
    """The shipped models ``export_onnx`` takes: image codecs, one file per image (1 or 3 code channels)."""
    names = []
    for name in sorted(list_models()):
        sc = load_any(name)
        with contextlib.suppress(UnsupportedOptionError):
            _check_exportable(sc)
            names.append(name)
    return names


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's chatter (deprecation warnings, 'torchvision is not installed' log lines)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def _export_graph(module: nn.Module, args: tuple[Tensor, Tensor], names: tuple[str, str, str], step: int) -> bytes:
    """One graph as ONNX bytes: spatial dims of the first input dynamic (multiples of ``step``, ≥ 8·step)."""
    from torch.export import Dim

    h = Dim(f"{names[0]}_h", min=MIN_CODE_SIDE, max=16384)
    w = Dim(f"{names[0]}_w", min=MIN_CODE_SIDE, max=16384)
    dims = {2: step * h, 3: step * w} if step > 1 else {2: h, 3: w}
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            module.eval(),
            args,
            dynamo=True,
            opset_version=ONNX_OPSET,
            input_names=list(names[:2]),
            output_names=[names[2]],
            dynamic_shapes={names[0]: dims, names[1]: None},
            verbose=False,
        )
    if program is None:  # only the legacy exporter returns None
        raise CheckpointError("torch.onnx.export returned no program")
    return bytes(program.model_proto.SerializeToString())


def export_onnx(
    model: SandwichCodec | str | os.PathLike[str], out_dir: str | os.PathLike[str], *, int8: bool = False
) -> Path:
    """Export ``model`` (a :class:`SandwichCodec`, a shipped name or a model file) into ``out_dir``: its
    ``<name>.pre.onnx`` and ``<name>.post.onnx`` and its entry in ``out_dir/manifest.json`` (other models'
    entries are kept; the same name is replaced). ``int8`` adds ``<name>.post.int8.onnx``, a statically quantised
    post-processor (:mod:`neuralwrap.sandwich.onnx.quantize`). Every file is written atomically. Returns the
    manifest path."""
    _require_exporter()
    sc = model if isinstance(model, SandwichCodec) else load_any(str(model))
    _check_exportable(sc)
    cfg = sc.config
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    manifest_path = out / MANIFEST
    manifest = read_manifest(out, create=True)
    s, side = cfg.scale, 2 * MIN_CODE_SIDE  # example sizes: any valid size works, the graphs are dynamic
    q = torch.tensor([float(sum(cfg.quality_range) // 2)])
    graphs = {
        "pre": _export_graph(
            _Pre(sc), (torch.rand(1, cfg.in_channels, side * s, (side + 8) * s), q), ("image", "quality", "code"), s
        ),
        "post": _export_graph(
            _Post(sc), (torch.rand(1, cfg.code_channels, side, side + 8), q), ("decoded", "quality", "image"), 1
        ),
    }
    if int8:
        graphs["post_int8"] = quantize_post(graphs["post"], calibration_samples(sc))
    files = {kind: f"{sc.name}.{kind.replace('_', '.')}.onnx" for kind in graphs}
    for kind, data in graphs.items():
        atomic_write_bytes(out / files[kind], data)
    manifest["models"][sc.name] = {
        "version": sc.version,
        "codec": cfg.codec,
        "subsampling": cfg.subsampling,
        "in_channels": cfg.in_channels,
        "code_channels": cfg.code_channels,
        "out_channels": cfg.out_channels,
        "scale": cfg.scale,
        "app": sc.app,
        "quality_range": list(cfg.quality_range),
        "pre": files["pre"],
        "pre_fixed": sc.model.pre is None,
        "post": files["post"],
        "post_int8": files.get("post_int8"),
        "sha256": {files[k]: hashlib.sha256(graphs[k]).hexdigest() for k in graphs},
        "opset": ONNX_OPSET,
    }
    with atomic_path(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    log.info("exported %s to %s", sc.name, out)
    return manifest_path
