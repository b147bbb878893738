"""Every ``sandwich`` option, in one place: the argument parsers of all commands. Light on purpose (no torch, no
codecs): ``sandwich --help`` loads only this, and each command's module loads when that command runs. Defaults
come from the config presets (:data:`~neuralwrap.sandwich.config.IMAGE_TRAIN`, :class:`SandwichTrainConfig`, …)."""

from __future__ import annotations

import argparse

from neuralwrap.cli_support import HelpFormatter, parse_size
from neuralwrap.errors import InputError
from neuralwrap.io.outputs import LOSSLESS_IMAGE_SUFFIXES
from neuralwrap.resources import default_data
from neuralwrap.sandwich.config import (
    IMAGE_TRAIN,
    VIDEO_TRAIN,
    SandwichTrainConfig,
    VideoTrainConfig,
    processor_widths,
)

__all__ = ["PROCESSOR_PRESETS", "build_parser"]

_FMT = HelpFormatter
_SW = SandwichTrainConfig()
_VT = VideoTrainConfig()
#: processor presets of ``--pre`` / ``--post`` (``none``: no pre-processor); widths in neuralwrap.nn.UNET_PRESETS
PROCESSOR_PRESETS = ("none", "tiny", "slim", "default")


def _default_data(name: str) -> str | None:
    """Default of a data flag: ``name`` under $NEURALWRAP_DATA, ./shared/data or ../shared/data; None if absent."""
    found = default_data(name)
    return None if found is None else str(found)


def _processor_name(text: str) -> str:
    """``none`` | ``tiny`` | ``slim`` | ``default`` | ``ENC/DEC`` widths (e.g. ``16,32/64,32,16``), checked for form
    here and turned into a processor config by the command."""
    if text not in PROCESSOR_PRESETS:
        try:
            processor_widths(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one subparser per subcommand)."""
    parser = argparse.ArgumentParser(prog="sandwich", description="Sandwiched compression over standard codecs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_eval(sub)
    _add_files(sub)
    add_video(sub)
    _add_onnx(sub)
    _add_viewer(sub)
    return parser


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a sandwich through the codec proxy (torchrun-ready)", formatter_class=_FMT)
    p.add_argument(
        "--app",
        default=None,
        help="application preset (see `sandwich eval --list-apps`): its codec, channels, scale, processors, "
        "data, distortion and λ(q) anchor; the flags below override it",
    )
    p.add_argument("--codec", default=None, help="codec the proxy imitates (default: the app's, else jpeg)")
    p.add_argument("--subsampling", default=None, choices=["420", "444", "400"], help="default 420")
    p.add_argument("--scale", type=int, default=None, choices=[1, 2], help="code image resolution factor (default 1)")
    p.add_argument(
        "--pre",
        type=_processor_name,
        default=None,
        help="none (post-only) | tiny | slim | default | ENC/DEC (default slim)",
    )
    p.add_argument("--post", type=_processor_name, default=None, help="tiny | slim | default | ENC/DEC (default slim)")
    p.add_argument(
        "--init",
        default=None,
        metavar="MODEL",
        help="shipped model name or model file whose pre/post processors (architecture and weights) "
        "start the run (a warm start; --pre/--post override the architecture)",
    )
    p.add_argument("--qmin", type=int, default=None, help="lowest training quality (default: the app's, else 5)")
    p.add_argument("--qmax", type=int, default=None, help="highest training quality (default: the app's, else 95)")
    p.add_argument("--data", default=_default_data("train"), help="folder of training photos (never Kodak)")
    p.add_argument("--crop", type=int, default=_SW.crop, help="training crop side (pixels)")
    p.add_argument("--gamma", type=float, default=_SW.gamma, help="λ(q) = gamma × plain codec RD slope")
    p.add_argument(
        "--bottleneck-weight",
        type=float,
        default=_SW.bottleneck_weight,
        metavar="MU",
        help="μ ≥ 0: add μ × MSE(decoded code image, source) to the loss, so a plain viewer (no post-processor) "
        "still shows a good picture (0 = off; 1 = as much weight as the post-processed result)",
    )
    p.add_argument("--steps", type=int, default=IMAGE_TRAIN.steps, help="optimiser steps")
    p.add_argument(
        "--batch-size", type=int, default=IMAGE_TRAIN.batch_size, help="crops per step (per process under torchrun)"
    )
    p.add_argument("--lr", type=float, default=IMAGE_TRAIN.lr, help="Adam learning rate")
    p.add_argument(
        "--grad-clip", type=float, default=IMAGE_TRAIN.grad_clip, help="clip the global gradient norm (0 = off)"
    )
    p.add_argument(
        "--lr-schedule", default=_SW.lr_schedule, choices=["cosine", "constant"], help="learning-rate schedule"
    )
    p.add_argument("--seed", type=int, default=IMAGE_TRAIN.seed, help="random seed (data order, crops, initialisation)")
    p.add_argument("--device", default=IMAGE_TRAIN.device, help="torch device (cpu, cuda, cuda:1, …)")
    p.add_argument(
        "--workers",
        type=int,
        default=IMAGE_TRAIN.num_workers,
        help="data-loader worker processes (0 = in the main process)",
    )
    p.add_argument(
        "--out", default=IMAGE_TRAIN.out_dir, help="run folder: checkpoints, TensorBoard logs; resumed if present"
    )
    p.add_argument("--ckpt-every", type=int, default=IMAGE_TRAIN.ckpt_every, help="checkpoint every N steps")
    p.add_argument(
        "--ckpt-minutes",
        type=float,
        default=IMAGE_TRAIN.ckpt_seconds / 60,
        metavar="MIN",
        help="also checkpoint every MIN minutes of wall time (0 = by steps only)",
    )
    p.add_argument(
        "--refit-every", type=int, default=_SW.refit_every, help="refit the rate proxy to the real codec every N steps"
    )
    p.add_argument(
        "--refit-crops", type=int, default=_SW.refit_crops, help="fixed training crops encoded at each rate refit"
    )
    p.add_argument("--refit-crop", type=int, default=_SW.refit_crop, help="size of those crops (pixels)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget; stops early with a checkpoint")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out holds a checkpoint")
    p.add_argument("--export", metavar="PATH", help="also write the trained model file (safetensors + JSON) here")
    p.add_argument("--name", default=None, help="model name stored in exported files (default: out dir name)")
    p.add_argument(
        "--max-seconds", type=float, default=None, help="wall-clock budget in seconds (overrides --max-minutes)"
    )


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate models vs the plain codec (or an app's baselines) with the REAL codec",
        formatter_class=_FMT,
    )
    p.add_argument("--model", action="append", default=[], help="shipped model name or model file (repeatable)")
    p.add_argument("--app", default=None, help="evaluate on an application: its test images, baselines and anchor")
    p.add_argument("--list-apps", action="store_true", help="list the registered applications and exit")
    p.add_argument(
        "--baseline",
        action="append",
        default=None,
        help="with --app: run only these baselines (repeatable; the anchor always runs)",
    )
    p.add_argument("--data", default=None, help="test images (default: Kodak, or the app's own test set)")
    p.add_argument("--codec", default=None, help="real codec to run (default: the first model's)")
    p.add_argument("--subsampling", default=None, help="420, 444 or 400 (default: the first model's)")
    p.add_argument(
        "--qualities",
        type=int,
        nargs="+",
        default=None,
        help="codec qualities of the sweep (default 5 10 15 20 30 … 90, or the app's)",
    )
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0 = all)")
    p.add_argument(
        "--plain-view",
        action="store_true",
        help="also measure each model's files opened by a plain decoder (no post-processor): what a viewer shows",
    )
    p.add_argument(
        "--train-data",
        default=_default_data("train"),
        help="training photos used to match conditioning when --codec differs from the model's",
    )
    p.add_argument("--device", default="cpu", help="torch device of the networks")
    p.add_argument("--out", default="runs/eval", help="report folder: records.csv, summary.json, RD plots")


def _add_files(sub: argparse._SubParsersAction) -> None:
    add_file_commands(sub)
    p = sub.add_parser("models", help="list the shipped models: status and measured figures (model cards)")
    p.add_argument("--all", action="store_true", help="also list retired models")
    p.add_argument("--json", action="store_true", help="print the whole table (every card) as JSON")
    p = sub.add_parser("export", help="latest training checkpoint → inference model file", formatter_class=_FMT)
    p.add_argument("run_dir", help="run folder of `sandwich train`")
    p.add_argument("output", help="model file to write (.safetensors; its .json beside it)")
    p.add_argument("--name", required=True, help="model name stored in the file and in every file it encodes")
    p.add_argument("--version", default="1", help="model version stored in the file")
    p.add_argument("--force", action="store_true", help="replace an existing output (never an input)")
    p = sub.add_parser(
        "calibrate",
        help="refit a model's rate-proxy correction to the real codec (weights unchanged)",
        formatter_class=_FMT,
    )
    p.add_argument("model", help="model file (.safetensors) or shipped name")
    p.add_argument("output", help="where to write the recalibrated model file")
    p.add_argument("--data", default=_default_data("train"), help="folder of training photos (never Kodak)")
    p.add_argument("--crop", type=int, default=256, help="crop side (pixels)")
    p.add_argument("--crops", type=int, default=32, help="number of crops encoded with the real codec")
    p.add_argument("--seed", type=int, default=7, help="seed of the crop positions")
    p.add_argument("--force", action="store_true", help="replace an existing output (never an input)")
    p = sub.add_parser(
        "bench", help="encode/decode throughput of pre + codec + post vs the plain codec", formatter_class=_FMT
    )
    p.add_argument("--model", default="jpeg420", help="shipped model name or model file")
    p.add_argument(
        "--size", type=parse_size, default="768x512", help="WxH of the synthetic test image (when --image is not given)"
    )
    p.add_argument(
        "--image",
        default=_default_data("kodak/kodim01.png"),
        help="benchmark on this photo (default Kodak kodim01, 768x512; synthetic if missing)",
    )
    p.add_argument("--quality", type=int, default=50, help="codec quality")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions (the median is reported)")
    p.add_argument("--device", default="cpu", help="torch device of the networks")
    p.add_argument("--out", default=None, help="write the result JSON here")
    p = sub.add_parser(
        "demo", help="run a shipped model on a Kodak image: decoded image, RD plot, comparison", formatter_class=_FMT
    )
    p.add_argument("--out", default="demo_out", help="output folder (files, plots, report.md)")
    p.add_argument("--data", default=None, help="folder of test photos (default: the photos shipped with the package)")
    p.add_argument("--images", type=int, default=2, help="number of images in the RD sweep")


def add_file_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``encode`` and ``decode``."""
    p = sub.add_parser(
        "encode",
        help="image → standard file of the model's codec (e.g. .jpg), model id in its metadata",
        formatter_class=_FMT,
    )
    p.add_argument(
        "input",
        help="8- or 16-bit image (PNG, JPEG, TIFF, …); or, for a batch, a folder (recursive), a quoted glob, or a "
        "CSV/Parquet manifest with a 'path' column",
    )
    p.add_argument(
        "output",
        help="output file; its ending must match the model's codec (.jpg for jpeg models); a folder for a batch",
    )
    add_batch_args(p, metrics=True)
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="shipped model name (see `sandwich models`) or a model .safetensors file")
    model.add_argument("--model-file", metavar="PATH", help="your own model file (.safetensors with its .json)")
    p.add_argument(
        "--quality",
        type=int,
        required=True,
        help="codec quality, within the model's trained range (see `sandwich models`; 5..95 for most)",
    )
    p.add_argument(
        "--alpha",
        choices=["refuse", "drop"],
        default="refuse",
        help="an image with an alpha channel: refuse it, or drop the alpha and code the colour",
    )
    p.add_argument(
        "--no-lossless-pass",
        action="store_true",
        help="JPEG models: skip the lossless mozjpeg pass (progressive, optimised Huffman; same pixels, ~3%% smaller)",
    )
    _add_common(p)
    p = sub.add_parser(
        "decode",
        help="sandwich file → image (the model is found from the file's metadata)",
        formatter_class=_FMT,
    )
    p.add_argument(
        "input",
        help="file written by `sandwich encode` (or any JPEG/WebP/AVIF/HEIF, decoded plainly); or, for a batch, a "
        "folder, a quoted glob or a CSV/Parquet manifest",
    )
    p.add_argument(
        "output",
        help=f"decoded image; lossless formats only: {', '.join(LOSSLESS_IMAGE_SUFFIXES)}; a folder (of .png) for a "
        "batch",
    )
    add_batch_args(p)
    p.add_argument(
        "--model-file",
        metavar="PATH",
        default=None,
        help="model file to decode with, for files made by your own model (default: the shipped model the file names)",
    )
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="run the post-processor with PyTorch, or with onnxruntime from a folder written by "
        "`sandwich export-onnx` (torch is not loaded; needs --onnx-dir)",
    )
    p.add_argument("--onnx-dir", metavar="DIR", default=None, help="folder written by `sandwich export-onnx`")
    p.add_argument(
        "--int8",
        action="store_true",
        help="with --backend onnx: the int8 post-processor (`export-onnx --int8`), about 2.5x faster, up to 0.5 dB "
        "lower below q 80 and 1-1.4 dB at q 95",
    )
    _add_common(p)


def _add_onnx(sub: argparse._SubParsersAction) -> None:
    """Register ``export-onnx``."""
    p = sub.add_parser(
        "export-onnx",
        help="write a model's pre/post-processors as ONNX + manifest.json (for `decode --backend onnx`, browsers)",
        formatter_class=_FMT,
    )
    p.add_argument("model", nargs="?", default=None, help="shipped model name or model file (.safetensors)")
    p.add_argument("out_dir", help="folder to write into (created; other models' files in it are kept)")
    p.add_argument("--all", action="store_true", help="export every shipped one-file image model (no MODEL)")
    p.add_argument(
        "--int8",
        action="store_true",
        help="also write an int8 post-processor (static quantisation calibrated on the demo photos)",
    )


def _add_viewer(sub: argparse._SubParsersAction) -> None:
    """Register ``viewer``."""
    p = sub.add_parser(
        "viewer",
        help="write a static web site that decodes sandwich JPEGs in the browser (onnxruntime-web; docs/VIEWER.md)",
        formatter_class=_FMT,
    )
    p.add_argument("out_dir", help="folder to write (index.html, JavaScript, runtime, ONNX post-processors)")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        help="shipped model name or model file to include (repeatable; default: every shipped model a browser "
        "can show)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing folder whole (never one holding an input)")


def add_batch_args(p: argparse.ArgumentParser, metrics: bool = False) -> None:
    """The options of batch mode (a folder, glob or manifest in, a folder out; docs/BATCH.md)."""
    g = p.add_argument_group("batch mode (INPUT a folder, glob or manifest; OUTPUT a folder)")
    g.add_argument(
        "--engine",
        choices=["auto", "local", "ray"],
        default="auto",
        help="local: this process, one thread per core; ray: Ray Data actors (pip install 'neuralwrap[ray]'); "
        "auto: ray from 50 inputs on when installed, or when a cluster is named",
    )
    g.add_argument(
        "--ray-address",
        metavar="ADDR",
        default=None,
        help="join this Ray cluster (default: $RAY_ADDRESS, else a local Ray instance)",
    )
    g.add_argument(
        "--num-cpus",
        type=int,
        default=None,
        help="CPUs to use: local threads, or the local Ray instance's CPUs (default: all cores; a cluster uses its own)",
    )
    g.add_argument(
        "--num-gpus-per-worker",
        type=float,
        default=0.0,
        metavar="G",
        help="ray: GPUs per model actor (e.g. 1, or 0.5 for two actors per GPU); 0 = CPU actors",
    )
    g.add_argument("--batch-size", type=int, default=8, help="inputs per Ray actor call (local: queued per thread)")
    g.add_argument("--report", metavar="PATH", default=None, help="report CSV (default: OUTPUT/report.csv)")
    if metrics:
        g.add_argument("--metrics", action="store_true", help="also measure PSNR and MS-SSIM of each decoded output")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="torch device of the networks (cpu, cuda, cuda:1, …)")
    p.add_argument("--force", action="store_true", help="replace an existing output file (never one of the inputs)")


def add_video(sub: argparse._SubParsersAction) -> None:
    """Register ``sandwich video`` and its four subcommands."""
    video = sub.add_parser("video", help="sandwiched video over x264/x265/SVT-AV1 (per-frame networks)")
    vs = video.add_subparsers(dest="video_command", required=True)
    p = vs.add_parser("encode", help="clip → standard .mp4 (model id in its metadata)", formatter_class=_FMT)
    p.add_argument(
        "input",
        help="folder of PNG frames, .y4m, raw .yuv (with --size/--in-pix-fmt) or any video file; or, for a batch, a "
        "folder of clips, a quoted glob or a CSV/Parquet manifest",
    )
    p.add_argument("output", help="output .mp4; a folder (no .mp4 ending) for a batch of clips")
    add_batch_args(p)
    _add_model_args(p, required=True)
    p.add_argument(
        "--codec", default="hevc", choices=["h264", "hevc", "av1"], help="video encoder (x264, x265, SVT-AV1)"
    )
    p.add_argument("--crf", type=int, default=None, help="constant rate factor (default: the encoder's)")
    p.add_argument("--preset", default=None, help="encoder speed preset (default: the encoder's)")
    p.add_argument("--pix-fmt", default=None, help="coded format (default: the model's: gray, yuv420p or yuv444p)")
    p.add_argument("--qp", type=int, default=None, help="constant QP instead of --crf")
    p.add_argument(
        "--cond-quality",
        type=int,
        default=None,
        help="fix the networks' conditioning quality (default: video models 100-2*QP, image models matched)",
    )
    _add_source_args(p)
    _add_force(p)
    p = vs.add_parser(
        "decode", help="sandwich .mp4 → folder of PNG frames, or an .mp4 any player plays", formatter_class=_FMT
    )
    p.add_argument("input", help="sandwich .mp4 written by `sandwich video encode`")
    p.add_argument("output", help="a folder (replaced whole: PNG frames frame_00000.png …), or a path ending in .mp4")
    p.add_argument("--model-file", default=None, help="model file to use instead of the shipped model the tag names")
    p.add_argument("--device", default="cpu", help="torch device of the networks")
    p.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="skip frames the decoder reports corrupt (counted in the report) instead of failing",
    )
    _add_force(p)
    p = vs.add_parser(
        "eval", help="sandwich(es) vs plain encodes of a clip at several CRFs, real bytes", formatter_class=_FMT
    )
    p.add_argument("input", help="clip: folder of PNG frames, .y4m, raw .yuv or any video file")
    _add_model_args(p, required=False)
    p.add_argument(
        "--anchor",
        action="append",
        default=None,
        help="plain PIX_FMT[@2] to compare with (@2: bicubic half resolution); the first is the BD anchor "
        "(default: the first model's pixel format)",
    )
    p.add_argument("--codec", default="hevc", choices=["h264", "hevc", "av1"], help="video encoder")
    p.add_argument("--crf", type=int, nargs="+", default=[22, 27, 32, 37], help="CRFs of the RD sweep")
    p.add_argument("--preset", default=None, help="encoder speed preset (default: the encoder's)")
    p.add_argument("--out", required=True, help="report folder: CSV/JSON, RD plot, side-by-side frames")
    p.add_argument("--lpips", action="store_true", help="also measure per-frame LPIPS (alex) and BD-rate under it")
    _add_source_args(p)
    _add_video_train(vs)


def _add_video_train(vs: argparse._SubParsersAction) -> None:
    p = vs.add_parser(
        "train",
        help="train a sandwich through the x265 video proxy (synthetic-motion clips of photos)",
        formatter_class=_FMT,
    )
    p.add_argument(
        "--pix-fmt",
        required=True,
        choices=["yuv444p", "yuv420p", "gray"],
        help="pixel format the x265 proxy codes (the model's code format)",
    )
    p.add_argument(
        "--scale",
        type=int,
        default=1,
        choices=[1, 2],
        help="2: half-resolution code frames (2× resolution over a low-resolution encode)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="folder of training photos (never Kodak; default: train/ in "
        "$NEURALWRAP_DATA, ./shared/data or ../shared/data)",
    )
    p.add_argument("--steps", type=int, default=VIDEO_TRAIN.steps, help="optimiser steps")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget of this run")
    p.add_argument(
        "--ckpt-minutes",
        type=float,
        default=VIDEO_TRAIN.ckpt_seconds / 60,
        metavar="MIN",
        help="also checkpoint every MIN minutes of wall time (0 = by steps only)",
    )
    p.add_argument("--batch-size", type=int, default=VIDEO_TRAIN.batch_size, help="clips per step")
    p.add_argument("--frames", type=int, default=_VT.frames, help="frames per training clip")
    p.add_argument("--size", type=int, default=_VT.size, help="square clip side in pixels")
    p.add_argument(
        "--qp-range", type=int, nargs=2, default=list(_VT.qp_range), help="x265 QPs sampled in training (low high)"
    )
    p.add_argument(
        "--scale-range",
        type=float,
        nargs=2,
        default=None,
        help="photo resampling factors of the clips (e.g. 0.5 1.0; default: whole photo shrunk to the clip)",
    )
    p.add_argument("--lr", type=float, default=VIDEO_TRAIN.lr, help="Adam learning rate")
    p.add_argument(
        "--grad-clip", type=float, default=VIDEO_TRAIN.grad_clip, help="clip the global gradient norm (0 = off)"
    )
    p.add_argument("--gamma", type=float, default=_VT.gamma, help="multiplier of the plain x265 RD slope")
    p.add_argument(
        "--calib-clips",
        type=int,
        default=_VT.calib_clips,
        help="clips encoded with real x265 to calibrate the rate proxy",
    )
    p.add_argument(
        "--init", default=None, help="model file whose pre/post processors (architecture and weights) start the run"
    )
    p.add_argument(
        "--distortion",
        default=_VT.distortion,
        choices=["mse", "lpips", "msssim"],
        help="training distortion (lpips: 0.25 MSE + 0.75 LPIPS-alex, as the image jpeg420-lpips)",
    )
    p.add_argument("--seed", type=int, default=VIDEO_TRAIN.seed, help="random seed")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, …)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, logs; resumed if present)")
    p.add_argument("--export", default=None, help="write the inference model file (.safetensors + .json) here")
    p.add_argument("--name", default=None, help="model name stored in the file (default: the export file's stem)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (as the global -q)")


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=parse_size, help="frame size WxH of a raw .yuv input")
    p.add_argument(
        "--in-pix-fmt", default=None, help="pixel format of a raw .yuv input (yuv420p, yuv444p, gray, yuv420p10le)"
    )
    p.add_argument(
        "--fps", type=float, default=None, help="frame rate of inputs that have none (image folders, raw .yuv)"
    )
    p.add_argument("--max-frames", type=int, default=None, help="code only the first N frames (default: all)")
    p.add_argument(
        "--skip-corrupt", action="store_true", help="skip frames of a damaged input video (counted) instead of failing"
    )


def _add_model_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "--model",
        action="append" if not required else None,
        required=required,
        help="shipped model name (see `sandwich models`) or a model .safetensors file",
    )
    p.add_argument("--device", default="cpu", help="torch device of the networks (cpu, cuda, …)")


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="replace an existing output (never one of the inputs)")
