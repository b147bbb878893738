"""The ``rerender`` command line. Implemented: ``capture``. Training and rendering land with later issues."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from neuralwrap.errors import NeuralwrapError

__all__ = ["entry", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerender", description="Neural rerendering in the wild: capture "
                                     "(SfM + deep framebuffers); train/render/eval are not implemented yet.")
    sub = parser.add_subparsers(dest="command")
    cap = sub.add_parser("capture", help="photos folder -> SfM, dense points, masks, deep-framebuffer dataset",
                         description="Register a folder of landmark photos and write the deep-framebuffer dataset "
                         "to WORK_DIR/dataset (format: docs/RERENDER_DATASET.md). Re-running reuses finished steps.")
    cap.add_argument("photos_dir", metavar="PHOTOS_DIR")
    cap.add_argument("work_dir", metavar="WORK_DIR")
    cap.add_argument("--image-size", type=int, default=1024, help="longer side (px) of undistorted photos/buffers")
    cap.add_argument("--sift-max-image-size", type=int, default=1600, help="longer side (px) for SIFT")
    cap.add_argument("--single-camera", action="store_true", help="all photos share one camera (calibrated sequence)")
    cap.add_argument("--no-dense", action="store_true", help="skip densification; splat the sparse points only")
    cap.add_argument("--mvs", choices=("auto", "cpu", "colmap"), default="auto",
                     help="densifier: CPU plane sweep, COLMAP patch match (CUDA builds only), or auto")
    cap.add_argument("--dense-size", type=int, default=320, help="longer side (px) used by the CPU plane sweep")
    cap.add_argument("--splat-radius", type=int, default=1, help="point half-size in pixels")
    cap.add_argument("--segmentation-model", default="", help="DeepLabv3 tflite path; 'none' skips masks")
    cap.add_argument("--device", default="cpu", help="torch device for splatting (cpu, cuda)")
    cap.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rerender`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        _quiet_colmap()
    try:
        return _capture(args)
    except NeuralwrapError as exc:
        print(f"rerender: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rerender: interrupted; finished steps are kept, run the same command again to resume", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
