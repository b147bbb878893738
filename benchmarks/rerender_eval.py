"""Held-out evaluation of neural rerendering (issue 8): full model vs. ablations vs. point-render baselines.

Scenes: the synthetic landmark (``make_landmark(30, 320, 240, seed=0)``, captured at 320 px, held-out photos
= those of the shipped demo bundle, see ``benchmarks/rerender_train_demo.py``) and
``../shared/data/landmarks/sacre_coeur`` (7 photos, captured at 1024 px, one photo held out), and ``wild``: an
in-the-wild collection from ``rerender make-landmark`` (``--wild-scene``; captured at 320 px as
``benchmarks/rerender_capture_scale.py --full`` does, so that capture is reused with ``--wild-photos`` /
``--wild-capture``), held-out photos = its ``test.txt`` (those that registered). Per scene three
models are trained with the same wall budget, one after another (``full``, ``no_appearance``,
``no_semantics``) and evaluated with ``neuralwrap.rerender.evaluate`` (appearance code from the left half of
each held-out photo, PSNR / SSIM / LPIPS on the right half) next to the raw point render and the Reinhard
Lab colour-transfer baseline.

Usage (one thread, one training at a time; ≈ 6 × budget + captures)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/rerender_eval.py --work /tmp/rr_eval --minutes 8

Writes ``OUT/rerender_eval.md`` (the table), ``OUT/rerender_eval.json`` and per scene ``OUT/<scene>/eval/``
(per-photo CSV, summary JSON, bar plot, side-by-side pictures). Re-running reuses finished captures and models.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import torch

from neuralwrap.rerender.capture import CaptureConfig, DensifyOptions, default_model_path, run_capture
from neuralwrap.rerender.checkpoint import load_rerenderer
from neuralwrap.rerender.evaluate import evaluate_rerender
from neuralwrap.rerender.models.networks import RerenderConfig
from neuralwrap.rerender.scene.dataset import RerenderDataset
from neuralwrap.rerender.training import RerenderTrainConfig, train_rerenderer
from neuralwrap.synthetic import make_landmark, write_landmark

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SYNTHETIC_HOLDOUT = ["photo_005.png", "photo_015.png", "photo_025.png"]  # as benchmarks/rerender_train_demo.py
SACRE_COEUR_HOLDOUT = ["44120379_8371960244.jpg"]
VARIANTS = {"full": {}, "no_appearance": {"use_appearance": False}, "no_semantics": {"use_semantics": False}}


def capture_wild(args: argparse.Namespace) -> tuple[Path, list[str], dict]:
    """Run (or reuse) the capture of the in-the-wild collection; held-out = the registered photos of test.txt."""
    photos = args.wild_photos or args.wild_scene / "images"
    work = args.wild_capture or args.work / "wild" / "work"
    s = run_capture(photos, work, CaptureConfig(image_size=320, densify=DensifyOptions(max_size=320)))
    registered = set(RerenderDataset(work / "dataset").names)
    test = (args.wild_scene / "test.txt").read_text().split()
    return work, args.holdout or [n for n in test if n in registered], s["timings_s"]


def capture(scene: str, work: Path, holdout: list[str] | None = None) -> tuple[Path, list[str], dict]:
    """Run (or reuse) the capture of ``scene``; returns the work dir, the held-out names and capture timings."""
    seg = str(default_model_path())
    if scene == "synthetic":
        images = work / "synthetic" / "input" / "images"
        if not images.is_dir():
            write_landmark(make_landmark(30, width=320, height=240, seed=0), work / "synthetic" / "input")
        s = run_capture(images, work / "synthetic" / "work", CaptureConfig(image_size=320, segmentation_model=seg))
        return work / "synthetic" / "work", holdout or SYNTHETIC_HOLDOUT, s["timings_s"]
    s = run_capture(DATA / "landmarks" / scene, work / scene / "work", CaptureConfig(segmentation_model=seg))
    return work / scene / "work", holdout or SACRE_COEUR_HOLDOUT, s["timings_s"]


def train(work: Path, out: Path, holdout: list[str], variant: str, minutes: float, args: argparse.Namespace) -> dict:
    """Train one variant (skipped when ``out/model.json`` exists); returns its training summary."""
    if (out / "model.json").is_file() and (out / "summary.json").is_file():
        done = json.loads((out / "summary.json").read_text())
        if done.get("complete", True):  # a budget-cut run resumes below instead of being reused
            return done
    cfg = RerenderConfig(width=args.size[0], height=args.size[1], color_skip=args.color_skip, **VARIANTS[variant])
    tcfg = RerenderTrainConfig(
        steps_appearance=args.steps[0],
        steps_rerender=args.steps[1],
        steps_finetune=args.steps[2],
        batch_size=args.batch_size,
        crop=tuple(args.crop),
        holdout=holdout,
        max_seconds=minutes * 60 if minutes > 0 else None,
        color_jitter=args.color_jitter,  # train_rerenderer drops it for no_appearance
        code_from_half=args.code_from_half,
        log_every=10,
        ckpt_every=100,
        seed=args.seed,
        tensorboard=False,
        progress=False,
    )
    return train_rerenderer(work, out, cfg, tcfg)


def _table(results: dict) -> str:
    lines = [
        "| scene | held-out | method | PSNR (dB) ↑ | SSIM ↑ | LPIPS ↓ | train steps (s1/s2/s3) | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scene, r in results["scenes"].items():
        for m, v in r["eval"]["methods"].items():
            tr = r["train"].get(m, {})
            steps = (
                "/".join(
                    str(tr.get("steps", {}).get(k, "–"))
                    for k in ("stage1_appearance", "stage2_rerender", "stage3_finetune")
                )
                if tr
                else ""
            )
            lines.append(
                f"| {scene} | {len(r['eval']['holdout'])} | {m} | {v['psnr']:.2f} | {v['ssim']:.4f} | "
                f"{v['lpips']:.4f} | {steps} | {tr.get('seconds', '')} |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/rr_eval"))
    p.add_argument("--out", type=Path, default=REPO / "runs" / "rerender_eval")
    p.add_argument("--scenes", nargs="+", default=["synthetic", "sacre_coeur"])
    p.add_argument("--wild-scene", type=Path, default=None, help="scene folder of `rerender make-landmark` (wild)")
    p.add_argument("--wild-photos", type=Path, default=None, help="photo folder to capture (default: SCENE/images)")
    p.add_argument("--wild-capture", type=Path, default=None, help="capture work folder (default: WORK/wild/work)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument(
        "--minutes",
        type=float,
        default=8.0,
        help="wall budget per model (all stages; 0 = none, run the --steps exactly)",
    )
    p.add_argument("--color-jitter", type=float, default=0.0, help="appearance augmentation strength (training)")
    p.add_argument(
        "--code-from-half",
        type=float,
        default=0.0,
        metavar="P",
        help="probability that the encoder sees only half the training photo (training)",
    )
    p.add_argument("--color-skip", action="store_true", help="colour-skip U-Net (as `rerender train`)")
    p.add_argument(
        "--holdout",
        nargs="+",
        default=None,
        metavar="NAME",
        help="photos to hold out (default: each scene's fixed set); for leave-one-out folds of one scene",
    )
    p.add_argument(
        "--steps", type=int, nargs=3, default=(200, 1400, 500), metavar=("APPEARANCE", "RERENDER", "FINETUNE")
    )
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--crop", type=int, nargs=2, default=(128, 96), metavar=("W", "H"))
    p.add_argument("--size", type=int, nargs=2, default=(160, 120), metavar=("W", "H"))
    p.add_argument("--seed", type=int, default=0, help="training seed (run-to-run spread: repeat with others)")
    p.add_argument(
        "--fit-code",
        type=int,
        default=50,
        metavar="STEPS",
        help="also evaluate every model with a code fitted on the left half (NeRF-W protocol)",
    )
    args = p.parse_args()
    if "wild" in args.scenes and (args.wild_scene is None or not (args.wild_scene / "test.txt").is_file()):
        p.error("--scenes wild needs --wild-scene: a folder written by `rerender make-landmark` (with test.txt)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    import pycolmap

    pycolmap.logging.minloglevel = 2
    results: dict = {
        "machine": f"{platform.machine()}, 2-core CPU shared with other jobs, 1 torch thread",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "minutes_per_model": args.minutes,
        "steps_target": list(args.steps),
        "batch_size": args.batch_size,
        "crop": list(args.crop),
        "size": list(args.size),
        "fit_code_steps": args.fit_code,
        "seed": args.seed,
        "color_jitter": args.color_jitter,
        "code_from_half": args.code_from_half,
        "color_skip": args.color_skip,
        "scenes": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for scene in args.scenes:
        t0 = time.perf_counter()
        if scene == "wild":
            work, holdout, cap_t = capture_wild(args)
        else:
            work, holdout, cap_t = capture(scene, args.work, args.holdout)
        trained = {}
        for v in args.variants:
            s = train(work, args.out / scene / v, holdout, v, args.minutes, args)
            trained[v] = {
                "steps": {k: r["steps"] for k, r in s["stages"].items()},
                "seconds": s["seconds"],
                "truncated": {k: r.get("truncated") for k, r in s["stages"].items()},
            }
        models = {v: load_rerenderer(args.out / scene / v) for v in args.variants}
        ev = evaluate_rerender(work, models, args.out / scene / "eval", holdout=holdout, fit_code_steps=args.fit_code)
        results["scenes"][scene] = {
            "capture_timings_s": cap_t,
            "train": trained,
            "eval": ev,
            "total_s": round(time.perf_counter() - t0, 1),
        }
        (args.out / "rerender_eval.json").write_text(json.dumps(results, indent=1))
        (args.out / "rerender_eval.md").write_text(_table(results) + "\n")
    print(_table(results))


if __name__ == "__main__":
    main()
