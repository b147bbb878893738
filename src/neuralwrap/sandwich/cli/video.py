"""``sandwich video encode | decode | eval | train``: sandwiched video on the command line (streaming, real encoders;
``train`` trains a sandwich through the x265 video proxy, see :mod:`neuralwrap.sandwich.training.video`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.outputs import check_output
from neuralwrap.resources import require_data
from neuralwrap.sandwich.cli.files import check_quality

__all__ = ["add_video", "cmd_video"]

_FMT = argparse.ArgumentDefaultsHelpFormatter


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be WxH (e.g. 416x240), got {text!r}") from exc
    return w, h


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=_size, help="frame size WxH of a raw .yuv input")
    p.add_argument("--in-pix-fmt", default=None, help="pixel format of a raw .yuv input (yuv420p, yuv444p, gray, yuv420p10le)")
    p.add_argument("--fps", type=float, default=None, help="frame rate of inputs that have none (image folders, raw .yuv)")
    p.add_argument("--max-frames", type=int, default=None, help="code only the first N frames (default: all)")
    p.add_argument("--skip-corrupt", action="store_true",
                   help="skip frames of a damaged input video (counted) instead of failing")


def _add_model_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--model", action="append" if not required else None, required=required,
                   help="shipped model name (see `sandwich models`) or a model .safetensors file")
    p.add_argument("--device", default="cpu", help="torch device of the networks (cpu, cuda, …)")


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="replace an existing output (never one of the inputs)")


def add_video(sub: argparse._SubParsersAction) -> None:
    """Register ``sandwich video`` and its four subcommands."""
    video = sub.add_parser("video", help="sandwiched video over x264/x265/SVT-AV1 (per-frame networks)")
    vs = video.add_subparsers(dest="video_command", required=True)
    p = vs.add_parser("encode", help="clip → standard .mp4 (model id in its metadata)", formatter_class=_FMT)
    p.add_argument("input", help="folder of PNG frames, .y4m, raw .yuv (with --size/--in-pix-fmt) or any video file")
    p.add_argument("output", help="output .mp4")
    _add_model_args(p, required=True)
    p.add_argument("--codec", default="hevc", choices=["h264", "hevc", "av1"], help="video encoder (x264, x265, SVT-AV1)")
    p.add_argument("--crf", type=int, default=None, help="constant rate factor (default: the encoder's)")
    p.add_argument("--preset", default=None, help="encoder speed preset (default: the encoder's)")
    p.add_argument("--pix-fmt", default=None, help="coded format (default: the model's: gray, yuv420p or yuv444p)")
    p.add_argument("--qp", type=int, default=None, help="constant QP instead of --crf")
    p.add_argument("--cond-quality", type=int, default=None,
                   help="fix the networks' conditioning quality (default: video models 100-2*QP, image models matched)")
    _add_source_args(p)
    _add_force(p)
    p = vs.add_parser("decode", help="sandwich .mp4 → folder of PNG frames, or an .mp4 any player plays",
                      formatter_class=_FMT)
    p.add_argument("input", help="sandwich .mp4 written by `sandwich video encode`")
    p.add_argument("output", help="a folder (replaced whole: PNG frames frame_00000.png …), or a path ending in .mp4")
    p.add_argument("--model-file", default=None, help="model file to use instead of the shipped model the tag names")
    p.add_argument("--device", default="cpu", help="torch device of the networks")
    p.add_argument("--skip-corrupt", action="store_true",
                   help="skip frames the decoder reports corrupt (counted in the report) instead of failing")
    _add_force(p)
    p = vs.add_parser("eval", help="sandwich(es) vs plain encodes of a clip at several CRFs, real bytes",
                      formatter_class=_FMT)
    p.add_argument("input", help="clip: folder of PNG frames, .y4m, raw .yuv or any video file")
    _add_model_args(p, required=False)
    p.add_argument("--anchor", action="append", default=None,
                   help="plain PIX_FMT[@2] to compare with (@2: bicubic half resolution); the first is the BD anchor "
                        "(default: the first model's pixel format)")
    p.add_argument("--codec", default="hevc", choices=["h264", "hevc", "av1"], help="video encoder")
    p.add_argument("--crf", type=int, nargs="+", default=[22, 27, 32, 37], help="CRFs of the RD sweep")
    p.add_argument("--preset", default=None, help="encoder speed preset (default: the encoder's)")
    p.add_argument("--out", required=True, help="report folder: CSV/JSON, RD plot, side-by-side frames")
    p.add_argument("--lpips", action="store_true", help="also measure per-frame LPIPS (alex) and BD-rate under it")
    _add_source_args(p)
    _add_train(vs)


def _add_train(vs: argparse._SubParsersAction) -> None:
    p = vs.add_parser("train", help="train a sandwich through the x265 video proxy (synthetic-motion clips of photos)",
                      formatter_class=_FMT)
    p.add_argument("--pix-fmt", required=True, choices=["yuv444p", "yuv420p", "gray"],
                   help="pixel format the x265 proxy codes (the model's code format)")
    p.add_argument("--scale", type=int, default=1, choices=[1, 2],
                   help="2: half-resolution code frames (2× resolution over a low-resolution encode)")
    p.add_argument("--data", default=None, help="folder of training photos (never Kodak; default: train/ in "
                                                "$NEURALWRAP_DATA, ./shared/data or ../shared/data)")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget of this run")
    p.add_argument("--ckpt-minutes", type=float, default=2.0, metavar="MIN",
                   help="also checkpoint every MIN minutes of wall time (0 = by steps only)")
    p.add_argument("--batch-size", type=int, default=2, help="clips per step")
    p.add_argument("--frames", type=int, default=4, help="frames per training clip")
    p.add_argument("--size", type=int, default=96, help="square clip side in pixels")
    p.add_argument("--qp-range", type=int, nargs=2, default=[22, 42], help="x265 QPs sampled in training (low high)")
    p.add_argument("--scale-range", type=float, nargs=2, default=None,
                   help="photo resampling factors of the clips (e.g. 0.5 1.0; default: whole photo shrunk to the clip)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--grad-clip", type=float, default=1.0, help="clip the global gradient norm (0 = off)")
    p.add_argument("--gamma", type=float, default=1.0, help="multiplier of the plain x265 RD slope")
    p.add_argument("--calib-clips", type=int, default=8, help="clips encoded with real x265 to calibrate the rate proxy")
    p.add_argument("--init", default=None,
                   help="model file whose pre/post processors (architecture and weights) start the run")
    p.add_argument("--distortion", default="mse", choices=["mse", "lpips", "msssim"],
                   help="training distortion (lpips: 0.25 MSE + 0.75 LPIPS-alex, as the image jpeg420-lpips)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, …)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, logs; resumed if present)")
    p.add_argument("--export", default=None, help="write the inference model file (.safetensors + .json) here")
    p.add_argument("--name", default=None, help="model name stored in the file (default: the export file's stem)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (as the global -q)")


def _train(args: argparse.Namespace) -> int:
    from neuralwrap.sandwich.training.video import (
        VideoTrainConfig,
        export_video_model,
        train_video_sandwich,
        video_sandwich_config,
    )
    from neuralwrap.train import TrainConfig

    args.data = args.data or str(require_data("train"))
    qp_range = (int(args.qp_range[0]), int(args.qp_range[1]))
    cfg = video_sandwich_config(args.pix_fmt, qp_range, scale=args.scale)
    if args.init:  # the processors' architecture comes with their weights
        import dataclasses

        from neuralwrap.sandwich.inference.codec import load_model_file

        init_cfg = load_model_file(args.init).config
        cfg = dataclasses.replace(cfg, pre=init_cfg.pre, post=init_cfg.post)
    vt = VideoTrainConfig(pix_fmt=args.pix_fmt, data=args.data, frames=args.frames, size=args.size, qp_range=qp_range,
                          scale_range=None if args.scale_range is None else tuple(args.scale_range),
                          gamma=args.gamma, calib_clips=args.calib_clips, init=args.init, distortion=args.distortion)
    tc = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
                     out_dir=args.out, grad_clip=args.grad_clip, progress=not (args.no_progress or args.quiet),
                     max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
                     ckpt_every=max(50, args.steps // 10), log_every=10, ckpt_seconds=60.0 * args.ckpt_minutes)
    model, result = train_video_sandwich(cfg, tc, vt)
    if args.export:
        name = args.name or Path(args.export).stem
        path = export_video_model(model.cpu(), args.export, name)
        result["export"] = str(path)
    atomic_write_bytes(Path(args.out) / "summary.json", json.dumps(result, indent=1, default=str).encode())
    print(json.dumps({k: v for k, v in result.items() if k != "calibration"}, default=str))
    return 0


def _load(spec: str, device: str):  # -> SandwichCodec
    from neuralwrap.sandwich.inference.codec import load_any

    return load_any(spec, device)


def _source(args: argparse.Namespace):  # -> FrameSource
    from neuralwrap.io.video import open_frames

    return open_frames(args.input, size=args.size, pix_fmt=args.in_pix_fmt, fps=args.fps,
                       skip_corrupt=args.skip_corrupt)


def _preset(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.isdigit() else text


def cmd_video(args: argparse.Namespace) -> int:
    """Dispatch ``sandwich video …``."""
    from neuralwrap.sandwich.inference import video

    if args.video_command == "train":
        return _train(args)
    if args.video_command == "encode":
        sc = _load(args.model, args.device)
        if args.cond_quality is not None:
            check_quality(sc, args.cond_quality)
        check_output(args.output, [args.input, args.model], force=args.force, suffixes=(".mp4",))
        rep = video.encode_video(sc, _source(args), args.output, codec=args.codec,
                                 crf=args.crf, qp=args.qp, preset=_preset(args.preset), pix_fmt=args.pix_fmt,
                                 cond_quality=args.cond_quality, max_frames=args.max_frames, progress=not args.quiet)
        print(json.dumps(rep.to_dict()))
        return 0
    if args.video_command == "decode":
        if not Path(args.input).is_file():
            raise InputError(f"input file not found: {args.input}")
        sc = _load(args.model_file, args.device) if args.model_file else None
        suffix = Path(args.output).suffix.lower()
        if suffix not in ("", ".mp4"):
            raise InputError(f"output {args.output}: give a folder name (no extension) for PNG frames or a name "
                             "ending in .mp4")
        to_file = suffix == ".mp4"
        check_output(args.output, [args.input, args.model_file], force=args.force, folder=not to_file)
        rep = video.decode_video(args.input, args.output, sc=sc, device=args.device, progress=not args.quiet,
                                 skip_corrupt=args.skip_corrupt)
        print(json.dumps(rep.to_dict()))
        return 0
    from neuralwrap.sandwich.evaluation.video import (
        SandwichVideo,
        VideoEvalSpec,
        evaluate_video,
        parse_anchor,
    )

    if not args.model:
        raise InputError("sandwich video eval needs at least one --model")
    models = [_load(m, args.device) for m in args.model]
    anchors = args.anchor or [video.code_pix_fmt(models[0])]
    entries = [parse_anchor(a, args.codec) for a in anchors] + [SandwichVideo(m.name, m) for m in models]
    spec = VideoEvalSpec(codec=args.codec, crfs=tuple(args.crf), preset=_preset(args.preset), max_frames=args.max_frames,
                         lpips=args.lpips)
    summary = evaluate_video(entries, _source(args), args.out, spec)
    print(json.dumps(summary["entries"], indent=1))
    return 0
