"""``sandwich encode`` / ``sandwich decode``: one image ⇄ one standard file, safe by default.

Every check that can fail runs before any work: the model file is validated, the quality must lie in the
model's trained range, the output's format must suit the command and the output may never be an input
(same path, symlink or hard link; ``--force`` replaces other existing files only). Outputs are written under
a temporary name and renamed. Alpha is refused unless ``--alpha drop``; 16-bit input is reduced to 8 bits
with a note on stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError, UnsupportedOptionError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import write_image
from neuralwrap.io.outputs import LOSSLESS_IMAGE_SUFFIXES, check_output
from neuralwrap.sandwich.inference.cards import warn_if_not_recommended
from neuralwrap.sandwich.inference.codec import (
    SandwichCodec,
    decode_file,
    load_any,
    load_model_file,
    read_source,
)

__all__ = ["check_image_model", "check_quality", "cmd_decode", "cmd_encode", "codec_suffixes"]

_ALIASES = {".jpg": (".jpg", ".jpeg"), ".heic": (".heic", ".heif")}
#: progress appears only for work that takes longer than this (seconds)
PROGRESS_DELAY_S = 2.0


def codec_suffixes(codec: str) -> tuple[str, ...]:
    """File name endings of an image codec's files (``jpeg`` → ``.jpg``, ``.jpeg``)."""
    suffix = str(getattr(get_codec(codec), "suffix", ""))
    return _ALIASES.get(suffix, (suffix,))


def check_quality(sc: SandwichCodec, quality: int) -> None:
    """The one rule for every model: a quality outside the model's trained range is refused (a model
    conditioned on q has never seen other values), naming the range."""
    lo, hi = sc.config.quality_range
    if not lo <= quality <= hi:
        raise InputError(f"--quality {quality} is outside model {sc.name}'s trained range {lo}..{hi}")


def _load(args: argparse.Namespace) -> SandwichCodec:
    if args.model_file:
        return load_model_file(args.model_file, args.device)
    return load_any(args.model, args.device)


def check_image_model(sc: SandwichCodec) -> None:
    """Refuse models that ``sandwich encode`` cannot run, naming the command that can."""
    if get_codec(sc.config.codec).kind == "video":
        raise InputError(f"model {sc.name} is a {sc.config.codec} video model: use `sandwich video encode`")
    if sc.config.code_channels not in (1, 3):
        raise UnsupportedOptionError(
            f"model {sc.name} codes several files per image; run it with "
            f"`sandwich eval --app {sc.app} --model {sc.name}`"
        )


def cmd_encode(args: argparse.Namespace) -> int:
    """``sandwich encode INPUT OUTPUT --model M --quality Q``."""
    if not Path(args.input).is_file():
        raise InputError(f"input file not found: {args.input}")
    sc = _load(args)
    check_image_model(sc)
    check_quality(sc, args.quality)
    model_inputs = [args.model_file] if args.model_file else []
    check_output(args.output, [args.input, *model_inputs], force=args.force, suffixes=codec_suffixes(sc.config.codec))
    if not args.model_file:  # every check passed: a shipped model that is not "recommended" says so, once
        warn_if_not_recommended(args.model)
    with tqdm(total=3, desc=f"encode {Path(args.input).name}", delay=PROGRESS_DELAY_S, disable=args.quiet) as bar:
        image = read_source(args.input, sc.name, args.alpha)
        bar.update()
        no_pass = getattr(args, "no_lossless_pass", False) and sc.config.codec == "jpeg"
        data = sc.encode(image, args.quality, **({"lossless_pass": False} if no_pass else {}))
        bar.update()
        atomic_write_bytes(args.output, data)
        bar.update()
    h, w = image.shape[:2]
    print(json.dumps({"output": args.output, "model": sc.name, "bytes": len(data), "bpp": 8 * len(data) / (h * w)}))
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    """``sandwich decode INPUT OUTPUT``."""
    p = Path(args.input)
    if not p.is_file():
        raise InputError(f"input file not found: {p}")
    sc = load_model_file(args.model_file, args.device) if args.model_file else None
    check_output(args.output, [args.input, args.model_file], force=args.force, suffixes=LOSSLESS_IMAGE_SUFFIXES)
    with tqdm(total=2, desc=f"decode {p.name}", delay=PROGRESS_DELAY_S, disable=args.quiet) as bar:
        image, tag = decode_file(p.read_bytes(), args.device, sc=sc)
        bar.update()
        write_image(args.output, image)
        bar.update()
    print(json.dumps({"output": args.output, "model": tag.model if tag else None}))
    return 0
