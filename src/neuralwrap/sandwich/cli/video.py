"""``sandwich video encode | decode | eval | train``: sandwiched video on the command line (streaming, real encoders;
``train`` trains a sandwich through the x265 video proxy, see :mod:`neuralwrap.sandwich.training.video`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.outputs import check_output, refuse_inputs
from neuralwrap.io.video import FrameSource, open_frames
from neuralwrap.resources import require_data
from neuralwrap.sandwich.cli.files import check_quality
from neuralwrap.sandwich.evaluation.video import (
    SandwichVideo,
    VideoEvalSpec,
    evaluate_video,
    parse_anchor,
)
from neuralwrap.sandwich.inference import video
from neuralwrap.sandwich.inference.cards import warn_if_not_recommended
from neuralwrap.sandwich.inference.codec import load_any, load_model_file
from neuralwrap.sandwich.training.video import (
    VideoTrainConfig,
    export_video_model,
    train_video_sandwich,
    video_sandwich_config,
)
from neuralwrap.train import TrainConfig

__all__ = ["cmd_video"]


def _train(args: argparse.Namespace) -> int:
    args.data = args.data or str(require_data("train"))
    qp_range = (int(args.qp_range[0]), int(args.qp_range[1]))
    cfg = video_sandwich_config(args.pix_fmt, qp_range, scale=args.scale)
    if args.init:  # the processors' architecture comes with their weights
        init_cfg = load_model_file(args.init).config
        cfg = dataclasses.replace(cfg, pre=init_cfg.pre, post=init_cfg.post)
    vt = VideoTrainConfig(
        pix_fmt=args.pix_fmt,
        data=args.data,
        frames=args.frames,
        size=args.size,
        qp_range=qp_range,
        scale_range=None if args.scale_range is None else tuple(args.scale_range),
        gamma=args.gamma,
        calib_clips=args.calib_clips,
        init=args.init,
        distortion=args.distortion,
    )
    tc = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        out_dir=args.out,
        grad_clip=args.grad_clip,
        progress=not (args.no_progress or args.quiet),
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
        ckpt_every=max(50, args.steps // 10),
        log_every=10,
        ckpt_seconds=60.0 * args.ckpt_minutes,
    )
    model, result = train_video_sandwich(cfg, tc, vt)
    if args.export:
        name = args.name or Path(args.export).stem
        path = export_video_model(model.cpu(), args.export, name)
        result["export"] = str(path)
    atomic_write_bytes(Path(args.out) / "summary.json", json.dumps(result, indent=1, default=str).encode())
    print(json.dumps({k: v for k, v in result.items() if k != "calibration"}, default=str))
    return 0


def _source(args: argparse.Namespace) -> FrameSource:
    return open_frames(
        args.input, size=args.size, pix_fmt=args.in_pix_fmt, fps=args.fps, skip_corrupt=args.skip_corrupt
    )


def _preset(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.isdigit() else text


def cmd_video(args: argparse.Namespace) -> int:
    """Dispatch ``sandwich video …``."""
    if args.video_command == "train":
        return _train(args)
    if args.video_command == "encode":
        sc = load_any(args.model, args.device)
        if args.cond_quality is not None:
            check_quality(sc, args.cond_quality)
        check_output(args.output, [args.input, args.model], force=args.force, suffixes=(".mp4",))
        warn_if_not_recommended(args.model)  # every check passed: a model that is not "recommended" says so
        rep = video.encode_video(
            sc,
            _source(args),
            args.output,
            codec=args.codec,
            crf=args.crf,
            qp=args.qp,
            preset=_preset(args.preset),
            pix_fmt=args.pix_fmt,
            cond_quality=args.cond_quality,
            max_frames=args.max_frames,
            progress=not args.quiet,
        )
        print(json.dumps(rep.to_dict()))
        return 0
    if args.video_command == "decode":
        if not Path(args.input).is_file():
            raise InputError(f"input file not found: {args.input}")
        sc = load_any(args.model_file, args.device) if args.model_file else None
        suffix = Path(args.output).suffix.lower()
        if suffix not in ("", ".mp4"):
            raise InputError(
                f"output {args.output}: give a folder name (no extension) for PNG frames or a name ending in .mp4"
            )
        to_file = suffix == ".mp4"
        check_output(args.output, [args.input, args.model_file], force=args.force, folder=not to_file)
        rep = video.decode_video(
            args.input, args.output, sc=sc, device=args.device, progress=not args.quiet, skip_corrupt=args.skip_corrupt
        )
        print(json.dumps(rep.to_dict()))
        return 0
    if not args.model:
        raise InputError("sandwich video eval needs at least one --model")
    refuse_inputs(args.out, [args.input, *args.model])
    models = [load_any(m, args.device) for m in args.model]
    anchors = args.anchor or [video.code_pix_fmt(models[0])]
    entries = [parse_anchor(a, args.codec) for a in anchors] + [SandwichVideo(m.name, m) for m in models]
    spec = VideoEvalSpec(
        codec=args.codec,
        crfs=tuple(args.crf),
        preset=_preset(args.preset),
        max_frames=args.max_frames,
        lpips=args.lpips,
    )
    summary = evaluate_video(entries, _source(args), args.out, spec)
    print(json.dumps(summary["entries"], indent=1))
    return 0
