"""``rerender capture``: photos folder → SfM → undistort → densify → masks → deep-framebuffer dataset.

Every step writes into ``WORK_DIR/<step>.tmp`` and renames it to ``WORK_DIR/<step>`` with a
``step.json`` marker (config + result) only on success, so a re-run reuses finished steps, an
interrupted run resumes at the first unfinished step, and a failure leaves nothing half-written.
A step whose config (or an upstream step) changed is recomputed. The masks step also keeps
finished photos across interruptions (``WORK_DIR/masks.partial``). Input is validated before anything is written.

Example::

    summary = run_capture(photos, work, CaptureConfig())
    summary["sfm"]["registered"], summary["densify"]["dense_points"]
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import read_image, write_image
from neuralwrap.rerender.capture.densify import (
    DensifyOptions,
    PointCloud,
    colmap_mvs,
    colmap_mvs_available,
    densify,
)
from neuralwrap.rerender.capture.inputs import scan_photos
from neuralwrap.rerender.capture.masks import (
    TRANSIENT_CLASSES,
    VOC_LABELS,
    DeepLabSegmenter,
    SegmenterUnavailable,
)
from neuralwrap.rerender.capture.sfm import (
    SfmOptions,
    choose_mapper,
    choose_matching,
    load_sparse,
    run_sfm,
    undistort,
)
from neuralwrap.rerender.capture.splat import splat_points
from neuralwrap.rerender.scene.dataset import Frame, write_frame, write_index
from neuralwrap.resources import default_data

__all__ = ["STEPS", "CaptureConfig", "Progress", "default_model_path", "registration_report", "run_capture"]

log = logging.getLogger(__name__)

#: the steps in order (each a folder under WORK_DIR)
STEPS: tuple[str, ...] = ("sfm", "undistort", "densify", "masks", "dataset")

#: ``progress(step, done, total)``: called as a step advances (the CLI draws a bar per step)
Progress = Callable[[str, int, int], None]


def default_model_path() -> Path:
    """``models/deeplabv3_mnv2_pascal_quant.tflite`` under the data folder (``$NEURALWRAP_DATA``, ./shared/data or
    ../shared/data); the path under ../shared/data when none has it (it may not exist)."""
    name = "models/deeplabv3_mnv2_pascal_quant.tflite"
    return default_data(name) or Path.cwd().parent / "shared" / "data" / name


@dataclass
class CaptureConfig:
    """Settings of one capture run (plain JSON)."""

    sfm: SfmOptions = field(default_factory=SfmOptions)
    """Structure-from-motion settings."""
    densify: DensifyOptions = field(default_factory=DensifyOptions)
    """CPU plane-sweep settings."""
    dense: bool = True
    """Densify (True) or splat the sparse SfM points only (False)."""
    mvs: str = "auto"
    """Densifier: ``"cpu"`` (PyTorch plane sweep), ``"colmap"`` (CUDA patch match), ``"auto"`` (colmap if CUDA)."""
    image_size: int = 1024
    """Longer side (px) of the undistorted photos and deep buffers."""
    splat_radius: int = 1
    """Point half-size in pixels when rendering deep buffers (sparse-only runs use 2 more)."""
    min_side: int = 64
    """Photos with a shorter side below this (px) are rejected."""
    segmentation_model: str = ""
    """Path of the DeepLabv3 tflite model; empty = :func:`default_model_path`; "none" = skip masks."""
    device: str = "cpu"
    """Torch device for splatting (``cuda`` must exist if named)."""


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Steps:
    """Marker bookkeeping: ``WORK_DIR/<step>/step.json`` = {config_digest, result}."""

    def __init__(self, work: Path) -> None:
        self.work = work

    def done(self, step: str, digest: str) -> dict[str, Any] | None:
        marker = self.work / step / "step.json"
        if not marker.is_file():
            return None
        doc = json.loads(marker.read_text())
        if doc.get("digest") != digest:
            log.info("step %s: settings or inputs changed, recomputing", step)
            shutil.rmtree(self.work / step)
            return None
        return doc["result"]

    def begin(self, step: str) -> Path:
        tmp = self.work / f"{step}.tmp"
        if tmp.exists():
            log.info("step %s: removing leftovers of an interrupted run", step)
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        return tmp

    def commit(self, step: str, tmp: Path, digest: str, result: dict[str, Any]) -> dict[str, Any]:
        atomic_write_bytes(tmp / "step.json", json.dumps({"digest": digest, "result": result}, indent=1).encode())
        os.replace(tmp, self.work / step)
        return result


def run_capture(
    photos_dir: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    config: CaptureConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run (or resume) the whole capture; returns the summary also written to ``WORK_DIR/capture.json``.

    Raises :class:`InputError` for bad photos or fewer than ``config.sfm.min_registered`` of them (before writing
    anything), or when SfM registers fewer than that.
    """
    cfg = config or CaptureConfig()
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device 'cuda' was requested but no CUDA GPU is available")
    photos = scan_photos(photos_dir, min_side=cfg.min_side)
    choose_matching(len(photos), cfg.sfm)  # an unknown pair selection or mapper fails before anything is written
    choose_mapper(len(photos), cfg.sfm)
    if len(photos) < cfg.sfm.min_registered:
        raise InputError(
            f"{photos_dir} holds {len(photos)} usable photo(s); structure from motion needs at least "
            f"{cfg.sfm.min_registered} overlapping photos of the scene"
        )
    src, work = Path(photos_dir), Path(work_dir)
    created = not work.exists()
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _run_steps(src, work, photos, cfg, progress)
    finally:
        if created and not any(work.iterdir()):
            work.rmdir()  # a run that failed in its first step leaves no trace


def _run_steps(src: Path, work: Path, photos: list, cfg: CaptureConfig, progress: Progress | None) -> dict[str, Any]:
    st = _Steps(work)
    prog = progress or (lambda s, d, t: None)
    summary: dict[str, Any] = {"photos": len(photos), "timings_s": {}}
    digest = _digest([[p.name, p.sha256] for p in photos])
    for step, fn in (
        ("sfm", _step_sfm),
        ("undistort", _step_undistort),
        ("densify", _step_densify),
        ("masks", _step_masks),
        ("dataset", _step_dataset),
    ):
        digest = _digest([digest, step, _step_config(cfg, step)])
        t0 = time.perf_counter()
        result = st.done(step, digest)
        if result is None:
            tmp = st.begin(step)
            try:
                out = fn(src, work, tmp, photos, cfg, lambda d, t, s=step: prog(s, d, t))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)  # failed or interrupted: no half-written step
                raise
            result = st.commit(step, tmp, digest, out)
            summary["timings_s"][step] = round(time.perf_counter() - t0, 2)
        else:
            log.info("step %s: already done, reusing", step)
            prog(step, 1, 1)
            summary["timings_s"][step] = result.get("seconds", 0.0)
        summary[step] = result
    summary["registration"] = registration_report(summary["sfm"])
    atomic_write_bytes(work / "capture.json", json.dumps(summary, indent=1).encode())
    return summary


def registration_report(sfm: dict[str, Any]) -> dict[str, Any]:
    """``{"registered": n, "rejected": [names], "total": n, "rate": registered / total, "mapper", "pairs"}``
    of an SfM step result (the ``registration`` entry of ``capture.json``)."""
    n = len(sfm["registered"])
    return {
        "total": sfm["total"],
        "registered": n,
        "rejected": list(sfm["unregistered"]),
        "rate": round(n / max(sfm["total"], 1), 4),
        "mapper": sfm.get("mapper", "incremental"),
        "pairs": sfm["matching"],
    }


def _step_config(cfg: CaptureConfig, step: str) -> Any:
    return {
        "sfm": asdict(cfg.sfm),
        "undistort": cfg.image_size,
        "densify": [cfg.dense, cfg.mvs, asdict(cfg.densify)],
        "masks": cfg.segmentation_model,
        "dataset": [cfg.splat_radius],
    }[step]


def _timed(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = fn()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _step_sfm(src: Path, work: Path, tmp: Path, photos: list, cfg: CaptureConfig, prog: Callable) -> dict[str, Any]:
    prog(0, 1)
    res = _timed(lambda: run_sfm(src, [p.name for p in photos], tmp, cfg.sfm).to_dict())
    for d in tmp.glob("models*"):
        shutil.rmtree(d, ignore_errors=True)
    prog(1, 1)
    log.info(
        "SfM: registered %d / %d photos, %d points, mean reprojection error %.3f px",
        len(res["registered"]),
        res["total"],
        res["num_points"],
        res["mean_reprojection_error"],
    )
    return res


def _step_undistort(
    src: Path, work: Path, tmp: Path, photos: list, cfg: CaptureConfig, prog: Callable
) -> dict[str, Any]:
    t0 = time.perf_counter()
    prog(0, 1)
    undistort(src, work / "sfm" / "sparse", tmp, max_image_size=cfg.image_size)
    prog(1, 1)
    return {"seconds": round(time.perf_counter() - t0, 2)}


def _undistorted_photo(work: Path) -> Callable[[str], np.ndarray]:
    """Reader of one undistorted photo by name (photos are read when needed, never all at once)."""
    return lambda name: read_image(work / "undistort" / "images" / name)


def _step_densify(src: Path, work: Path, tmp: Path, photos: list, cfg: CaptureConfig, prog: Callable) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = load_sparse(work / "undistort" / "sparse")
    method = "sparse-only"
    if cfg.dense:
        method = (
            "colmap" if cfg.mvs == "colmap" or (cfg.mvs == "auto" and colmap_mvs_available()) else "cpu-plane-sweep"
        )
    if method == "colmap":
        prog(0, 1)
        cloud = colmap_mvs(work / "undistort", tmp)
        shutil.rmtree(tmp / "fused", ignore_errors=True)
        prog(1, 1)
    elif method == "cpu-plane-sweep":
        cloud = densify(model, _undistorted_photo(work), cfg.densify, progress=prog, scratch=tmp)
    else:
        cloud = PointCloud(model.xyz.astype(np.float32), model.rgb, None)
        prog(1, 1)
    arrays = {"xyz": cloud.xyz, "rgb": cloud.rgb}
    if cloud.normals is not None:
        arrays["normals"] = cloud.normals
    np.savez_compressed(tmp / "points.npz", **arrays)
    return {
        "sparse_points": len(model.xyz),
        "dense_points": len(cloud.xyz) if cfg.dense else 0,
        "method": method,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _step_masks(src: Path, work: Path, tmp: Path, photos: list, cfg: CaptureConfig, prog: Callable) -> dict[str, Any]:
    t0 = time.perf_counter()
    if cfg.segmentation_model == "none":
        log.warning("transient masks skipped (segmentation_model='none')")
        return {"skipped": "disabled by configuration", "seconds": 0.0}
    try:
        seg = DeepLabSegmenter(cfg.segmentation_model or default_model_path())
    except SegmenterUnavailable as exc:
        log.warning("transient masks skipped: %s", exc)
        return {"skipped": str(exc), "seconds": 0.0}
    names = sorted((work / "undistort" / "images").iterdir())
    partial = work / "masks.partial"  # survives interruption: finished photos are not segmented again
    partial.mkdir(exist_ok=True)
    fractions = {}
    for i, p in enumerate(names):
        out = partial / f"{p.stem}.png"
        if not out.is_file():
            write_image(out, seg(read_image(p)))
        classes = read_image(out, mode="L")[:, :, 0]
        fractions[p.name] = float(np.isin(classes, TRANSIENT_CLASSES).mean())
        prog(i + 1, len(names))
    for p in partial.iterdir():
        os.replace(p, tmp / p.name)
    partial.rmdir()
    return {"photos": len(names), "transient_fraction": fractions, "seconds": round(time.perf_counter() - t0, 2)}


def _step_dataset(src: Path, work: Path, tmp: Path, photos: list, cfg: CaptureConfig, prog: Callable) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = load_sparse(work / "undistort" / "sparse")
    photo = _undistorted_photo(work)
    dev = torch.device(cfg.device)
    with np.load(work / "densify" / "points.npz") as z:
        xyz = torch.from_numpy(z["xyz"]).to(dev)
        rgb = torch.from_numpy(z["rgb"]).to(dev).float() / 255
        nrm = torch.from_numpy(z["normals"]).to(dev) if "normals" in z else None
    radius = cfg.splat_radius if cfg.dense else cfg.splat_radius + 2
    records = []
    names = sorted(model.cameras)
    for i, n in enumerate(names):
        records.append(_frame(work, tmp, n, model.cameras[n], photo(n), xyz, rgb, nrm, radius))
        prog(i + 1, len(names))
    summary = json.loads((work / "sfm" / "step.json").read_text())["result"]
    write_index(tmp, records, labels=VOC_LABELS, transient_classes=TRANSIENT_CLASSES, summary=summary)
    return {"frames": len(records), "seconds": round(time.perf_counter() - t0, 2)}


def _frame(
    work: Path,
    tmp: Path,
    name: str,
    cam: Any,
    photo: np.ndarray,
    xyz: torch.Tensor,
    rgb: torch.Tensor,
    nrm: torch.Tensor | None,
    radius: int,
) -> dict[str, Any]:
    out = splat_points(xyz, rgb, cam, normals=nrm, radius=radius)
    color = (out.color.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    normals = out.normals.permute(1, 2, 0).cpu().numpy() if out.normals is not None else None
    mask_file = work / "masks" / f"{Path(name).stem}.png"
    classes = read_image(mask_file, mode="L")[:, :, 0] if mask_file.is_file() else None
    frame = Frame(name, cam, photo, color, out.depth[0].cpu().numpy().astype(np.float32), normals, classes)
    return write_frame(tmp, frame)
