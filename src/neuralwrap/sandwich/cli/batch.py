"""``sandwich encode|decode IN OUT`` and ``sandwich video encode IN OUT`` where IN is a folder, a glob or a
manifest: batch mode over :mod:`neuralwrap.sandwich.batch`. A single input file goes to the one-file commands
unchanged (``cli/files.py``, ``cli/onnx_files.py``, ``cli/video.py``, loaded only then).

The checks that can fail for the whole run come first (model, quality, output folder vs inputs) and exit 2
like every command; then each file succeeds, is skipped as already done, or fails on its own row of
``report.csv``. The exit code is 1 when any file failed, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from neuralwrap.cli_support import load_command
from neuralwrap.errors import InputError, UnsupportedOptionError
from neuralwrap.io.outputs import refuse_inputs
from neuralwrap.sandwich.batch.inputs import find_inputs, ignored_rows, is_batch_source

__all__ = ["AUTO_RAY_MIN", "cmd_decode", "cmd_encode", "cmd_video", "run_batch"]

#: ``--engine auto`` runs Ray (when installed) from this many inputs on; fewer run in-process
AUTO_RAY_MIN = 50
#: the one-file commands, loaded only when they run
SINGLE: dict[str, str] = {
    "encode": "neuralwrap.sandwich.cli.files:cmd_encode",
    "decode": "neuralwrap.sandwich.cli.onnx_files:cmd_decode",
    "video": "neuralwrap.sandwich.cli.video:cmd_video",
}


def cmd_encode(args: argparse.Namespace) -> int:
    """``sandwich encode``: batch mode for a folder/glob/manifest input, else the one-file command."""
    if not is_batch_source(args.input):
        return load_command(SINGLE, "encode")(args)
    return run_batch(args, "encode")


def cmd_decode(args: argparse.Namespace) -> int:
    """``sandwich decode``: batch mode for a folder/glob/manifest input, else the one-file command."""
    if not is_batch_source(args.input):
        return load_command(SINGLE, "decode")(args)
    if getattr(args, "backend", "torch") != "torch":
        raise UnsupportedOptionError("batch decode runs the torch backend; --backend onnx decodes one file per call")
    return run_batch(args, "decode")


def _video_batch(args: argparse.Namespace) -> bool:
    """``video encode`` in batch mode: a glob or manifest, or a folder given with an output that is not an
    ``.mp4`` (a folder with an ``.mp4`` output is one clip of PNG frames)."""
    if args.video_command != "encode" or not is_batch_source(args.input):
        return False
    return not (Path(args.input).is_dir() and Path(args.output).suffix.lower() == ".mp4")


def cmd_video(args: argparse.Namespace) -> int:
    """``sandwich video …``: ``video encode`` over a folder/glob/manifest of clips in batch mode, else as always."""
    if _video_batch(args):
        return run_batch(args, "video")
    return load_command(SINGLE, "video")(args)


def _spec(args: argparse.Namespace, kind: str, out_dir: Path) -> tuple[Any, str]:
    """Validate the model and settings once, in this process; the worker spec and the outputs' suffix."""
    from neuralwrap.sandwich.batch.worker import WorkSpec
    from neuralwrap.sandwich.cli.files import check_image_model, check_quality, codec_suffixes
    from neuralwrap.sandwich.inference.cards import warn_if_not_recommended
    from neuralwrap.sandwich.inference.codec import load_any

    common = {"kind": kind, "out_dir": str(out_dir.absolute()), "device": args.device, "force": args.force}
    if kind == "decode":
        model_id = ""
        if args.model_file:
            sc = load_any(args.model_file, args.device)
            model_id = f"{sc.name}@{sc.version}"
        return WorkSpec(model=args.model_file, model_id=model_id, options={"format": ".png"}, **common), ".png"
    ref = getattr(args, "model_file", None) or args.model
    sc = load_any(ref, args.device)
    if kind == "encode":
        check_image_model(sc)
        check_quality(sc, args.quality)
        options = {"alpha": args.alpha, "lossless_pass": not (args.no_lossless_pass and sc.config.codec == "jpeg")}
        suffix = codec_suffixes(sc.config.codec)[0]
        quality = args.quality
    else:
        if args.cond_quality is not None:
            check_quality(sc, args.cond_quality)
        keys = ("codec", "crf", "qp", "preset", "pix_fmt", "cond_quality", "max_frames", "size", "fps")
        options = {k: getattr(args, k) for k in keys}
        options.update(in_pix_fmt=args.in_pix_fmt, skip_corrupt=args.skip_corrupt)
        if options["preset"] is not None and str(options["preset"]).isdigit():
            options["preset"] = int(options["preset"])
        suffix, quality = ".mp4", None
    if not getattr(args, "model_file", None):
        warn_if_not_recommended(args.model)
    model_id = f"{sc.name}@{sc.version}"
    metrics = bool(getattr(args, "metrics", False))
    spec = WorkSpec(model=ref, model_id=model_id, quality=quality, metrics=metrics, options=options, **common)
    return spec, suffix


def _engine(args: argparse.Namespace, jobs: int) -> str:
    """``local`` or ``ray`` for ``--engine`` (``auto``: Ray when a cluster is named, or for ≥ AUTO_RAY_MIN inputs
    when Ray is installed)."""
    import os

    from neuralwrap.sandwich.batch.ray_engine import ray_available

    if args.engine == "ray" and not ray_available():
        raise UnsupportedOptionError("--engine ray needs Ray Data: pip install 'neuralwrap[ray]' (or --engine local)")
    if args.engine != "auto":
        return str(args.engine)
    if args.ray_address or os.environ.get("RAY_ADDRESS"):
        return "ray"
    return "ray" if jobs >= AUTO_RAY_MIN and ray_available() else "local"


def run_batch(args: argparse.Namespace, kind: str) -> int:
    """Run a batch of ``kind`` (``encode``, ``decode``, ``video``) from parsed arguments; returns the exit code."""
    from tqdm import tqdm

    from neuralwrap.sandwich.batch.report import summarize, summary_line, write_report
    from neuralwrap.sandwich.batch.state import run_state

    t0 = time.perf_counter()
    out_dir = Path(args.output)
    if out_dir.suffix.lower() in (".jpg", ".jpeg", ".webp", ".avif", ".heic", ".heif", ".png", ".mp4"):
        raise InputError(f"batch mode writes into a folder: {out_dir} looks like a file name (give a folder)")
    refuse_inputs(out_dir, [args.input])
    spec, suffix = _spec(args, kind, out_dir)
    found = find_inputs(args.input, out_dir, kind, suffix)
    report = Path(args.report) if args.report else out_dir / "report.csv"
    if report.suffix.lower() != ".csv":  # so it can never be one of the inputs (images, clips)
        raise InputError(f"--report {report}: give a name ending in .csv")
    refuse_inputs(report, [args.input])
    engine = _engine(args, len(found.jobs))
    rows: list[dict[str, Any]] = list(found.refused)
    start = len(found.jobs) + len(found.refused)
    rows += ignored_rows(found.ignored, start)
    what = "clips" if kind == "video" else "images"
    with run_state(out_dir) as state:
        jobs = [{**j, "prev": state.previous(str(j["output"]))} for j in found.jobs]
        bar = tqdm(total=len(jobs), desc=f"{kind} ({engine})", unit=what[:-1], disable=args.quiet)

        def on_rows(new: list[dict[str, Any]]) -> None:
            state.append(new)
            rows.extend(new)
            bar.update(len(new))

        try:
            workers = _run(engine, args, jobs, spec, on_rows)
        finally:
            bar.close()
            write_report(report, rows)  # also on Ctrl-C: what was done so far
    summary = summarize(rows, time.perf_counter() - t0)
    summary.update(output=str(out_dir), report=str(report), engine=engine, workers=workers)
    summary["excluded"] = found.excluded
    if not args.quiet:
        print(f"sandwich {kind}: {summary_line(summary, what)}; report {report}", file=sys.stderr)
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


def _run(engine: str, args: argparse.Namespace, jobs: list[dict[str, Any]], spec: Any, on_rows: Any) -> int:
    """Run the jobs on ``engine``; the number of workers used."""
    if not jobs:
        return 0
    if engine == "ray":
        from neuralwrap.sandwich.batch.ray_engine import run_ray

        return run_ray(
            jobs,
            spec,
            on_rows,
            address=args.ray_address,
            num_cpus=args.num_cpus,
            gpus_per_worker=args.num_gpus_per_worker,
            batch_size=args.batch_size,
            verbose=args.verbose,
        )
    from neuralwrap.sandwich.batch.local import run_local

    return run_local(jobs, spec, on_rows, threads=args.num_cpus, batch_size=args.batch_size)
