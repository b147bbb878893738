"""``sandwich export-onnx`` and the backend choice of ``sandwich decode``.

``decode --backend onnx`` runs :class:`~neuralwrap.sandwich.onnx.runtime.OnnxDecoder` and loads no torch: this
module imports only torch-free modules at the top, and the torch backend's command (``cli/files.py``) and the
exporter load only when they run. The output checks are the torch path's (docs/RELIABILITY.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralwrap.cli_support import load_command
from neuralwrap.errors import InputError, UnsupportedOptionError
from neuralwrap.io.outputs import LOSSLESS_IMAGE_SUFFIXES, check_output

__all__ = ["DECODE_BACKENDS", "cmd_decode", "cmd_decode_onnx", "cmd_export_onnx"]

#: ``--backend`` → ``module:function`` of ``sandwich decode`` (loaded when it runs: torch only for ``torch``)
DECODE_BACKENDS: dict[str, str] = {
    "torch": "neuralwrap.sandwich.cli.files:cmd_decode",
    "onnx": "neuralwrap.sandwich.cli.onnx_files:cmd_decode_onnx",
}


def cmd_decode(args: argparse.Namespace) -> int:
    """``sandwich decode INPUT OUTPUT [--backend torch|onnx]``."""
    if getattr(args, "int8", False) and args.backend != "onnx":
        raise UnsupportedOptionError("--int8 needs --backend onnx")
    return load_command(DECODE_BACKENDS, getattr(args, "backend", "torch"))(args)


def cmd_decode_onnx(args: argparse.Namespace) -> int:
    """``sandwich decode INPUT OUTPUT --backend onnx --onnx-dir DIR``: onnxruntime, no torch."""
    from neuralwrap.io.images import write_image
    from neuralwrap.sandwich.onnx.manifest import MANIFEST
    from neuralwrap.sandwich.onnx.runtime import OnnxDecoder

    p = Path(args.input)
    if not p.is_file():
        raise InputError(f"input file not found: {p}")
    if not args.onnx_dir:
        raise InputError("--backend onnx needs --onnx-dir DIR, a folder written by `sandwich export-onnx`")
    if args.model_file:
        raise UnsupportedOptionError(
            "--model-file is for the torch backend; export your model with `sandwich export-onnx MODEL_FILE DIR`"
        )
    if args.device != "cpu":
        raise UnsupportedOptionError(f"--device {args.device}: the ONNX backend runs on the CPU")
    decoder = OnnxDecoder(args.onnx_dir, int8=args.int8)
    check_output(
        args.output, [args.input, Path(args.onnx_dir) / MANIFEST], force=args.force, suffixes=LOSSLESS_IMAGE_SUFFIXES
    )
    image, tag = decoder.decode(p.read_bytes())
    write_image(args.output, image)
    print(json.dumps({"output": args.output, "model": tag.model if tag else None, "backend": "onnx"}))
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    """``sandwich export-onnx MODEL OUT_DIR`` / ``sandwich export-onnx --all OUT_DIR``."""
    if args.all == bool(args.model):
        raise InputError("give either MODEL or --all (every shipped one-file image model)")
    from neuralwrap.sandwich.onnx.export import export_onnx, exportable_models

    names = exportable_models() if args.all else [args.model]
    manifest = None
    for name in names:
        manifest = export_onnx(name, args.out_dir, int8=args.int8)
    print(json.dumps({"output": args.out_dir, "manifest": str(manifest), "models": names}))
    return 0
