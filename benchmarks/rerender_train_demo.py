"""Reproduce the shipped demo model ``src/neuralwrap/rerender/pretrained/synthetic/`` end to end (issue 8).

synthetic landmark (30 photos, 320×240, seed 0) → ``rerender capture`` (image size 320) → staged training at
160×120 on CPU within a wall budget → export (EMA model in float16 + scene bundle: ≤120K points, cameras,
codes of the training photos, a sunny and a dusk photo picked from the ground-truth time of day).

Usage (1 thread; ≈1.5–4 min capture + ≈8 min training on this 2-core machine; the budget only caps it)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/rerender_train_demo.py --work /tmp/rr_demo

``--reuse-capture`` skips the capture when WORK already holds one (e.g. copied from an earlier run's WORK);
``--export DIR`` writes the bundle elsewhere than the shipped folder (to compare before replacing it).
The summary reports the appearance diagnostics (code spread, render change between far-apart codes) and the
mean |Δ| between the sunny-code and dusk-code renders of the held-out views.

Prints the wall times; writes ``WORK/demo_summary.json`` and a preview ``WORK/preview.png``
(photo / rendering of each held-out view and two appearance codes).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from neuralwrap.io.images import write_image
from neuralwrap.rerender import RerenderDataset
from neuralwrap.rerender.capture import CaptureConfig, default_model_path, run_capture
from neuralwrap.rerender.checkpoint import (
    load_rerenderer,
    save_rerenderer,
    save_scene_bundle,
)
from neuralwrap.rerender.models.networks import RerenderConfig
from neuralwrap.rerender.scene.inputs import frame_input, photo_tensor
from neuralwrap.rerender.training import (
    RerenderTrainConfig,
    build_scene_bundle,
    train_rerenderer,
)
from neuralwrap.synthetic import make_landmark, write_landmark

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "neuralwrap" / "rerender" / "pretrained" / "synthetic"
HOLDOUT = ["photo_005.png", "photo_015.png", "photo_025.png"]


def _highlights(gt: dict, train_names: list[str]) -> dict[str, str]:
    """Sunny = training photo closest to noon with little haze; dusk = the one farthest from noon."""
    apps = {f"{v['name']}.png": v["appearance"] for v in gt["views"] if f"{v['name']}.png" in train_names}
    sunny = min(apps, key=lambda n: abs(apps[n]["time_of_day"] - 0.5) + 5 * apps[n]["haze"])
    dusk = max(apps, key=lambda n: abs(apps[n]["time_of_day"] - 0.5))
    return {"sunny": sunny, "dusk": dusk}


@torch.no_grad()
def _preview(work: Path, model, codes: dict, highlights: dict[str, str], out: Path) -> None:
    ds = RerenderDataset(work / "dataset")
    rows = []
    for n in HOLDOUT:
        f = ds[ds.names.index(n)]
        buf = frame_input(f, size=model.config.size, remove_transients=True)[None]
        row = [photo_tensor(f, size=model.config.size)]
        row += [model(buf, torch.from_numpy(codes[highlights[k]])[None])[0] for k in ("sunny", "dusk")]
        rows.append(torch.cat(row, dim=2))
    img = torch.cat(rows, dim=1).permute(1, 2, 0).numpy()
    write_image(out, (img * 255 + 0.5).clip(0, 255).astype(np.uint8))


@torch.no_grad()
def _code_effect(work: Path, model, codes: dict, highlights: dict[str, str]) -> float:
    """Mean |Δ| (in [0,1]) between renders of the held-out views with the sunny and with the dusk code."""
    ds = RerenderDataset(work / "dataset")
    diffs = []
    for n in HOLDOUT:
        buf = frame_input(ds[ds.names.index(n)], size=model.config.size, remove_transients=True)[None]
        a, b = (model(buf, torch.from_numpy(codes[highlights[k]])[None]) for k in ("sunny", "dusk"))
        diffs.append(float((a - b).abs().mean()))
    return float(np.mean(diffs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/rr_demo"))
    p.add_argument("--minutes", type=float, default=25.0, help="training wall budget (all stages)")
    p.add_argument(
        "--steps", type=int, nargs=3, default=(400, 1400, 500), metavar=("APPEARANCE", "RERENDER", "FINETUNE")
    )
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--size", type=int, nargs=2, default=(160, 120), metavar=("W", "H"), help="training/render size")
    p.add_argument("--crop", type=int, nargs=2, default=(128, 96), metavar=("W", "H"), help="random training crops")
    p.add_argument("--vgg-downsample", type=int, default=2, help="VGG loss on 2x average-pooled images (CPU budget)")
    p.add_argument("--export", type=Path, default=SHIPPED, help="where the shipped bundle goes")
    p.add_argument("--max-points", type=int, default=120_000)
    p.add_argument(
        "--splat-radius",
        type=int,
        default=2,
        help="bundle point half-size (px): 2 makes the decimated bundle cover what the capture covered",
    )
    p.add_argument(
        "--code-bias", action="store_true", help="RerenderConfig.code_bias (code-driven global colour shift)"
    )
    p.add_argument(
        "--fit-codes",
        type=int,
        default=100,
        metavar="STEPS",
        help="optimise each training photo's code for STEPS Adam steps on the photo (generator frozen) "
        "before it goes into the bundle (0 = the encoder's codes)",
    )
    p.add_argument(
        "--reuse-capture",
        action="store_true",
        help="skip the capture when WORK already holds a finished one (copied from an earlier run)",
    )
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    import pycolmap

    pycolmap.logging.minloglevel = 2
    t0 = time.perf_counter()
    if (
        args.reuse_capture
        and (args.work / "work" / "dataset" / "dataset.json").is_file()
        and (args.work / "input" / "ground_truth.json").is_file()
    ):
        cap = json.loads((args.work / "work" / "capture.json").read_text())  # same scene & settings as below
    else:
        scene = make_landmark(30, width=320, height=240, seed=0)
        images = write_landmark(scene, args.work / "input")
        cap = run_capture(
            images, args.work / "work", CaptureConfig(image_size=320, segmentation_model=str(default_model_path()))
        )
    t_capture = time.perf_counter() - t0
    cfg = RerenderConfig(width=args.size[0], height=args.size[1], color_skip=True, code_bias=args.code_bias)
    tcfg = RerenderTrainConfig(
        steps_appearance=args.steps[0],
        steps_rerender=args.steps[1],
        steps_finetune=args.steps[2],
        batch_size=args.batch_size,
        crop=tuple(args.crop),
        holdout=HOLDOUT,
        vgg_downsample=args.vgg_downsample,
        max_seconds=args.minutes * 60,
        log_every=10,
        ckpt_every=100,
    )
    t1 = time.perf_counter()
    summary = train_rerenderer(args.work / "work", args.work / "train", cfg, tcfg)
    t_train = time.perf_counter() - t1
    if not summary.get("complete", True):
        raise SystemExit(
            f"training stopped at the {args.minutes}-minute budget before all stages finished; re-run the same "
            "command to continue from the checkpoint (an unfinished model is not made into the demo bundle)"
        )
    model = load_rerenderer(args.work / "train")
    gt = json.loads((args.work / "input" / "ground_truth.json").read_text())
    hl = _highlights(gt, summary["train_names"])
    bundle = build_scene_bundle(
        args.work / "work",
        model,
        holdout=HOLDOUT,
        max_points=args.max_points,
        highlights=hl,
        splat_radius=args.splat_radius,
        code_fit_steps=args.fit_codes,
    )
    bundle.meta.update(
        {
            "source": "neuralwrap.synthetic.make_landmark(30, 320x240, seed=0) + rerender capture",
            "benchmark": "benchmarks/rerender_train_demo.py",
        }
    )
    args.export.mkdir(parents=True, exist_ok=True)
    save_rerenderer(
        args.export / "model", model, extra={**getattr(model, "extra", {}), "scene": "synthetic"}, half=True
    )
    save_scene_bundle(args.export / "scene", bundle)
    _preview(args.work / "work", model, bundle.codes, hl, args.work / "preview.png")
    sizes = {f.name: f.stat().st_size for f in sorted(args.export.iterdir())}
    res = {
        "capture_s": round(t_capture, 1),
        "train_s": round(t_train, 1),
        "total_s": round(time.perf_counter() - t0, 1),
        "capture_timings_s": cap["timings_s"],
        "registered": len(cap["sfm"]["registered"]),
        "stages": {
            k: {kk: v[kk] for kk in ("steps", "target_steps", "truncated", "seconds", "logs")}
            for k, v in summary["stages"].items()
        },
        "holdout": HOLDOUT,
        "highlights": hl,
        "appearance": summary.get("appearance", {}),
        "sunny_vs_dusk_render_diff": _code_effect(args.work / "work", model, bundle.codes, hl),
        "bundle_bytes": sizes,
        "bundle_total_bytes": sum(sizes.values()),
    }
    (args.work / "demo_summary.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
