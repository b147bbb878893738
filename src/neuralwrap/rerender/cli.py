"""The ``rerender`` command line: ``capture``, ``train``, ``render``, ``eval``, ``demo`` and ``make-landmark``.

This module only parses arguments and imports no torch, so ``rerender --help`` and argument errors answer at once.
:func:`main` then imports the module that runs the command, named in :data:`COMMANDS`
(:mod:`neuralwrap.rerender.commands`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from neuralwrap.cli_support import HelpFormatter, load_command, parse_size, run_command, terminate_as_interrupt

__all__ = ["COMMANDS", "build_parser", "entry", "main"]

#: command → ``"module:function"`` that runs it (``function(args) -> exit code``), imported only when it runs
COMMANDS: dict[str, str] = {
    "capture": "neuralwrap.rerender.commands:capture_command",
    "train": "neuralwrap.rerender.commands:train_command",
    "render": "neuralwrap.rerender.commands:render_command",
    "eval": "neuralwrap.rerender.commands:eval_command",
    "demo": "neuralwrap.rerender.commands:demo_command",
    "make-landmark": "neuralwrap.rerender.commands:make_landmark_command",
}


def _size_arg(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` → ``(width, height)`` in px (argparse type; at least 8x8)."""
    w, h = parse_size(text)
    if w < 8 or h < 8:
        raise argparse.ArgumentTypeError(f"size must be at least 8x8, got {text!r}")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    """The ``rerender`` argument parser: one sub-parser per command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="rerender",
        formatter_class=HelpFormatter,
        description="Neural rerendering in the wild: capture a landmark from photos "
        "(SfM + deep framebuffers), train the rerendering network, render novel views "
        "and appearances, evaluate on held-out photos, or render the shipped demo.",
    )
    sub = parser.add_subparsers(dest="command")
    cap = sub.add_parser(
        "capture",
        help="photos folder -> SfM, dense points, masks, deep-framebuffer dataset",
        formatter_class=HelpFormatter,
        description="Register a folder of landmark photos and write the deep-framebuffer dataset "
        "to WORK_DIR/dataset (format: docs/RERENDER_DATASET.md). Re-running reuses finished steps.",
    )
    cap.add_argument("photos_dir", metavar="PHOTOS_DIR", help="folder of the landmark photos")
    cap.add_argument("work_dir", metavar="WORK_DIR", help="output work dir (SfM, points, masks, dataset/)")
    cap.add_argument("--image-size", type=int, default=1024, help="longer side (px) of undistorted photos/buffers")
    cap.add_argument("--sift-max-image-size", type=int, default=1600, help="longer side (px) for SIFT")
    cap.add_argument("--single-camera", action="store_true", help="all photos share one camera (calibrated sequence)")
    cap.add_argument(
        "--mapper",
        choices=("auto", "incremental", "global"),
        default="auto",
        help="SfM mapper: incremental (COLMAP), global (GLOMAP), or auto: incremental up to 400 photos, else global",
    )
    cap.add_argument(
        "--pairs",
        choices=("auto", "exhaustive", "retrieval", "sequential"),
        default="auto",
        help="photo pairs to match: all, the --neighbours most similar per photo (vocabulary built from the "
        "photos), neighbours in file-name order, or auto: exhaustive up to 60 photos, else retrieval",
    )
    cap.add_argument("--neighbours", type=int, default=20, help="photos matched per photo by --pairs retrieval")
    cap.add_argument("--no-dense", action="store_true", help="skip densification; splat the sparse points only")
    cap.add_argument(
        "--mvs",
        choices=("auto", "cpu", "colmap"),
        default="auto",
        help="densifier: CPU plane sweep, COLMAP patch match (CUDA builds only), or auto",
    )
    cap.add_argument("--dense-size", type=int, default=320, help="longer side (px) used by the CPU plane sweep")
    cap.add_argument("--splat-radius", type=int, default=1, help="point half-size (px)")
    cap.add_argument(
        "--segmentation-model",
        default="",
        help="DeepLabv3 tflite path; 'none' skips masks (default: the shipped model)",
    )
    cap.add_argument("--device", default="cpu", help="torch device for splatting (cpu, cuda)")
    cap.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    cap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_view_commands(sub)
    _add_train_parser(sub)
    _add_make_landmark_parser(sub)
    return parser


def _add_make_landmark_parser(sub: Any) -> None:
    """``rerender make-landmark``: the seeded in-the-wild synthetic benchmark collection."""
    mk = sub.add_parser(
        "make-landmark",
        help="write a synthetic in-the-wild photo collection of a landmark with ground truth (benchmark)",
        formatter_class=HelpFormatter,
        description="Render a seeded synthetic landmark collection like an internet one (varied cameras, "
        "time of day, weather, people/umbrellas/cars, about 10%% photos that should not register) into "
        "OUT/images (the input of `rerender capture`), with ground truth per photo: OUT/clean (no transients), "
        "OUT/reference (no transients, reference appearance), OUT/masks, OUT/ground_truth.json, and the "
        "held-out test list OUT/test.txt. Layout: docs/RERENDER_DATASET.md.",
    )
    mk.add_argument("out", metavar="OUT", help="output folder")
    mk.add_argument("--photos", type=int, default=400, help="photos in the collection (default 400)")
    mk.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    mk.add_argument(
        "--long-side",
        type=int,
        nargs="+",
        default=[320, 384, 448],
        metavar="PX",
        help="longer sides drawn per photo (default 320 384 448)",
    )
    mk.add_argument("--force", action="store_true", help="replace an existing OUT")
    mk.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    mk.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


# ----------------------------------------------------------------------------------------- train
def _add_train_parser(sub: Any) -> None:
    """``rerender train``: staged training of the rerendering network on a finished capture."""
    trn = sub.add_parser(
        "train",
        help="train the rerendering network on WORK_DIR/dataset (3 stages, resumable)",
        formatter_class=HelpFormatter,
        description="Stage 1: appearance encoder (style triplet loss); stage 2: generator + "
        "discriminator with the encoder frozen; stage 3: joint fine-tuning. Checkpoints are written "
        "every --ckpt-every steps and every --ckpt-minutes of wall time; Ctrl-C and the time budget "
        "(--max-minutes / --max-seconds) stop with a checkpoint. Re-running the same command resumes "
        "from the last checkpoint and runs the remaining stages. Writes OUT/model.{safetensors,json} "
        "(EMA weights), OUT/scene.{safetensors,json} (points, cameras, appearance codes; once all "
        "stages are done) and logs per stage.",
    )
    trn.add_argument("work_dir", metavar="WORK_DIR", help="work dir of a finished `rerender capture`")
    trn.add_argument("--out", default=None, help="output folder (default: WORK_DIR/model)")
    trn.add_argument(
        "--steps",
        type=int,
        nargs=3,
        default=None,
        metavar=("APPEARANCE", "RERENDER", "FINETUNE"),
        help="steps of the three stages (default: 300 1000 300)",
    )
    trn.add_argument(
        "--size", type=_size_arg, default=(320, 240), help="training image size WxH in px (default: 320x240)"
    )
    trn.add_argument("--batch-size", type=int, default=4, help="images per step per process")
    trn.add_argument(
        "--crop",
        type=_size_arg,
        default=(160, 120),
        help="random training crops WxH in px (default: 160x120, the cost per step of whole 160x120 images; "
        "a crop as large as --size trains on whole images)",
    )
    trn.add_argument(
        "--color-jitter",
        type=float,
        default=0.0,
        metavar="S",
        help="appearance augmentation: random global colour changes of strength S on half the "
        "training photos (0 = off; 1 = ±30%% exposure at one sigma; needs the appearance code)",
    )
    trn.add_argument(
        "--code-from-half",
        type=float,
        default=0.0,
        metavar="P",
        help="with probability P per step the appearance encoder sees only the left or right half "
        "of the training photos (trains codes read from part of a photo; 0 = off)",
    )
    trn.add_argument(
        "--vgg-downsample",
        type=int,
        default=1,
        help="average-pool factor before the VGG loss (1 = paper; 2 = 4x cheaper, for CPU runs)",
    )
    trn.add_argument("--no-appearance", action="store_true", help="no appearance encoder/code (skips stage 1)")
    trn.add_argument("--no-semantics", action="store_true", help="no transient-mask input channel")
    trn.add_argument("--holdout", nargs="+", default=[], metavar="NAME", help="photo names never trained on")
    trn.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall budget of this run in minutes, setup "
        "included: stop with a checkpoint once spent, re-run to continue (default: no limit)",
    )
    trn.add_argument(
        "--max-seconds", type=float, default=None, help="the same budget in seconds (overrides --max-minutes)"
    )
    trn.add_argument(
        "--ckpt-every",
        type=int,
        default=100,
        metavar="STEPS",
        help="checkpoint every STEPS steps of a stage (0 = by time only)",
    )
    trn.add_argument(
        "--ckpt-minutes",
        type=float,
        default=2.0,
        metavar="MIN",
        help="also checkpoint every MIN minutes of wall time (0 = by steps only): a killed run "
        "loses at most about this much work",
    )
    trn.add_argument("--seed", type=int, default=0, help="random seed")
    trn.add_argument("--max-points", type=int, default=150_000, help="points kept in OUT/scene.safetensors")
    trn.add_argument(
        "--fit-codes",
        type=int,
        default=100,
        metavar="STEPS",
        help="optimise each training photo's appearance code for STEPS Adam steps on the photo "
        "(generator frozen) before it goes into OUT/scene (0 = the encoder's codes)",
    )
    trn.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (no silent CPU fallback)")
    trn.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    trn.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


# ---------------------------------------------------------------------------- render / eval / demo
def _add_view_commands(sub: Any) -> None:
    """Parsers of ``render``, ``eval`` and ``demo``."""
    ren = sub.add_parser(
        "render",
        help="novel views / appearance sweeps of a trained scene -> PNG frames + MP4",
        formatter_class=HelpFormatter,
        description="Render a camera path of a trained scene (a capture WORK_DIR with a trained "
        "model, or a scene bundle folder) with a given appearance; writes OUT/NAME.mp4 "
        "(H.264 yuv420p), OUT/NAME/frame_*.png and OUT/NAME_sheet.png.",
    )
    ren.add_argument(
        "source", metavar="WORK_DIR_OR_BUNDLE", help="capture work dir with a trained model, or a scene bundle folder"
    )
    ren.add_argument(
        "--model",
        default=None,
        help="trained model (folder or model.json); default WORK_DIR/model or the bundle's own model",
    )
    ren.add_argument(
        "--path",
        default="fly",
        help="fly (through registered views), orbit, or a registered photo name for a static viewpoint (default fly)",
    )
    ren.add_argument(
        "--appearance",
        default=None,
        help="PHOTO | CODE | interp:A,B — a registered photo name or image "
        "file (encoded), 8 comma-separated floats / a .json / a bundle code name, or a linear sweep",
    )
    ren.add_argument("--frames", type=int, default=48, help="number of frames")
    ren.add_argument("--fps", type=int, default=24, help="video frame rate (frames/s)")
    ren.add_argument("--out", required=True, help="output folder")
    ren.add_argument("--name", default=None, help="output file stem (default from --path)")
    ren.add_argument(
        "--transients",
        choices=("remove", "keep"),
        default="remove",
        help="keep the people of a registered photo's viewpoint (its mask) or render background",
    )
    ren.add_argument("--size", type=_size_arg, default=None, help="output WIDTHxHEIGHT (default: the model's)")
    ren.add_argument("--max-keys", type=int, default=8, help="registered views used as fly keyframes")
    ren.add_argument("--splat-radius", type=int, default=None, help="point half-size in px (default: the capture's)")
    ren.add_argument("--no-frames", action="store_true", help="write only the video and contact sheet")
    ren.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    ren.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    ren.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ev = sub.add_parser(
        "eval",
        help="held-out photos: code from the left half, PSNR/SSIM/LPIPS on the right half",
        formatter_class=HelpFormatter,
        description="Evaluate trained models on held-out photos against the raw point render and a "
        "colour-transfer baseline; writes per_photo.csv, summary.json, metrics.png, side_by_side/.",
    )
    ev.add_argument("work_dir", metavar="WORK_DIR", help="capture work dir holding the held-out photos")
    ev.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="[LABEL=]PATH",
        help="model folder or model.json; repeat for several (e.g. full=a no_semantics=b)",
    )
    ev.add_argument("--holdout", default=None, help="comma-separated held-out photo names (default: the model's)")
    ev.add_argument("--out", required=True, help="output folder")
    ev.add_argument("--size", type=_size_arg, default=None, help="evaluation WIDTHxHEIGHT (default: the first model's)")
    ev.add_argument("--lpips-net", choices=("alex", "vgg"), default="alex", help="LPIPS backbone")
    ev.add_argument(
        "--fit-code",
        type=int,
        default=50,
        metavar="STEPS",
        help="also report LABEL+fit: the appearance code optimised for STEPS Adam steps on the left half "
        "(NeRF-W's protocol; 0 = encoder code only; default 50)",
    )
    ev.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    ev.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    de = sub.add_parser(
        "demo",
        help="render the shipped pretrained scene: fly-through, appearance sweep, both",
        formatter_class=HelpFormatter,
        description="Render three videos of the shipped pretrained synthetic scene (no training, no "
        "data needed) with contact sheets and report.md.",
    )
    de.add_argument("--out", required=True, help="output folder")
    de.add_argument("--bundle", default=None, help="bundle folder (default: the shipped one)")
    de.add_argument("--fly-frames", type=int, default=48, help="frames of the fly-through video")
    de.add_argument("--interp-frames", type=int, default=24, help="frames of the appearance sweep video")
    de.add_argument("--fps", type=int, default=24, help="video frame rate (frames/s)")
    de.add_argument("--splat-radius", type=int, default=None, help="point half-size in px (default: the bundle's)")
    de.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    de.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rerender`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return run_command("rerender", load_command(COMMANDS, args.command), args)


def entry() -> None:
    """Console-script entry point: SIGTERM unwinds like Ctrl-C (checkpoint saved, temporaries removed)."""
    terminate_as_interrupt()
    sys.exit(main())


if __name__ == "__main__":
    entry()
