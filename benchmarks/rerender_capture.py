"""Benchmark of ``rerender capture`` (issue 7): synthetic landmark + the two real landmark collections.

Usage (2-core CPU, ~10 min)::

    OMP_NUM_THREADS=2 nice -n 19 .venv/bin/python benchmarks/rerender_capture.py --work /tmp/rr_bench

Writes ``docs/benchmarks/rerender_capture.json`` (all numbers) and PNGs into ``docs/img/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from neuralwrap.errors import NeuralwrapError
from neuralwrap.rerender import RerenderDataset
from neuralwrap.rerender.capture import (
    CaptureConfig,
    DeepLabSegmenter,
    SfmOptions,
    load_sparse,
    mask_iou,
    rotation_errors_deg,
    run_capture,
)
from neuralwrap.rerender.capture.alignment import umeyama
from neuralwrap.synthetic import make_landmark, write_landmark

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MODEL = DATA / "models" / "deeplabv3_mnv2_pascal_quant.tflite"
IMG = REPO / "docs" / "img"


def _rotation_errors(model, views) -> dict[str, float]:
    gt = {f"{v.name}.png": v for v in views}
    names = sorted(model.cameras)
    Re = np.stack([model.cameras[n].R for n in names])
    Ce = np.stack([model.cameras[n].center for n in names])
    Rg, Cg = np.stack([gt[n].R for n in names]), np.stack([gt[n].center for n in names])
    err = rotation_errors_deg(Re, Ce, Rg, Cg)
    s, A, t = umeyama(Ce, Cg)
    pos = np.linalg.norm(s * Ce @ A.T + t - Cg, axis=1)
    return {
        "rot_err_mean_deg": float(err.mean()),
        "rot_err_median_deg": float(np.median(err)),
        "rot_err_max_deg": float(err.max()),
        "centre_err_mean_m": float(pos.mean()),
    }


def _mask_ious(views) -> dict[str, float]:
    seg = DeepLabSegmenter(MODEL)
    inter = union = 0
    ious = []
    for v in views:
        pred = seg(v.image) == 15
        inter += np.logical_and(pred, v.transient_mask).sum()
        union += np.logical_or(pred, v.transient_mask).sum()
        if v.transient_mask.any():
            ious.append(mask_iou(pred, v.transient_mask))
    return {
        "mask_iou_pooled": float(inter / max(union, 1)),
        "mask_iou_mean_photos_with_people": float(np.mean(ious)),
        "photos_with_people": len(ious),
    }


def synthetic(work: Path, n: int, focal_jitter: float, single: bool, tag: str) -> dict:
    t0 = time.perf_counter()
    scene = make_landmark(n, width=320, height=240, seed=0, arc_deg=150, focal_jitter=focal_jitter)
    images = write_landmark(scene, work / tag / "input")
    gen = time.perf_counter() - t0
    cfg = CaptureConfig(sfm=SfmOptions(single_camera=single), image_size=320, segmentation_model=str(MODEL))
    summary = run_capture(images, work / tag / "work", cfg)
    model = load_sparse(work / tag / "work" / "undistort" / "sparse")
    out = {
        "photos": n,
        "focal_jitter": focal_jitter,
        "single_camera": single,
        "render_s": round(gen, 1),
        "registered": len(summary["sfm"]["registered"]),
        "registered_pct": 100.0 * len(summary["sfm"]["registered"]) / n,
        "mean_reproj_px": summary["sfm"]["mean_reprojection_error"],
        "sparse_points": summary["densify"]["sparse_points"],
        "dense_points": summary["densify"]["dense_points"],
        "timings_s": summary["timings_s"],
        **_rotation_errors(model, scene.views),
    }
    if MODEL.is_file():
        out.update(_mask_ious(scene.views))
    _figures(work / tag / "work", tag)
    return out


def landmark(work: Path, name: str, single: bool) -> dict:
    cfg = CaptureConfig(sfm=SfmOptions(single_camera=single), segmentation_model=str(MODEL))
    t0 = time.perf_counter()
    summary = run_capture(DATA / "landmarks" / name, work / name, cfg)
    sfm = summary["sfm"]
    _figures(work / name, name)
    return {
        "photos": sfm["total"],
        "registered": len(sfm["registered"]),
        "unregistered": sfm["unregistered"],
        "mean_reproj_px": sfm["mean_reprojection_error"],
        "sparse_points": summary["densify"]["sparse_points"],
        "dense_points": summary["densify"]["dense_points"],
        "timings_s": summary["timings_s"],
        "total_s": round(time.perf_counter() - t0, 1),
        "single_camera": single,
    }


def _figures(work: Path, tag: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    with np.load(work / "densify" / "points.npz") as z:
        xyz, rgb = z["xyz"], z["rgb"]
    n_dense = len(xyz)
    keep = np.random.default_rng(0).permutation(len(xyz))[:60000]
    xyz, rgb = xyz[keep], rgb[keep]
    lo, hi = np.percentile(xyz, 2, axis=0), np.percentile(xyz, 98, axis=0)
    ok = np.all((xyz >= lo) & (xyz <= hi), axis=1)
    model = load_sparse(work / "undistort" / "sparse")
    cams = list(model.cameras.values())
    frame = _upright_frame(cams)  # rows: right, forward, up (from the mean camera axes)
    xyz, centres = xyz @ frame.T, np.stack([c.center for c in cams]) @ frame.T
    fig = plt.figure(figsize=(10, 5))
    for k, (elev, azim, title) in enumerate([(8, -90, "front (mean view direction)"), (89, -90, "top")]):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.scatter(xyz[ok, 0], xyz[ok, 1], xyz[ok, 2], c=rgb[ok] / 255, s=0.3, linewidths=0)
        ax.scatter(centres[:, 0], centres[:, 1], centres[:, 2], c="red", s=8)
        ax.view_init(elev=elev, azim=azim)
        allp = np.concatenate([xyz[ok], centres])
        ax.set_box_aspect(np.ptp(allp, axis=0) + 1e-6)  # equal scale on all axes
        ax.set_title(title)
        ax.set_axis_off()
    fig.suptitle(f"{tag}: {len(model.xyz)} sparse / {n_dense} dense points ({ok.sum()} shown); red = cameras")
    fig.savefig(IMG / f"rerender_capture_{tag}_points.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    _buffer_figure(work, tag)


def _upright_frame(cams: list) -> np.ndarray:
    """3×3 rotation whose rows are right, forward, up in SfM world coordinates (camera −y averaged = up)."""
    up = -np.mean([c.R[1] for c in cams], axis=0)
    up /= np.linalg.norm(up)
    fwd = np.mean([c.R[2] for c in cams], axis=0)
    fwd -= up * (fwd @ up)
    fwd /= np.linalg.norm(fwd)
    return np.stack([np.cross(fwd, up), fwd, up])


def _buffer_figure(work: Path, tag: str) -> None:
    ds = RerenderDataset(work / "dataset")
    f = ds[len(ds) // 2]
    depth = np.where(f.depth > 0, f.depth, np.nan)
    panels = [
        ("photo", f.photo),
        ("point colour", f.color),
        ("depth", depth),
        ("normals", (f.normals + 1) / 2 * (f.depth > 0)[..., None] if f.normals is not None else None),
        ("classes (15 = person)", f.classes),
    ]
    panels = [(t, p) for t, p in panels if p is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4 * f.camera.height / f.camera.width + 0.6))
    for ax, (title, p) in zip(axes, panels):
        ax.imshow(p, cmap="viridis" if p.ndim == 2 else None, interpolation="nearest")
        ax.set_title(title)
        ax.set_axis_off()
    fig.suptitle(f"{tag}: deep framebuffer of {f.name}")
    fig.savefig(IMG / f"rerender_capture_{tag}_buffer.png", dpi=80, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rr_bench"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "rerender_capture.json")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import pycolmap

    pycolmap.logging.minloglevel = 2
    res = {
        "machine": f"{platform.processor() or platform.machine()}, 2-core CPU (shared), torch CPU",
        "date": time.strftime("%Y-%m-%d"),
        "pycolmap": pycolmap.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    parts = [
        ("synthetic_30_per_image_cameras", lambda: synthetic(args.work, 30, 0.1, False, "synthetic")),
        ("synthetic_30_single_camera", lambda: synthetic(args.work, 30, 0.0, True, "synthetic_single")),
    ]
    if not args.skip_real:
        parts += [
            ("sacre_coeur", lambda: landmark(args.work, "sacre_coeur", False)),
            ("sceaux_castle", lambda: landmark(args.work, "sceaux_castle", True)),
        ]
    for key, fn in parts:
        try:
            res[key] = fn()
        except NeuralwrapError as exc:  # report the failure instead of losing the other numbers
            res[key] = {"error": str(exc)}
        args.out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
