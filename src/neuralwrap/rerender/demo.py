"""``rerender demo``: render the shipped pretrained scene (no training, no shared data) into three videos.

1. ``fly.mp4`` — a fly-through of the registered viewpoints with one fixed appearance;
2. ``appearance.mp4`` — a fixed (central) viewpoint while the appearance code moves between two photos';
3. ``fly_appearance.mp4`` — both at once.

Each comes with a contact sheet ``<name>_sheet.png``; ``report.md`` and ``demo.json`` list the files and
timings. Everything renders at the bundle model's training size. On a 2-core CPU the whole demo takes
well under 2 minutes (see ``report.md`` for the measured time).

Example::

    summary = run_demo("demo_out")          # uses neuralwrap/rerender/pretrained/synthetic
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.rerender.render.appearance import interpolate_codes
from neuralwrap.rerender.render.frames import (
    SceneRenderer,
    load_bundle_source,
    render_sequence,
)
from neuralwrap.rerender.render.paths import (
    interpolate_cameras,
    order_keyframes,
    static_path,
)
from neuralwrap.resources import package_file

__all__ = ["pick_codes", "pretrained_dir", "run_demo"]

#: ``progress_for(name, total) -> progress(done, total)`` (the CLI makes one bar per video)
ProgressFactory = Callable[[str, int], Callable[[int, int], None]]


def pretrained_dir(name: str = "synthetic") -> Path:
    """Folder of a shipped pretrained scene (``model.*`` + ``scene.*``): ``neuralwrap/rerender/pretrained/<name>``."""
    return package_file("neuralwrap.rerender", f"pretrained/{name}")


def pick_codes(codes: Mapping[str, np.ndarray | Tensor], highlights: Mapping[str, str]) -> tuple[str, str]:
    """Two photo names whose codes to interpolate: the pair farthest apart in code space (the widest
    appearance change the model renders); without codes for that, the first two bundle highlights."""
    names = list(codes)
    if len(names) >= 2:
        c = np.stack([np.asarray(codes[n], np.float32).ravel() for n in names])
        d = np.linalg.norm(c[:, None] - c[None], axis=-1)
        i, j = np.unravel_index(int(np.argmax(d)), d.shape)
        return names[int(i)], names[int(j)]
    named = [v for v in highlights.values() if v in codes]
    if len(named) >= 2:
        return named[0], named[1]
    raise InputError(f"the bundle needs at least 2 appearance codes for the demo, has {len(names)}")


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    bundle_dir: str | os.PathLike[str] | None = None,
    fly_frames: int = 48,
    interp_frames: int = 24,
    fps: int = 24,
    max_keys: int = 8,
    splat_radius: int | None = None,
    progress_for: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Render the three demo videos of the bundle in ``bundle_dir`` (default :func:`pretrained_dir`) into
    ``out_dir``; returns the summary also written to ``out_dir/demo.json`` (and ``report.md``).
    ``splat_radius`` overrides the bundle's point half-size (px at the bundle cameras' resolution).

    Raises :class:`~neuralwrap.errors.CheckpointError` when the bundle is missing or unreadable.
    """
    t0 = time.perf_counter()
    src = Path(bundle_dir) if bundle_dir is not None else pretrained_dir()
    source = load_bundle_source(src, radius=splat_radius)
    scene = source.scene
    r = SceneRenderer(source.model, scene)
    t_load = time.perf_counter() - t0
    a, b = pick_codes(source.codes, source.highlights)
    ca, cb = (source.codes[n].reshape(-1) for n in (a, b))
    keys = order_keyframes(list(scene.cameras.values()), max_keys)
    w, h = r.source_size
    fly = interpolate_cameras(keys, fly_frames, width=w, height=h)
    centre = static_path(keys[len(keys) // 2], interp_frames, width=w, height=h)
    jobs = [
        ("fly", fly, ca[None].expand(fly_frames, -1)),
        ("appearance", centre, interpolate_codes([ca, cb], interp_frames)),
        ("fly_appearance", fly, interpolate_codes([ca, cb], fly_frames)),
    ]
    out = Path(out_dir)
    videos = {}
    for name, cams, codes in jobs:
        prog = progress_for(name, len(cams)) if progress_for is not None else None
        videos[name] = render_sequence(r, cams, codes, out, name, fps=fps, pngs=False, progress=prog)
    summary = {
        "bundle": str(src),
        "model_size": list(r.size),
        "points": len(scene.xyz),
        "cameras": len(scene.cameras),
        "appearance_from": a,
        "appearance_to": b,
        "fly_keyframes": len(keys),
        "splat_radius": scene.radius,
        "load_s": round(t_load, 2),
        "videos": videos,
        "total_s": round(time.perf_counter() - t0, 2),
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }
    atomic_write_bytes(out / "demo.json", json.dumps(summary, indent=1).encode())
    atomic_write_bytes(out / "report.md", _report(summary, out).encode())
    return summary


def _report(s: dict[str, Any], out: Path) -> str:
    what = {
        "fly": f"fly-through of {s['fly_keyframes']} registered viewpoints, appearance of {s['appearance_from']}",
        "appearance": f"fixed central viewpoint, appearance {s['appearance_from']} → {s['appearance_to']}",
        "fly_appearance": f"fly-through while the appearance moves {s['appearance_from']} → {s['appearance_to']}",
    }
    lines = [
        "# rerender demo",
        "",
        (
            f"Bundle: `{s['bundle']}` ({s['points']} points, {s['cameras']} cameras); "
            f"model size {s['model_size'][0]}×{s['model_size'][1]}; torch threads {s['threads']}."
        ),
        "",
        "| video | what | frames | size | contact sheet | render (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in s["videos"].items():
        lines.append(
            f"| `{Path(v['video']).relative_to(out)}` | {what[name]} | {v['frames']} @ {v['fps']} fps | "
            f"{v['size'][0]}×{v['size'][1]} | `{Path(v['sheet']).relative_to(out)}` | {v['seconds']} |"
        )
    lines += ["", f"Loading model + bundle: {s['load_s']} s. Total: {s['total_s']} s.", ""]
    return "\n".join(lines)
