"""``sandwich viewer OUT_DIR``: a static web site that decodes sandwich JPEGs in the browser
(:mod:`neuralwrap.sandwich.viewer.site`; docs/VIEWER.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralwrap.io.outputs import check_output

__all__ = ["cmd_viewer"]


def _model_files(models: list[str]) -> list[Path]:
    """The files behind ``--model`` values that are paths (model .safetensors and their .json): inputs the
    output folder must not hold."""
    files = []
    for ref in models:
        p = Path(ref)
        for f in (p, p.with_suffix(".safetensors"), p.with_suffix(".json")):
            if f.is_file():
                files.append(f)
    return files


def cmd_viewer(args: argparse.Namespace) -> int:
    """``sandwich viewer OUT_DIR [--model NAME …] [--force]``."""
    from neuralwrap.sandwich.viewer.site import write_site

    check_output(args.out_dir, _model_files(args.model), force=args.force, folder=True)
    result = write_site(args.out_dir, args.model)
    example = f"python3 -m http.server -d {args.out_dir}, then open http://localhost:8000/index.html?src=PHOTO.jpg"
    print(json.dumps({"output": args.out_dir, **result, "serve": example}))
    return 0
