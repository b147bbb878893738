"""The ``rerender`` command line: ``capture``, ``train``, ``render``, ``eval`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuralwrap.cli_support import terminate_as_interrupt
from neuralwrap.errors import NeuralwrapError
from neuralwrap.io.outputs import refuse_inputs

__all__ = ["entry", "main"]


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to option help, except for flags, ``None`` defaults and help that states its own."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or isinstance(action.default, bool) or action.default in ([], argparse.SUPPRESS) \
                or "default" in text:
            return text
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerender", formatter_class=_Help,
                                     description="Neural rerendering in the wild: capture a landmark from photos "
                                     "(SfM + deep framebuffers), train the rerendering network, render novel views "
                                     "and appearances, evaluate on held-out photos, or render the shipped demo.")
    sub = parser.add_subparsers(dest="command")
    cap = sub.add_parser("capture", help="photos folder -> SfM, dense points, masks, deep-framebuffer dataset",
                         formatter_class=_Help,
                         description="Register a folder of landmark photos and write the deep-framebuffer dataset "
                         "to WORK_DIR/dataset (format: docs/RERENDER_DATASET.md). Re-running reuses finished steps.")
    cap.add_argument("photos_dir", metavar="PHOTOS_DIR", help="folder of the landmark photos")
    cap.add_argument("work_dir", metavar="WORK_DIR", help="output work dir (SfM, points, masks, dataset/)")
    cap.add_argument("--image-size", type=int, default=1024, help="longer side (px) of undistorted photos/buffers")
    cap.add_argument("--sift-max-image-size", type=int, default=1600, help="longer side (px) for SIFT")
    cap.add_argument("--single-camera", action="store_true", help="all photos share one camera (calibrated sequence)")
    cap.add_argument("--no-dense", action="store_true", help="skip densification; splat the sparse points only")
    cap.add_argument("--mvs", choices=("auto", "cpu", "colmap"), default="auto",
                     help="densifier: CPU plane sweep, COLMAP patch match (CUDA builds only), or auto")
    cap.add_argument("--dense-size", type=int, default=320, help="longer side (px) used by the CPU plane sweep")
    cap.add_argument("--splat-radius", type=int, default=1, help="point half-size (px)")
    cap.add_argument("--segmentation-model", default="",
                     help="DeepLabv3 tflite path; 'none' skips masks (default: the shipped model)")
    cap.add_argument("--device", default="cpu", help="torch device for splatting (cpu, cuda)")
    cap.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    _add_view_commands(sub)
    _add_train_parser(sub)
    return parser


# ------------------------------------------------------------------------------- train (issue 8 part A)
def _add_train_parser(sub: Any) -> None:
    """``rerender train``: staged training of the rerendering network on a finished capture."""
    trn = sub.add_parser("train", help="train the rerendering network on WORK_DIR/dataset (3 stages, resumable)",
                         formatter_class=_Help,
                         description="Stage 1: appearance encoder (style triplet loss); stage 2: generator + "
                         "discriminator with the encoder frozen; stage 3: joint fine-tuning. Checkpoints are written "
                         "every --ckpt-every steps and every --ckpt-minutes of wall time; Ctrl-C and the time budget "
                         "(--max-minutes / --max-seconds) stop with a checkpoint. Re-running the same command resumes "
                         "from the last checkpoint and runs the remaining stages. Writes OUT/model.{safetensors,json} "
                         "(EMA weights), OUT/scene.{safetensors,json} (points, cameras, appearance codes; once all "
                         "stages are done) and logs per stage.")
    trn.add_argument("work_dir", metavar="WORK_DIR", help="work dir of a finished `rerender capture`")
    trn.add_argument("--out", default=None, help="output folder (default: WORK_DIR/model)")
    trn.add_argument("--steps", type=int, nargs=3, default=None, metavar=("APPEARANCE", "RERENDER", "FINETUNE"),
                     help="steps of the three stages (default: 300 1000 300)")
    trn.add_argument("--size", type=_size_arg, default=(160, 120), help="training image size WxH in px "
                     "(default: 160x120)")
    trn.add_argument("--batch-size", type=int, default=4, help="images per step per process")
    trn.add_argument("--crop", type=_size_arg, default=None, help="random training crops WxH in px "
                     "(default: whole images)")
    trn.add_argument("--color-jitter", type=float, default=0.0, metavar="S",
                     help="appearance augmentation: random global colour changes of strength S on half the "
                          "training photos (0 = off; 1 = ±30%% exposure at one sigma; needs the appearance code)")
    trn.add_argument("--code-from-half", type=float, default=0.0, metavar="P",
                     help="with probability P per step the appearance encoder sees only the left or right half "
                          "of the training photos (trains codes read from part of a photo; 0 = off)")
    trn.add_argument("--vgg-downsample", type=int, default=1, help="average-pool factor before the VGG loss "
                     "(1 = paper; 2 = 4x cheaper, for CPU runs)")
    trn.add_argument("--no-appearance", action="store_true", help="no appearance encoder/code (skips stage 1)")
    trn.add_argument("--no-semantics", action="store_true", help="no transient-mask input channel")
    trn.add_argument("--holdout", nargs="+", default=[], metavar="NAME", help="photo names never trained on")
    trn.add_argument("--max-minutes", type=float, default=None, help="wall budget of this run in minutes, setup "
                     "included: stop with a checkpoint once spent, re-run to continue (default: no limit)")
    trn.add_argument("--max-seconds", type=float, default=None, help="the same budget in seconds "
                     "(overrides --max-minutes)")
    trn.add_argument("--ckpt-every", type=int, default=100, metavar="STEPS",
                     help="checkpoint every STEPS steps of a stage (0 = by time only)")
    trn.add_argument("--ckpt-minutes", type=float, default=2.0, metavar="MIN",
                     help="also checkpoint every MIN minutes of wall time (0 = by steps only): a killed run "
                          "loses at most about this much work")
    trn.add_argument("--seed", type=int, default=0, help="random seed")
    trn.add_argument("--max-points", type=int, default=150_000, help="points kept in OUT/scene.safetensors")
    trn.add_argument("--fit-codes", type=int, default=100, metavar="STEPS",
                     help="optimise each training photo's appearance code for STEPS Adam steps on the photo "
                          "(generator frozen) before it goes into OUT/scene (0 = the encoder's codes)")
    trn.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (no silent CPU fallback)")
    trn.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    trn.set_defaults(func=_train)


def _train_out(args: argparse.Namespace) -> Path:
    """The run folder of ``rerender train`` (``--out``, default ``WORK_DIR/model``)."""
    return Path(args.out) if args.out else Path(args.work_dir) / "model"


def _train(args: argparse.Namespace) -> int:
    import time

    from neuralwrap.rerender.checkpoint import load_rerenderer, save_scene_bundle
    from neuralwrap.rerender.models.networks import RerenderConfig
    from neuralwrap.rerender.training import (
        STAGES,
        RerenderTrainConfig,
        build_scene_bundle,
        require_capture,
        stage_progress,
        train_rerenderer,
    )
    from neuralwrap.train import resolve_device
    from neuralwrap.train.distributed import leaving_process_group

    t0 = time.monotonic()
    require_capture(args.work_dir)
    resolve_device(args.device)
    out = _train_out(args)
    steps = dict(zip(("steps_appearance", "steps_rerender", "steps_finetune"), args.steps)) if args.steps else {}
    budget = args.max_seconds if args.max_seconds is not None else (None if args.max_minutes is None else args.max_minutes * 60)
    cfg = RerenderConfig(width=args.size[0], height=args.size[1], use_appearance=not args.no_appearance,
                         use_semantics=not args.no_semantics, color_skip=True)
    tcfg = RerenderTrainConfig(**steps, batch_size=args.batch_size, crop=args.crop, vgg_downsample=args.vgg_downsample,
                               color_jitter=args.color_jitter, code_from_half=args.code_from_half,
                               holdout=args.holdout, seed=args.seed, device=args.device, max_seconds=budget,
                               ckpt_every=args.ckpt_every, ckpt_seconds=args.ckpt_minutes * 60)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    targets = dict(zip(STAGES, (tcfg.steps_appearance, tcfg.steps_rerender, tcfg.steps_finetune)))
    resumed = stage_progress(out)
    if resumed and main_rank:
        print("resuming: " + ", ".join(f"{k} {'done' if n >= targets[k] else 'from step'} {n}/{targets[k]}"
                                       for k, n in resumed.items()))
    with leaving_process_group():
        summary = train_rerenderer(args.work_dir, out, cfg, tcfg, progress=lambda stage: print(f"stage {stage}"),
                                   started_at=t0)
    if not main_rank:  # under torchrun, rank 0 writes the scene bundle and reports
        return 0
    for name, rec in summary["stages"].items():
        logs = ", ".join(f"{k} {v:.4g}" for k, v in rec["logs"].items())
        print(f"{name}: {rec['steps']}/{rec['target_steps']} steps{' (time budget)' if rec['truncated'] else ''}, "
              f"{rec['seconds']} s; {logs}")
    again = "re-run the same command to continue"
    if not summary["complete"]:
        print(f"time budget spent: checkpoints in {out}, unfinished model in {out}/model.safetensors; {again}")
        return 0
    try:
        bundle = build_scene_bundle(args.work_dir, load_rerenderer(out), holdout=args.holdout, max_points=args.max_points,
                                    seed=args.seed, code_fit_steps=args.fit_codes,
                                    deadline=None if budget is None else t0 + budget)
    except TimeoutError as exc:
        print(f"{exc}: model in {out}/model.safetensors, no scene bundle yet; {again}")
        return 0
    save_scene_bundle(out / "scene", bundle)
    print(f"model: {out}/model.safetensors; scene: {out}/scene.safetensors; held out: {summary['holdout']}; "
          f"summary: {out}/summary.json")
    return 0


class _Bars:
    """One tqdm bar per capture step (CLI layer only)."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(step)
        if bar is None:
            for other in self.bars.values():
                other.close()
            bar = self.bars[step] = tqdm(total=total, desc=f"{step:>9}", unit="it", leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _capture(args: argparse.Namespace) -> int:
    from neuralwrap.rerender.capture import (
        CaptureConfig,
        DensifyOptions,
        SfmOptions,
        run_capture,
    )

    cfg = CaptureConfig(sfm=SfmOptions(max_image_size=args.sift_max_image_size, single_camera=args.single_camera),
                        densify=DensifyOptions(max_size=args.dense_size), dense=not args.no_dense, mvs=args.mvs,
                        image_size=args.image_size, splat_radius=args.splat_radius,
                        segmentation_model=args.segmentation_model, device=args.device)
    refuse_inputs(args.work_dir, [args.photos_dir])
    bars = _Bars()
    try:
        summary = run_capture(args.photos_dir, args.work_dir, cfg, progress=bars)
    finally:
        bars.close()
    sfm = summary["sfm"]
    print(f"registered {len(sfm['registered'])} / {sfm['total']} photos; mean reprojection error "
          f"{sfm['mean_reprojection_error']:.3f} px; sparse points {summary['densify']['sparse_points']}, "
          f"dense points {summary['densify']['dense_points']}")
    if "skipped" in summary["masks"]:
        print(f"transient masks skipped: {summary['masks']['skipped']}")
    print(f"dataset: {args.work_dir}/dataset ({summary['dataset']['frames']} frames); timings (s): "
          f"{json.dumps(summary['timings_s'])}; summary: {args.work_dir}/capture.json")
    return 0


def _quiet_colmap() -> None:
    """Hide COLMAP's per-step INFO log lines (the progress bars say the same)."""
    try:
        import pycolmap

        pycolmap.logging.minloglevel = 2
    except (ImportError, AttributeError):  # pragma: no cover
        pass


# ---------------------------------------------------------------------- render / eval / demo (issue 8 part B)
def _size_arg(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 160x120, got {text!r}") from None
    if w < 8 or h < 8:
        raise argparse.ArgumentTypeError(f"size must be at least 8x8, got {text!r}")
    return w, h


def _add_view_commands(sub: Any) -> None:
    """Parsers of ``render``, ``eval`` and ``demo``."""
    ren = sub.add_parser("render", help="novel views / appearance sweeps of a trained scene -> PNG frames + MP4",
                         formatter_class=_Help,
                         description="Render a camera path of a trained scene (a capture WORK_DIR with a trained "
                         "model, or a scene bundle folder) with a given appearance; writes OUT/NAME.mp4 "
                         "(H.264 yuv420p), OUT/NAME/frame_*.png and OUT/NAME_sheet.png.")
    ren.add_argument("source", metavar="WORK_DIR_OR_BUNDLE", help="capture work dir with a trained model, or a "
                     "scene bundle folder")
    ren.add_argument("--model", default=None, help="trained model (folder or model.json); default WORK_DIR/model "
                     "or the bundle's own model")
    ren.add_argument("--path", default="fly", help="fly (through registered views), orbit, or a registered photo "
                     "name for a static viewpoint (default fly)")
    ren.add_argument("--appearance", default=None, help="PHOTO | CODE | interp:A,B — a registered photo name or image "
                     "file (encoded), 8 comma-separated floats / a .json / a bundle code name, or a linear sweep")
    ren.add_argument("--frames", type=int, default=48, help="number of frames")
    ren.add_argument("--fps", type=int, default=24, help="video frame rate (frames/s)")
    ren.add_argument("--out", required=True, help="output folder")
    ren.add_argument("--name", default=None, help="output file stem (default from --path)")
    ren.add_argument("--transients", choices=("remove", "keep"), default="remove",
                     help="keep the people of a registered photo's viewpoint (its mask) or render background")
    ren.add_argument("--size", type=_size_arg, default=None, help="output WIDTHxHEIGHT (default: the model's)")
    ren.add_argument("--max-keys", type=int, default=8, help="registered views used as fly keyframes")
    ren.add_argument("--splat-radius", type=int, default=None, help="point half-size in px (default: the capture's)")
    ren.add_argument("--no-frames", action="store_true", help="write only the video and contact sheet")
    ren.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    ren.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    ren.set_defaults(func=_render)
    ev = sub.add_parser("eval", help="held-out photos: code from the left half, PSNR/SSIM/LPIPS on the right half",
                        formatter_class=_Help,
                        description="Evaluate trained models on held-out photos against the raw point render and a "
                        "colour-transfer baseline; writes per_photo.csv, summary.json, metrics.png, side_by_side/.")
    ev.add_argument("work_dir", metavar="WORK_DIR", help="capture work dir holding the held-out photos")
    ev.add_argument("--model", action="append", required=True, metavar="[LABEL=]PATH",
                    help="model folder or model.json; repeat for several (e.g. full=a no_semantics=b)")
    ev.add_argument("--holdout", default=None, help="comma-separated held-out photo names (default: the model's)")
    ev.add_argument("--out", required=True, help="output folder")
    ev.add_argument("--size", type=_size_arg, default=None, help="evaluation WIDTHxHEIGHT (default: the first model's)")
    ev.add_argument("--lpips-net", choices=("alex", "vgg"), default="alex", help="LPIPS backbone")
    ev.add_argument("--fit-code", type=int, default=50, metavar="STEPS",
                    help="also report LABEL+fit: the appearance code optimised for STEPS Adam steps on the left half "
                         "(NeRF-W's protocol; 0 = encoder code only; default 50)")
    ev.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    ev.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    ev.set_defaults(func=_eval)
    de = sub.add_parser("demo", help="render the shipped pretrained scene: fly-through, appearance sweep, both",
                        formatter_class=_Help,
                        description="Render three videos of the shipped pretrained synthetic scene (no training, no "
                        "data needed) with contact sheets and report.md.")
    de.add_argument("--out", required=True, help="output folder")
    de.add_argument("--bundle", default=None, help="bundle folder (default: the shipped one)")
    de.add_argument("--fly-frames", type=int, default=48, help="frames of the fly-through video")
    de.add_argument("--interp-frames", type=int, default=24, help="frames of the appearance sweep video")
    de.add_argument("--fps", type=int, default=24, help="video frame rate (frames/s)")
    de.add_argument("--splat-radius", type=int, default=None, help="point half-size in px (default: the bundle's)")
    de.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    de.set_defaults(func=_demo)


def _bar(desc: str, total: int, unit: str = "frame") -> Any:
    """``(tqdm bar, progress(done, total) callback)``."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, leave=True)

    def update(done: int, n: int) -> None:
        bar.total = n
        bar.n = done
        bar.refresh()

    return bar, update


def _render(args: argparse.Namespace) -> int:
    from neuralwrap.errors import InputError
    from neuralwrap.rerender.render.appearance import appearance_schedule
    from neuralwrap.rerender.render.paths import PATH_KINDS, make_path, resolve_name
    from neuralwrap.rerender.render.frames import (
        SceneRenderer,
        appearance_context,
        load_render_source,
        render_sequence,
    )

    if args.frames < 1 or args.fps < 1:
        raise InputError(f"--frames and --fps must be >= 1, got {args.frames}, {args.fps}")
    refuse_inputs(args.out, [args.source, args.model])
    model, scene, extras = load_render_source(args.source, args.model, device=args.device, radius=args.splat_radius)
    r = SceneRenderer(model, scene, size=args.size)
    static = None if args.path in PATH_KINDS else resolve_name(args.path.removeprefix("photo:"), scene.cameras)
    cams = make_path(args.path, scene.cameras, args.frames, width=r.source_size[0], height=r.source_size[1],
                     max_keys=args.max_keys)
    codes = None
    if r.use_appearance:
        spec = args.appearance or _default_appearance(extras, scene, static)
        codes = appearance_schedule(spec, args.frames, appearance_context(r, extras["codes"], cams[0],
                                                                          extras["holdout"] if scene.dataset is None else ()))
    elif args.appearance:
        print("rerender: note: this model has no appearance code (use_appearance=False); --appearance ignored",
              file=sys.stderr)
    classes = _transient_classes(args.transients, scene, static)
    name = args.name or (static.rsplit(".", 1)[0] if static else args.path)
    bar, prog = _bar(f"render {name}", len(cams))
    try:
        res = render_sequence(r, cams, codes, args.out, name, fps=args.fps, classes=classes,
                              pngs=not args.no_frames, progress=prog)
    finally:
        bar.close()
    print(f"{res['frames']} frames {res['size'][0]}x{res['size'][1]} in {res['seconds']} s: {res['video']}, "
          f"{res['sheet']}" + (f", {res['frames_dir']}/frame_*.png" if res["frames_dir"] else ""))
    return 0


def _default_appearance(extras: dict[str, Any], scene: Any, static: str | None) -> str:
    """The static photo's own appearance, else the first bundle highlight / code, else the first photo."""
    if static is not None and (static in extras["codes"] or scene.dataset is not None):
        return static
    for name in list(extras["highlights"].values()) + list(extras["codes"]):
        return name
    return next(iter(scene.cameras))


def _transient_classes(mode: str, scene: Any, static: str | None) -> Any:
    if mode == "remove":
        return None
    if static is None:
        print("rerender: note: --transients keep needs a registered photo's viewpoint (--path NAME); novel views "
              "have no transient mask, rendering background", file=sys.stderr)
        return None
    if scene.dataset is None:
        print("rerender: note: a scene bundle stores no transient masks; rendering background", file=sys.stderr)
        return None
    classes = scene.frame(static).classes
    if classes is None:
        print(f"rerender: note: {static} has no transient mask (capture skipped masking); rendering background",
              file=sys.stderr)
    return classes


def _eval(args: argparse.Namespace) -> int:
    from neuralwrap.errors import InputError
    from neuralwrap.rerender.checkpoint import load_rerenderer
    from neuralwrap.rerender.evaluate import evaluate_rerender

    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
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
    bar, prog = _bar("eval", 1, unit="photo")
    try:
        s = evaluate_rerender(args.work_dir, models, args.out, holdout=holdout, size=args.size,
                              lpips_net=args.lpips_net, progress=prog, fit_code_steps=args.fit_code)
    finally:
        bar.close()
    print(f"held-out photos: {', '.join(s['holdout'])} at {s['size'][0]}x{s['size'][1]} (right halves)")
    print(f"{'method':<16} {'PSNR dB':>8} {'SSIM':>7} {'LPIPS':>7}")
    for m, v in s["methods"].items():
        print(f"{m:<16} {v['psnr']:8.2f} {v['ssim']:7.4f} {v['lpips']:7.4f}")
    print(f"written: {args.out}/per_photo.csv, summary.json, metrics.png, side_by_side/")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from neuralwrap.rerender.demo import run_demo

    bars: list[Any] = []

    def progress_for(name: str, total: int) -> Any:
        bar, prog = _bar(name, total)
        bars.append(bar)
        return prog

    try:
        s = run_demo(args.out, bundle_dir=args.bundle, fly_frames=args.fly_frames, interp_frames=args.interp_frames,
                     fps=args.fps, splat_radius=args.splat_radius, progress_for=progress_for)
    finally:
        for b in bars:
            b.close()
    for name, v in s["videos"].items():
        print(f"{name:>15}: {v['video']} ({v['frames']} frames, {v['seconds']} s), sheet {v['sheet']}")
    print(f"total {s['total_s']} s; report: {args.out}/report.md")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rerender`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 0
    try:
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        if not args.verbose:
            _quiet_colmap()
        return getattr(args, "func", _capture)(args)
    except NeuralwrapError as exc:
        print(f"rerender: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted_line(args), file=sys.stderr)
        return 130


def _interrupted_line(args: argparse.Namespace) -> str:
    """The one line printed on Ctrl-C (the training engine has checkpointed the steps done)."""
    if args.command != "train":
        return "rerender: interrupted"
    out = _train_out(args)
    if not any(out.glob("stage*/ckpt_*.json")):
        return "rerender train: interrupted before the first checkpoint (re-run the same command to start again)"
    return f"rerender train: interrupted; checkpoint saved in {out} (re-run the same command to resume)"


def entry() -> None:
    """Console-script entry point: SIGTERM unwinds like Ctrl-C (checkpoint saved, temporaries removed)."""
    terminate_as_interrupt()
    sys.exit(main())


if __name__ == "__main__":
    entry()
