"""The ``sandwich`` command line: train, eval, encode, decode, models, bench, export, calibrate, demo, video.

Every subcommand is reachable through :func:`main` (``main(argv) -> exit code``) so it can be tested
without a subprocess. Library errors become one-line messages and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from neuralwrap.cli_support import one_line_warnings, terminate_as_interrupt
from neuralwrap.errors import NeuralwrapError
from neuralwrap.resources import default_data
from neuralwrap.sandwich.cli.files import add_file_commands

__all__ = ["entry", "main", "parse_processor"]

log = logging.getLogger("neuralwrap.sandwich")
_FMT = argparse.ArgumentDefaultsHelpFormatter


def parse_processor(text: str):  # -> ProcessorConfig | None
    """``none`` | ``tiny`` | ``slim`` | ``default`` | ``ENC/DEC`` (e.g. ``16,32/64,32,16``) → ProcessorConfig."""
    from neuralwrap.nn import UNET_PRESETS
    from neuralwrap.sandwich.config import ProcessorConfig

    if text == "none":
        return None
    if text in UNET_PRESETS:
        enc, dec = UNET_PRESETS[text]
        return ProcessorConfig(unet_enc=tuple(enc), unet_dec=tuple(dec))
    try:
        enc_s, dec_s = text.split("/")
        enc = tuple(int(v) for v in enc_s.split(",") if v)
        dec = tuple(int(v) for v in dec_s.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"processor must be none/tiny/slim/default or ENC/DEC widths, got {text!r}") from exc
    if len(dec) != len(enc) + 1:
        raise argparse.ArgumentTypeError(f"{text!r}: DEC needs one more width than ENC")
    return ProcessorConfig(unet_enc=enc, unet_dec=dec)


def _processor_arg(text: str):  # -> ProcessorConfig | str
    """``parse_processor`` for ``sandwich train``, keeping ``"none"`` distinguishable from "not given"."""
    return "none" if text == "none" else parse_processor(text)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a sandwich through the codec proxy (torchrun-ready)", formatter_class=_FMT)
    p.add_argument("--app", default=None,
                   help="application preset (see `sandwich eval --list-apps`): its codec, channels, scale, processors, "
                        "data, distortion and λ(q) anchor; the flags below override it")
    p.add_argument("--codec", default=None, help="codec the proxy imitates (default: the app's, else jpeg)")
    p.add_argument("--subsampling", default=None, choices=["420", "444", "400"], help="default 420")
    p.add_argument("--scale", type=int, default=None, choices=[1, 2], help="code image resolution factor (default 1)")
    p.add_argument("--pre", type=_processor_arg, default=None,
                   help="none (post-only) | tiny | slim | default | ENC/DEC (default slim)")
    p.add_argument("--post", type=_processor_arg, default=None, help="tiny | slim | default | ENC/DEC (default slim)")
    p.add_argument("--init", default=None, metavar="MODEL",
                   help="shipped model name or model file whose pre/post processors (architecture and weights) "
                        "start the run (a warm start; --pre/--post override the architecture)")
    p.add_argument("--qmin", type=int, default=None, help="lowest training quality (default: the app's, else 5)")
    p.add_argument("--qmax", type=int, default=None, help="highest training quality (default: the app's, else 95)")
    p.add_argument("--data", default=_default_data("train"), help="folder of training photos (never Kodak)")
    p.add_argument("--crop", type=int, default=128, help="training crop side (pixels)")
    p.add_argument("--gamma", type=float, default=1.0, help="λ(q) = gamma × plain codec RD slope")
    p.add_argument("--steps", type=int, default=2000, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=16, help="crops per step (per process under torchrun)")
    p.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate")
    p.add_argument("--grad-clip", type=float, default=1.0, help="clip the global gradient norm (0 = off)")
    p.add_argument("--lr-schedule", default="cosine", choices=["cosine", "constant"], help="learning-rate schedule")
    p.add_argument("--seed", type=int, default=0, help="random seed (data order, crops, initialisation)")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, …)")
    p.add_argument("--workers", type=int, default=0, help="data-loader worker processes (0 = in the main process)")
    p.add_argument("--out", default="runs/sandwich", help="run folder: checkpoints, TensorBoard logs; resumed if present")
    p.add_argument("--ckpt-every", type=int, default=500, help="checkpoint every N steps")
    p.add_argument("--ckpt-minutes", type=float, default=2.0, metavar="MIN",
                   help="also checkpoint every MIN minutes of wall time (0 = by steps only)")
    p.add_argument("--refit-every", type=int, default=100, help="refit the rate proxy to the real codec every N steps")
    p.add_argument("--refit-crops", type=int, default=16, help="fixed training crops encoded at each rate refit")
    p.add_argument("--refit-crop", type=int, default=256, help="size of those crops (pixels)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget; stops early with a checkpoint")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out holds a checkpoint")
    p.add_argument("--export", metavar="PATH", help="also write the trained model file (safetensors + JSON) here")
    p.add_argument("--name", default=None, help="model name stored in exported files (default: out dir name)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock budget in seconds (overrides --max-minutes)")


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate models vs the plain codec (or an app's baselines) with the REAL codec",
                       formatter_class=_FMT)
    p.add_argument("--model", action="append", default=[], help="shipped model name or model file (repeatable)")
    p.add_argument("--app", default=None, help="evaluate on an application: its test images, baselines and anchor")
    p.add_argument("--list-apps", action="store_true", help="list the registered applications and exit")
    p.add_argument("--baseline", action="append", default=None,
                   help="with --app: run only these baselines (repeatable; the anchor always runs)")
    p.add_argument("--data", default=None, help="test images (default: Kodak, or the app's own test set)")
    p.add_argument("--codec", default=None, help="real codec to run (default: the first model's)")
    p.add_argument("--subsampling", default=None, help="420, 444 or 400 (default: the first model's)")
    p.add_argument("--qualities", type=int, nargs="+", default=None,
                   help="codec qualities of the sweep (default 5 10 15 20 30 … 90, or the app's)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0 = all)")
    p.add_argument("--train-data", default=_default_data("train"),
                   help="training photos used to match conditioning when --codec differs from the model's")
    p.add_argument("--device", default="cpu", help="torch device of the networks")
    p.add_argument("--out", default="runs/eval", help="report folder: records.csv, summary.json, RD plots")


def _add_files(sub: argparse._SubParsersAction) -> None:
    add_file_commands(sub)
    sub.add_parser("models", help="list the shipped pretrained models")
    p = sub.add_parser("export", help="latest training checkpoint → inference model file", formatter_class=_FMT)
    p.add_argument("run_dir", help="run folder of `sandwich train`")
    p.add_argument("output", help="model file to write (.safetensors; its .json beside it)")
    p.add_argument("--name", required=True, help="model name stored in the file and in every file it encodes")
    p.add_argument("--version", default="1", help="model version stored in the file")
    p.add_argument("--force", action="store_true", help="replace an existing output (never an input)")
    p = sub.add_parser("calibrate", help="refit a model's rate-proxy correction to the real codec (weights unchanged)",
                       formatter_class=_FMT)
    p.add_argument("model", help="model file (.safetensors) or shipped name")
    p.add_argument("output", help="where to write the recalibrated model file")
    p.add_argument("--data", default=_default_data("train"), help="folder of training photos (never Kodak)")
    p.add_argument("--crop", type=int, default=256, help="crop side (pixels)")
    p.add_argument("--crops", type=int, default=32, help="number of crops encoded with the real codec")
    p.add_argument("--seed", type=int, default=7, help="seed of the crop positions")
    p.add_argument("--force", action="store_true", help="replace an existing output (never an input)")
    p = sub.add_parser("bench", help="encode/decode throughput of pre + codec + post vs the plain codec",
                       formatter_class=_FMT)
    p.add_argument("--model", default="jpeg420", help="shipped model name or model file")
    p.add_argument("--size", default="768x512", help="WxH of the synthetic test image (when --image is not given)")
    p.add_argument("--image", default=_default_data("kodak/kodim01.png"),
                   help="benchmark on this photo (default Kodak kodim01, 768x512; synthetic if missing)")
    p.add_argument("--quality", type=int, default=50, help="codec quality")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions (the median is reported)")
    p.add_argument("--device", default="cpu", help="torch device of the networks")
    p.add_argument("--out", default=None, help="write the result JSON here")
    p = sub.add_parser("demo", help="run a shipped model on a Kodak image: decoded image, RD plot, comparison",
                       formatter_class=_FMT)
    p.add_argument("--out", default="demo_out", help="output folder (files, plots, report.md)")
    p.add_argument("--data", default=None, help="folder of test photos (default: the photos shipped with the package)")
    p.add_argument("--images", type=int, default=2, help="number of images in the RD sweep")


def _default_data(name: str) -> str | None:
    """Default of a data flag: ``name`` under $NEURALWRAP_DATA, ./shared/data or ../shared/data; None if absent."""
    found = default_data(name)
    return None if found is None else str(found)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one subparser per subcommand)."""
    parser = argparse.ArgumentParser(prog="sandwich", description="Sandwiched compression over standard codecs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_eval(sub)
    _add_files(sub)
    from neuralwrap.sandwich.cli.video import add_video

    add_video(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from neuralwrap.sandwich.cli import commands

    what = f"sandwich {args.command}" + (f" {args.video_command}" if args.command == "video" else "")
    try:
        with one_line_warnings(what):
            return int(getattr(commands, f"cmd_{args.command}")(args) or 0)
    except NeuralwrapError as exc:
        print(f"{what}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{what}: interrupted (no partial output was left; a training run resumes from its checkpoint)",
              file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point: SIGTERM unwinds like Ctrl-C, so temporaries are removed on that exit too."""
    warnings.simplefilter("default")
    terminate_as_interrupt()
    sys.exit(main())


if __name__ == "__main__":
    entry()
