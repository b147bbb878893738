"""What each ``rerender`` command does once its arguments are parsed (:mod:`neuralwrap.rerender.cli` parses them).

Every ``*_command(args) -> exit code`` takes the :class:`argparse.Namespace` of its sub-parser, prints its result
lines and raises :class:`~neuralwrap.errors.NeuralwrapError` for bad input (the CLI prints it as one line).
This module imports torch and every stage of the pipeline, so the CLI imports it only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from neuralwrap.errors import InputError
from neuralwrap.io.outputs import check_output, refuse_inputs
from neuralwrap.rerender.capture import (
    CaptureConfig,
    DensifyOptions,
    SfmOptions,
    run_capture,
)
from neuralwrap.rerender.capture.sfm import quiet_colmap_logs
from neuralwrap.rerender.checkpoint import load_rerenderer, save_scene_bundle
from neuralwrap.rerender.demo import run_demo
from neuralwrap.rerender.evaluate import evaluate_rerender
from neuralwrap.rerender.models.networks import RerenderConfig
from neuralwrap.rerender.render.appearance import appearance_schedule
from neuralwrap.rerender.render.frames import (
    PointScene,
    SceneRenderer,
    appearance_context,
    load_render_source,
    render_sequence,
)
from neuralwrap.rerender.render.paths import PATH_KINDS, make_path, resolve_name
from neuralwrap.rerender.training import (
    STAGES,
    RerenderTrainConfig,
    build_scene_bundle,
    require_capture,
    stage_progress,
    train_rerenderer,
)
from neuralwrap.synthetic.wild import WildOptions, make_wild_landmark
from neuralwrap.train import resolve_device
from neuralwrap.train.distributed import current_rank, leaving_process_group

__all__ = [
    "capture_command",
    "demo_command",
    "eval_command",
    "make_landmark_command",
    "render_command",
    "train_command",
]

#: ``progress(done, total)`` of one tqdm bar
Progress = Callable[[int, int], None]


def _bar(desc: str, total: int, unit: str = "frame", quiet: bool = False) -> tuple[tqdm, Progress]:
    """``(tqdm bar, progress(done, total) callback)``; ``quiet`` (``-q``) hides the bar."""
    bar = tqdm(total=total, desc=desc, unit=unit, leave=True, disable=quiet)

    def update(done: int, n: int) -> None:
        bar.total = n
        bar.n = done
        bar.refresh()

    return bar, update


# ------------------------------------------------------------------------------------------- capture
class _Bars:
    """One tqdm bar per capture step (a new step closes the bars before it)."""

    def __init__(self, quiet: bool = False) -> None:
        self.bars: dict[str, tuple[tqdm, Progress]] = {}
        self.quiet = quiet

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.bars:
            self.close()
            self.bars[step] = _bar(f"{step:>9}", total, unit="it", quiet=self.quiet)
        self.bars[step][1](done, total)

    def close(self) -> None:
        for bar, _ in self.bars.values():
            bar.close()


def capture_command(args: argparse.Namespace) -> int:
    """``rerender capture PHOTOS_DIR WORK_DIR``: SfM, densification, masks and the deep-framebuffer dataset."""
    if not args.verbose:
        quiet_colmap_logs()
    cfg = CaptureConfig(
        sfm=SfmOptions(
            max_image_size=args.sift_max_image_size,
            single_camera=args.single_camera,
            mapper=args.mapper,
            pairs=args.pairs,
            retrieval_neighbours=args.neighbours,
        ),
        densify=DensifyOptions(max_size=args.dense_size),
        dense=not args.no_dense,
        mvs=args.mvs,
        image_size=args.image_size,
        splat_radius=args.splat_radius,
        segmentation_model=args.segmentation_model,
        device=args.device,
    )
    refuse_inputs(args.work_dir, [args.photos_dir])
    bars = _Bars(quiet=args.quiet)
    try:
        summary = run_capture(args.photos_dir, args.work_dir, cfg, progress=bars)
    finally:
        bars.close()
    sfm, reg = summary["sfm"], summary["registration"]
    print(
        f"registered {reg['registered']} / {reg['total']} photos ({reg['mapper']} mapper, {reg['pairs']} pairs); "
        f"mean reprojection error {sfm['mean_reprojection_error']:.3f} px; sparse points "
        f"{summary['densify']['sparse_points']}, dense points {summary['densify']['dense_points']}"
    )
    if reg["rejected"]:
        shown = ", ".join(reg["rejected"][:20]) + (
            f", … ({len(reg['rejected']) - 20} more)" if len(reg["rejected"]) > 20 else ""
        )
        print(f"rejected {len(reg['rejected'])} photo(s) (unrelated or too different): {shown}")
    if "skipped" in summary["masks"]:
        print(f"transient masks skipped: {summary['masks']['skipped']}")
    print(
        f"dataset: {args.work_dir}/dataset ({summary['dataset']['frames']} frames); timings (s): "
        f"{json.dumps(summary['timings_s'])}; summary: {args.work_dir}/capture.json"
    )
    return 0


# --------------------------------------------------------------------------------------------- train
def train_command(args: argparse.Namespace) -> int:
    """``rerender train WORK_DIR``: the three training stages (resumable), then the scene bundle.

    Ctrl-C prints one line saying whether a checkpoint is there to resume from, and returns 130.
    """
    out = Path(args.out) if args.out else Path(args.work_dir) / "model"
    try:
        return _train(args, out)
    except KeyboardInterrupt:
        if not any(out.glob("stage*/ckpt_*.json")):
            print(
                "rerender train: interrupted before the first checkpoint (re-run the same command to start again)",
                file=sys.stderr,
            )
        else:
            print(
                f"rerender train: interrupted; checkpoint saved in {out} (re-run the same command to resume)",
                file=sys.stderr,
            )
        return 130


def _train(args: argparse.Namespace, out: Path) -> int:
    t0 = time.monotonic()
    require_capture(args.work_dir)
    resolve_device(args.device)
    steps = dict(zip(("steps_appearance", "steps_rerender", "steps_finetune"), args.steps)) if args.steps else {}
    budget = (
        args.max_seconds
        if args.max_seconds is not None
        else (None if args.max_minutes is None else args.max_minutes * 60)
    )
    cfg = RerenderConfig(
        width=args.size[0],
        height=args.size[1],
        use_appearance=not args.no_appearance,
        use_semantics=not args.no_semantics,
        color_skip=True,
    )
    tcfg = RerenderTrainConfig(
        **steps,
        progress=not args.quiet,
        batch_size=args.batch_size,
        crop=args.crop,
        vgg_downsample=args.vgg_downsample,
        color_jitter=args.color_jitter,
        code_from_half=args.code_from_half,
        holdout=args.holdout,
        seed=args.seed,
        device=args.device,
        max_seconds=budget,
        ckpt_every=args.ckpt_every,
        ckpt_seconds=args.ckpt_minutes * 60,
    )
    main_rank = current_rank() == 0
    targets = dict(zip(STAGES, (tcfg.steps_appearance, tcfg.steps_rerender, tcfg.steps_finetune)))
    resumed = stage_progress(out)
    if resumed and main_rank:
        print(
            "resuming: "
            + ", ".join(
                f"{k} {'done' if n >= targets[k] else 'from step'} {n}/{targets[k]}" for k, n in resumed.items()
            )
        )
    with leaving_process_group():
        summary = train_rerenderer(
            args.work_dir, out, cfg, tcfg, progress=lambda stage: print(f"stage {stage}"), started_at=t0
        )
    if not main_rank:  # under torchrun, rank 0 writes the scene bundle and reports
        return 0
    for name, rec in summary["stages"].items():
        logs = ", ".join(f"{k} {v:.4g}" for k, v in rec["logs"].items())
        print(
            f"{name}: {rec['steps']}/{rec['target_steps']} steps{' (time budget)' if rec['truncated'] else ''}, "
            f"{rec['seconds']} s; {logs}"
        )
    again = "re-run the same command to continue"
    if not summary["complete"]:
        print(f"time budget spent: checkpoints in {out}, unfinished model in {out}/model.safetensors; {again}")
        return 0
    try:
        bundle = build_scene_bundle(
            args.work_dir,
            load_rerenderer(out),
            holdout=args.holdout,
            max_points=args.max_points,
            seed=args.seed,
            code_fit_steps=args.fit_codes,
            deadline=None if budget is None else t0 + budget,
        )
    except TimeoutError as exc:
        print(f"{exc}: model in {out}/model.safetensors, no scene bundle yet; {again}")
        return 0
    save_scene_bundle(out / "scene", bundle)
    print(
        f"model: {out}/model.safetensors; scene: {out}/scene.safetensors; held out: {summary['holdout']}; "
        f"summary: {out}/summary.json"
    )
    return 0


# ------------------------------------------------------------------------------- render / eval / demo
def render_command(args: argparse.Namespace) -> int:
    """``rerender render WORK_DIR_OR_BUNDLE``: one camera path with one appearance → video, frames, contact sheet."""
    if args.frames < 1 or args.fps < 1:
        raise InputError(f"--frames and --fps must be >= 1, got {args.frames}, {args.fps}")
    refuse_inputs(args.out, [args.source, args.model])
    source = load_render_source(args.source, args.model, device=args.device, radius=args.splat_radius)
    scene = source.scene
    r = SceneRenderer(source.model, scene, size=args.size)
    static = None if args.path in PATH_KINDS else resolve_name(args.path.removeprefix("photo:"), scene.cameras)
    cams = make_path(
        args.path, scene.cameras, args.frames, width=r.source_size[0], height=r.source_size[1], max_keys=args.max_keys
    )
    codes = None
    if r.use_appearance:
        spec = args.appearance or source.default_appearance(static)
        ctx = appearance_context(r, source.named_codes, cams[0], source.without_code)
        codes = appearance_schedule(spec, args.frames, ctx)
    elif args.appearance:
        print(
            "rerender: note: this model has no appearance code (use_appearance=False); --appearance ignored",
            file=sys.stderr,
        )
    classes = _transient_classes(args.transients, scene, static)
    name = args.name or (static.rsplit(".", 1)[0] if static else args.path)
    bar, prog = _bar(f"render {name}", len(cams), quiet=args.quiet)
    try:
        res = render_sequence(
            r, cams, codes, args.out, name, fps=args.fps, classes=classes, pngs=not args.no_frames, progress=prog
        )
    finally:
        bar.close()
    print(
        f"{res['frames']} frames {res['size'][0]}x{res['size'][1]} in {res['seconds']} s: {res['video']}, "
        f"{res['sheet']}" + (f", {res['frames_dir']}/frame_*.png" if res["frames_dir"] else "")
    )
    return 0


def _transient_classes(mode: str, scene: PointScene, static: str | None) -> np.ndarray | None:
    """The class map whose transients ``--transients keep`` renders (None: background), with a note when none."""
    if mode == "remove":
        return None
    if static is None:
        print(
            "rerender: note: --transients keep needs a registered photo's viewpoint (--path NAME); novel views "
            "have no transient mask, rendering background",
            file=sys.stderr,
        )
        return None
    if scene.dataset is None:
        print("rerender: note: a scene bundle stores no transient masks; rendering background", file=sys.stderr)
        return None
    classes = scene.frame(static).classes
    if classes is None:
        print(
            f"rerender: note: {static} has no transient mask (capture skipped masking); rendering background",
            file=sys.stderr,
        )
    return classes


def eval_command(args: argparse.Namespace) -> int:
    """``rerender eval WORK_DIR --model …``: held-out photos, PSNR/SSIM/LPIPS on their right halves."""
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {args.device!r} was requested but no CUDA GPU is available")
    models = {}
    for i, spec in enumerate(args.model):
        label, _, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        label = label or ("ours" if len(args.model) == 1 else f"model{i + 1}")
        if label in models:
            raise InputError(f"duplicate model label {label!r}")
        models[label] = load_rerenderer(path, args.device)
    holdout = [h for h in args.holdout.split(",") if h] if args.holdout else None
    refuse_inputs(args.out, [args.work_dir, *(spec.rpartition("=")[2] for spec in args.model)])
    bar, prog = _bar("eval", 1, unit="photo", quiet=args.quiet)
    try:
        s = evaluate_rerender(
            args.work_dir,
            models,
            args.out,
            holdout=holdout,
            size=args.size,
            lpips_net=args.lpips_net,
            progress=prog,
            fit_code_steps=args.fit_code,
        )
    finally:
        bar.close()
    print(f"held-out photos: {', '.join(s['holdout'])} at {s['size'][0]}x{s['size'][1]} (right halves)")
    print(f"{'method':<16} {'PSNR dB':>8} {'SSIM':>7} {'LPIPS':>7}")
    for m, v in s["methods"].items():
        print(f"{m:<16} {v['psnr']:8.2f} {v['ssim']:7.4f} {v['lpips']:7.4f}")
    print(f"written: {args.out}/per_photo.csv, summary.json, metrics.png, side_by_side/")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """``rerender demo --out OUT``: the three videos of the shipped pretrained scene."""
    bars: list[tqdm] = []

    def progress_for(name: str, total: int) -> Progress:
        bar, prog = _bar(name, total, quiet=args.quiet)
        bars.append(bar)
        return prog

    try:
        s = run_demo(
            args.out,
            bundle_dir=args.bundle,
            fly_frames=args.fly_frames,
            interp_frames=args.interp_frames,
            fps=args.fps,
            splat_radius=args.splat_radius,
            progress_for=progress_for,
        )
    finally:
        for b in bars:
            b.close()
    for name, v in s["videos"].items():
        print(f"{name:>15}: {v['video']} ({v['frames']} frames, {v['seconds']} s), sheet {v['sheet']}")
    print(f"total {s['total_s']} s; report: {args.out}/report.md")
    return 0


# ------------------------------------------------------------------------------------- make-landmark
def make_landmark_command(args: argparse.Namespace) -> int:
    """``rerender make-landmark OUT``: the synthetic in-the-wild collection, written to ``OUT.partial`` and
    renamed to ``OUT`` when complete (an existing ``OUT`` is replaced only with ``--force``)."""
    out = check_output(args.out, force=args.force, folder=True)
    opts = WildOptions(photos=args.photos, seed=args.seed, long_sides=tuple(args.long_side))
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    bar, update = _bar("make-landmark", args.photos, unit="photo", quiet=args.quiet)
    t0 = time.perf_counter()
    try:
        doc = make_wild_landmark(partial, opts, progress=update)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        bar.close()
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    counts = ", ".join(f"{k} {v}" for k, v in doc["counts"].items())
    print(
        f"wrote {args.photos} photos to {out}/images ({counts}; {len(doc['test'])} held out in {out}/test.txt) "
        f"in {time.perf_counter() - t0:.1f} s; ground truth: {out}/ground_truth.json"
    )
    return 0
