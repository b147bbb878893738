"""Implementations of the ``sandwich`` subcommands (parsing lives in :mod:`neuralwrap.sandwich.cli.main`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import read_image
from neuralwrap.io.outputs import check_output, refuse_inputs
from neuralwrap.nn import UNET_PRESETS
from neuralwrap.rd.sweep import load_images
from neuralwrap.resources import require_data
from neuralwrap.sandwich.apps.multichannel import (
    GroupedSandwich,
    grouped_model_roundtrip,
    load_grouped,
    train_grouped,
)
from neuralwrap.sandwich.apps.registry import AppSpec, get_app, list_apps
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig, processor_widths
from neuralwrap.sandwich.evaluation.bench import bench
from neuralwrap.sandwich.evaluation.demo import run_demo
from neuralwrap.sandwich.evaluation.image import EvalSpec, evaluate, evaluate_app
from neuralwrap.sandwich.inference.codec import SandwichCodec, load_any, save_model_file
from neuralwrap.sandwich.inference.transfer import match_conditioning
from neuralwrap.sandwich.inference.zoo import zoo_path
from neuralwrap.sandwich.models.image import Sandwich
from neuralwrap.sandwich.training.data import fixed_training_crops, load_photos
from neuralwrap.sandwich.training.image import (
    RateRefitHook,
    SandwichTrainConfig,
    train_sandwich,
)
from neuralwrap.train import (
    TrainConfig,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    read_checkpoint_meta,
)
from neuralwrap.train.distributed import leaving_process_group

__all__ = [
    "cmd_bench",
    "cmd_calibrate",
    "cmd_demo",
    "cmd_eval",
    "cmd_export",
    "cmd_train",
    "export_run",
    "parse_processor",
    "sandwich_train_config",
]

log = logging.getLogger("neuralwrap.sandwich")


def parse_processor(text: str) -> ProcessorConfig | None:
    """``none`` | ``tiny`` | ``slim`` | ``default`` | ``ENC/DEC`` (e.g. ``16,32/64,32,16``) → ProcessorConfig."""
    if text == "none":
        return None
    if text in UNET_PRESETS:
        enc, dec = UNET_PRESETS[text]
        return ProcessorConfig(unet_enc=tuple(enc), unet_dec=tuple(dec))
    enc, dec = processor_widths(text)
    return ProcessorConfig(unet_enc=enc, unet_dec=dec)


def _model_pair(path: str | Path | None) -> list[Path]:
    """A model file and its JSON sidecar (both are inputs or outputs together); [] for None or a shipped name."""
    if path is None or not str(path).endswith(".safetensors"):
        return []
    return [Path(path), Path(path).with_suffix(".json")]


def _check_model_output(output: str, inputs: list[Path], force: bool) -> None:
    """A model-file output: ``.safetensors`` (its ``.json`` beside it), neither one an input, replaced only with --force."""
    for path in _model_pair(output) or [Path(output)]:
        check_output(path, inputs, force=force, suffixes=(".safetensors", ".json"))
    if not output.endswith(".safetensors"):
        raise InputError(f"output {output}: a model file name must end in .safetensors")


def _model_label(ref: str) -> str:
    return Path(ref).stem if ref.endswith(".safetensors") else ref


def _eval_models(args: argparse.Namespace) -> dict[str, SandwichCodec]:
    """The ``--model`` models of an eval, by label, once ``--out`` is checked against the data and model files."""
    refuse_inputs(args.out, [args.data, *(p for m in args.model for p in _model_pair(m))])
    return {_model_label(m): load_any(m, args.device) for m in args.model}


def sandwich_train_config(args: argparse.Namespace, app: AppSpec | None) -> SandwichConfig:
    """The sandwich config of ``sandwich train``: the app's (if any) with the given flags on top."""
    base = app.config if app is not None else SandwichConfig(pre=ProcessorConfig(), post=ProcessorConfig())
    over: dict[str, Any] = {}
    if getattr(args, "init", None):  # the processors' architecture comes with their weights
        init_cfg = load_any(args.init).config
        over.update(pre=init_cfg.pre, post=init_cfg.post)
    for flag in ("codec", "subsampling", "scale"):
        if getattr(args, flag) is not None:
            over[flag] = getattr(args, flag)
    if args.post is not None:
        over["post"] = parse_processor(args.post) or ProcessorConfig()  # (as before: "none" = the default post)
    if args.pre is not None:
        over["pre"] = parse_processor(args.pre)
    if args.qmin is not None or args.qmax is not None:
        lo, hi = base.quality_range
        over["quality_range"] = (args.qmin if args.qmin is not None else lo, args.qmax if args.qmax is not None else hi)
    return dataclasses.replace(base, **over)


def cmd_train(args: argparse.Namespace) -> int:
    app = None
    if args.app:
        app = get_app(args.app)
    cfg = sandwich_train_config(args, app)
    args.data = args.data or SandwichTrainConfig().data  # an app with its own data never reads it
    refuse_inputs(args.out, [args.data, *_model_pair(args.init)])
    if args.export:
        _check_model_output(args.export, [Path(args.data), *_model_pair(args.init)], force=True)
    max_s = (
        args.max_seconds
        if args.max_seconds is not None
        else (None if args.max_minutes is None else 60.0 * args.max_minutes)
    )
    tc = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        out_dir=args.out,
        num_workers=args.workers,
        grad_clip=args.grad_clip or None,
        ckpt_every=args.ckpt_every,
        resume=not args.no_resume,
        max_seconds=max_s,
        progress=not args.quiet,
        ckpt_seconds=60.0 * args.ckpt_minutes,
    )
    sw = SandwichTrainConfig(
        data=args.data,
        crop=args.crop,
        gamma=args.gamma,
        refit_every=args.refit_every,
        refit_crops=args.refit_crops,
        refit_crop=args.refit_crop,
        lr_schedule=args.lr_schedule,
        init=args.init,
        bottleneck_weight=args.bottleneck_weight,
    )

    t0 = time.time()
    with leaving_process_group():
        if app is not None and cfg.code_channels > 3:  # several 3-channel groups, one codec file each
            if args.init:
                raise InputError(f"--init is not supported for the grouped app {app.name}")
            if args.bottleneck_weight:
                raise InputError(f"--bottleneck-weight is not supported for the grouped app {app.name}")
            result = train_grouped(app, tc, sw, cfg)
        else:
            result = train_sandwich(cfg, tc, sw, app=app)
    result["wall_seconds"] = time.time() - t0
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 writes the outputs
        return 0
    atomic_write_bytes(Path(args.out) / "train_summary.json", json.dumps(result, indent=2, default=str).encode())
    if args.export:
        export_run(Path(args.out), Path(args.export), args.name or Path(args.out).name, "1")
    print(json.dumps({k: v for k, v in result.items() if k != "rate_refits"}, default=str))
    return 0


def export_run(run_dir: Path, output: Path, name: str, version: str) -> Path:
    """The latest checkpoint of a ``sandwich train`` run folder → an inference model file ``output`` (safetensors +
    JSON) named ``name`` / ``version``; returns its path."""
    ckpt = latest_checkpoint(run_dir)
    if ckpt is None:
        raise InputError(f"no checkpoint in {run_dir}")
    meta = read_checkpoint_meta(ckpt)
    model_cfg = meta["config"]["model"]
    cfg = SandwichConfig.from_dict(model_cfg["sandwich"])
    if model_cfg.get("grouped"):
        model: Sandwich = GroupedSandwich(cfg)
    else:
        model = Sandwich(cfg)
    load_checkpoint(ckpt, {"model": model})
    extra = {
        "trained_steps": meta["step"],
        "train": meta["config"]["train"],
        "sandwich_train": model_cfg.get("sandwich_train"),
        "rd_slope": model_cfg.get("rd_slope"),
    }
    for key in ("app", "grouped"):
        if model_cfg.get(key):
            extra[key] = model_cfg[key]
    return save_model_file(output, model, name, version, extra)


def cmd_export(args: argparse.Namespace) -> int:
    _check_model_output(args.output, [Path(args.run_dir)], force=args.force)
    path = export_run(Path(args.run_dir), Path(args.output), args.name, args.version)
    print(path)
    return 0


def _print_apps() -> int:
    for name, spec in list_apps().items():
        c = spec.config
        print(
            f"{name:20s} {c.codec} {c.subsampling} {c.in_channels}->{c.code_channels}->{c.out_channels} "
            f"scale {c.scale}, anchor {spec.anchor}: {spec.summary}"
        )
    return 0


def cmd_eval_app(args: argparse.Namespace) -> int:
    """``sandwich eval --app NAME --model M``: the models and the app's baselines on its test images."""
    app = get_app(args.app)
    models = _eval_models(args)
    for label, sc in models.items():
        if sc.app is not None and sc.app not in (app.name, app.transfer_from):
            log.warning("model %s was trained for app %s, evaluated on %s", label, sc.app, app.name)
    baselines = args.baseline
    if app.config.code_channels > 3:  # grouped models code one file per group: they run as extra roundtrips
        runs = {label: grouped_model_roundtrip(load_grouped(sc)) for label, sc in models.items()}
        app, models = dataclasses.replace(app, baselines={**app.baselines, **runs}), {}
        if baselines:
            baselines = [*baselines, *runs]
    summary = evaluate_app(
        app,
        models,
        args.out,
        data=args.data,
        qualities=args.qualities,
        baselines=baselines,
        limit=args.limit,
        progress=not args.quiet,
    )
    for label, s in summary["curves"].items():
        parts = []
        for base in summary["baselines"]:
            if base == label:
                continue
            bd = s.get("bd", {}).get(base, {})
            parts.append(
                f"vs {base}: {bd.get('bd_rate_img', float('nan')):+.1f}% / {bd.get('bd_psnr_img', float('nan')):+.2f} dB"
            )
        print(f"{label:22s} " + "; ".join(parts))
    print(f"report: {Path(args.out) / 'summary.json'}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.list_apps:
        return _print_apps()
    if args.app:
        return cmd_eval_app(args)
    if args.data is None:
        args.data = str(require_data("kodak"))
    if not args.model:
        raise InputError("give at least one --model (a shipped name or a model file)")
    models = _eval_models(args)
    first = next(iter(models.values())).config
    codec = args.codec or first.codec
    settings: dict[str, Any] = {}
    if codec == "jpeg":
        settings = {"subsampling": args.subsampling or first.subsampling, "optimize": True}
    elif args.subsampling:
        settings = {"subsampling": args.subsampling}
    images = load_images(args.data)
    if args.limit:
        images = dict(list(images.items())[: args.limit])
    spec = EvalSpec(
        codec=codec,
        settings=settings,
        plain_view=args.plain_view,
        **({"qualities": args.qualities} if args.qualities else {}),
    )
    if codec != first.codec:
        crops = [
            (c.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            for c in fixed_training_crops(
                load_photos(args.train_data or require_data("train", "--train-data")), 256, 12, seed=123
            )
        ]
        spec.cond_quality = match_conditioning(
            codec, spec.qualities, crops, {"subsampling": first.subsampling, "optimize": True}, settings
        )
        log.warning("transfer %s → %s: networks told JPEG qualities %s", first.codec, codec, spec.cond_quality)
    summary = evaluate(models, images, args.out, spec, progress=not args.quiet)
    for label, s in summary["curves"].items():
        bd = s.get("bd", {}).get(spec.anchor, {})
        print(
            f"{label:16s} BD-rate {bd.get('bd_rate_img', float('nan')):+.2f}%  BD-PSNR {bd.get('bd_psnr_img', float('nan')):+.3f} dB"
        )
    print(f"report: {Path(args.out) / 'summary.json'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    w, h = args.size
    if args.out:
        check_output(args.out, [args.image, *_model_pair(args.model)], force=True, suffixes=(".json",))
    image = None
    if args.image and Path(args.image).is_file():
        image = read_image(args.image)
        h, w = image.shape[:2]
    result = bench(load_any(args.model, args.device), (h, w), args.quality, args.repeat, image=image)
    result["image"] = args.image if image is not None else "synthetic"
    text = json.dumps(result, indent=2)
    if args.out:
        atomic_write_bytes(args.out, text.encode())
    print(text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    refuse_inputs(args.out, [args.data])
    report = run_demo(Path(args.out), Path(args.data) if args.data else None, args.images, progress=not args.quiet)
    print(f"demo written to {args.out}/ (report: {report})")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Refit a model's rate-proxy correction against the real codec on training crops (weights untouched)."""
    args.data = args.data or str(require_data("train"))
    _check_model_output(args.output, [*_model_pair(args.model), Path(args.data)], force=args.force)
    sc = load_any(args.model)
    crops = fixed_training_crops(load_photos(args.data), args.crop, args.crops, seed=args.seed)
    hook = RateRefitHook(crops, every=1)
    before = hook.refit(sc.model, momentum=0.0)["rate_rel_err"]
    after = hook.refit(sc.model, momentum=0.0)["rate_rel_err"]
    src = Path(args.model) if args.model.endswith(".safetensors") else zoo_path(args.model)
    extra = {k: v for k, v in load_weights(src).config.items() if k not in ("name", "version", "sandwich")}
    extra["rate_calibration"] = {
        "data": args.data,
        "crop": args.crop,
        "crops": args.crops,
        "seed": args.seed,
        "median_rel_err_before": before,
        "median_rel_err_after": after,
    }

    model = sc.model.to(memory_format=torch.contiguous_format)
    path = save_model_file(args.output, model, sc.name, sc.version, extra)
    print(json.dumps({"output": str(path), "median_rel_err_before": before, "median_rel_err_after": after}))
    return 0
