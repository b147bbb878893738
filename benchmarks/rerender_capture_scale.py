"""Capture at landmark scale (issue 22): SfM time and registration vs collection size, per mapper × pair selection,
on the in-the-wild synthetic landmark (``rerender make-landmark``), plus one full capture with memory per step.

Usage (2-core CPU shared with other jobs; sizes and combinations are flags because the full sweep is long)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rerender_capture_scale.py --work /tmp/capture_scale \\
        --sizes 50 100 --combos incremental:exhaustive incremental:retrieval global:exhaustive global:retrieval \\
        global:sequential --full 100

The scene (400 photos, seed 0) is generated once into ``WORK/scene`` (reused if complete); a collection of
``n`` photos is photos ``0 … n-1`` (each with its kind: about 10 % should not register). Per run: SfM seconds
(extraction + matching + mapping), matched pairs, registered photos per kind, and the rotation error of the
registered landmark photos against the ground truth after a similarity alignment. ``--full N`` runs the whole
``rerender capture`` (auto settings, 320 px) on N photos and samples the resident memory at every progress
tick of each step. Results go to ``WORK/capture_scale.json`` and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.errors import NeuralwrapError
from neuralwrap.rerender.capture import CaptureConfig, DensifyOptions, SfmOptions, rotation_errors_deg, run_capture
from neuralwrap.rerender.capture.sfm import quiet_colmap_logs, run_sfm
from neuralwrap.synthetic.wild import WildOptions, make_wild_landmark


def _rss_mb() -> float:
    """Current resident memory of this process (MB), from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _scene(work: Path, photos: int, seed: int) -> tuple[Path, dict[str, Any], dict[str, float]]:
    root = work / "scene"
    gt_file = root / "ground_truth.json"
    if gt_file.is_file() and json.loads(gt_file.read_text())["options"]["photos"] >= photos:
        return root, json.loads(gt_file.read_text()), {}
    t0, c0 = time.perf_counter(), os.times()
    doc = make_wild_landmark(root, WildOptions(photos=photos, seed=seed))
    c1 = os.times()
    timing = {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(c1.user + c1.system - c0.user - c0.system, 1),
    }
    return root, doc, timing


def _subset(scene: Path, doc: dict[str, Any], n: int, work: Path) -> tuple[Path, list[dict[str, Any]]]:
    views = doc["views"][:n]
    folder = work / f"photos_{n}"
    if not folder.is_dir() or len(list(folder.iterdir())) != n:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for v in views:
            os.symlink(scene / "images" / v["name"], folder / v["name"])
    return folder, views


def _pose_errors(sparse: Path, views: list[dict[str, Any]]) -> dict[str, float]:
    import pycolmap

    rec = pycolmap.Reconstruction(sparse)
    gt = {v["name"]: v for v in views if v["registrable"]}
    Re, Ce, Rg, Cg, focal = [], [], [], [], []
    for iid in rec.reg_image_ids():
        img = rec.image(iid)
        if img.name not in gt:
            continue
        pose = img.cam_from_world()
        R, t = np.asarray(pose.rotation.matrix()), np.asarray(pose.translation)
        Re.append(R)
        Ce.append(-R.T @ t)
        Rg.append(np.asarray(gt[img.name]["R"]))
        Cg.append(-np.asarray(gt[img.name]["R"]).T @ np.asarray(gt[img.name]["t"]))
        focal.append(img.camera.params[0] / gt[img.name]["K"][0][0])
    if len(Re) < 3:
        return {}
    err = rotation_errors_deg(np.stack(Re), np.stack(Ce), np.stack(Rg), np.stack(Cg))
    rot = _rotation_only_errors(np.stack(Re), np.stack(Rg))
    return {
        "rot_err_median_deg": round(float(np.median(err)), 3),
        "rot_err_max_deg": round(float(err.max()), 3),
        "rot_err_over_5deg": int((err > 5).sum()),
        "rot_only_err_median_deg": round(float(np.median(rot)), 3),
        "focal_ratio_median": round(float(np.median(focal)), 3),
    }


def _rotation_only_errors(Re: np.ndarray, Rg: np.ndarray) -> np.ndarray:
    """Rotation errors (degrees) after the best global rotation (chordal mean of ``Rgᵢᵀ·Reᵢ``), independent of
    the camera centres (a wrong-scale or distorted layout of centres does not enter)."""
    m = np.einsum("nji,njk->ik", Rg, Re)
    u, _, vt = np.linalg.svd(m)
    A = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    rel = np.einsum("nij,jk,nlk->nil", Rg, A, Re)
    return np.degrees(np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0)))


def _sfm_run(photos: Path, views: list[dict[str, Any]], mapper: str, pairs: str, work: Path) -> dict[str, Any]:
    out = work / f"sfm_{len(views)}_{mapper}_{pairs}"
    shutil.rmtree(out, ignore_errors=True)
    kinds = {v["name"]: v["kind"] for v in views}
    row: dict[str, Any] = {"photos": len(views), "mapper": mapper, "pairs": pairs}
    t0 = time.perf_counter()
    try:
        res = run_sfm(photos, sorted(kinds), out, SfmOptions(mapper=mapper, pairs=pairs))
    except NeuralwrapError as exc:
        row.update(seconds=round(time.perf_counter() - t0, 1), error=str(exc))
        return row
    reg = set(res.registered)
    good = [n for n, k in kinds.items() if k == "landmark"]
    bad = [n for n, k in kinds.items() if k != "landmark"]
    row.update(
        seconds=round(time.perf_counter() - t0, 1),
        matched_pairs=res.matched_pairs,
        verified_pairs=res.verified_pairs,
        registered=len(reg),
        registrable=len(good),
        registrable_registered=sum(n in reg for n in good),
        registration_rate=round(sum(n in reg for n in good) / max(len(good), 1), 4),
        rejects=len(bad),
        rejects_rejected=sum(n not in reg for n in bad),
        registered_by_kind={k: sum(1 for n in reg if kinds[n] == k) for k in sorted(set(kinds.values()))},
        num_models=res.num_models,
        **_pose_errors(out / "sparse", views),
    )
    shutil.rmtree(out, ignore_errors=True)
    return row


def _full_capture(photos: Path, views: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    out = work / f"capture_{len(views)}"
    shutil.rmtree(out, ignore_errors=True)
    peak: dict[str, float] = {}

    def progress(step: str, done: int, total: int) -> None:
        peak[step] = max(peak.get(step, 0.0), _rss_mb())

    t0 = time.perf_counter()
    rss0 = _rss_mb()
    cfg = CaptureConfig(image_size=320, densify=DensifyOptions(max_size=320))
    summary = run_capture(photos, out, cfg, progress=progress)
    return {
        "photos": len(views),
        "seconds": round(time.perf_counter() - t0, 1),
        "timings_s": summary["timings_s"],
        "registration": {k: v for k, v in summary["registration"].items() if k != "rejected"},
        "rejected": summary["registration"]["rejected"],
        "dense_points": summary["densify"]["dense_points"],
        "rss_before_mb": round(rss0, 1),
        "rss_peak_mb_by_step": {k: round(v, 1) for k, v in peak.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="work folder (scene, runs, results)")
    ap.add_argument("--scene-photos", type=int, default=400, help="photos in the generated scene")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", type=int, nargs="*", default=[50, 100], help="collection sizes of the SfM sweep")
    ap.add_argument(
        "--combos",
        nargs="*",
        default=["incremental:exhaustive", "incremental:retrieval", "global:exhaustive", "global:retrieval"],
        help="MAPPER:PAIRS combinations",
    )
    ap.add_argument("--full", type=int, nargs="*", default=[], help="collection sizes of full captures")
    args = ap.parse_args()
    quiet_colmap_logs()
    args.work.mkdir(parents=True, exist_ok=True)
    result_file = args.work / "capture_scale.json"
    results: dict[str, Any] = json.loads(result_file.read_text()) if result_file.is_file() else {}
    scene, doc, gen = _scene(args.work, args.scene_photos, args.seed)
    if gen:
        results["generation"] = {"photos": args.scene_photos, **gen, "load_avg": os.getloadavg()}
    results.setdefault("sfm", [])
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs)"
    for n in args.sizes:
        photos, views = _subset(scene, doc, n, args.work)
        for combo in args.combos:
            mapper, pairs = combo.split(":")
            row = _sfm_run(photos, views, mapper, pairs, args.work)
            row["load_avg_1min"] = round(os.getloadavg()[0], 1)
            print(json.dumps(row), flush=True)
            results["sfm"] = [r for r in results["sfm"] if (r["photos"], r["mapper"], r["pairs"]) != (n, mapper, pairs)]
            results["sfm"].append(row)
            result_file.write_text(json.dumps(results, indent=1))
    for n in args.full:
        photos, views = _subset(scene, doc, n, args.work)
        results.setdefault("full", {})[str(n)] = _full_capture(photos, views, args.work)
        print(json.dumps(results["full"][str(n)]), flush=True)
        result_file.write_text(json.dumps(results, indent=1))
    print(
        "| photos | mapper | pairs | SfM s | pairs matched | registrable registered | rejects rejected | rot. err. median / max (°) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted(results["sfm"], key=lambda r: (r["photos"], r["mapper"], r["pairs"])):
        if "error" in r:
            print(
                f"| {r['photos']} | {r['mapper']} | {r['pairs']} | {r['seconds']} | – | failed: {r['error'][:60]} | – | – |"
            )
            continue
        print(
            f"| {r['photos']} | {r['mapper']} | {r['pairs']} | {r['seconds']} | {r['matched_pairs']} | "
            f"{r['registrable_registered']} / {r['registrable']} ({100 * r['registration_rate']:.0f} %) | "
            f"{r['rejects_rejected']} / {r['rejects']} | {r.get('rot_err_median_deg', '–')} / "
            f"{r.get('rot_err_max_deg', '–')} |"
        )


if __name__ == "__main__":
    main()
