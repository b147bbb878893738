"""Held-out evaluation of rerendering models against point-render baselines (NeRF-W / GS-W protocol).

For every held-out photo (never trained on) at the model's size ``W×H``::

    left half  (cols < W//2): photo + deep buffer ─► appearance encoder ─► code
    full buffer + code ─► generator ─► image;  metrics on the RIGHT half only (cols ≥ W//2)

With ``fit_code_steps > 0`` every model with an appearance code is also evaluated as ``<label>+fit``: the
encoder's code is the start of ``fit_code_steps`` Adam steps on the code alone (generator frozen) that
minimise the L1 error of the render on the LEFT half — NeRF-W's own protocol, which optimises the
held-out photo's appearance embedding on the left half. The right half of the photo is never used.

Baselines use the same left/right split: ``point`` is the raw point render (the buffer's colour channels,
black where no point); ``color_transfer`` is the point render recoloured by Reinhard mean/std transfer in
Lab fitted on the left half (point pixels of the render → the same pixels of the photo); pixels with no
point take the mean colour of the photo's empty left-half pixels (0 if there are none).

Metrics (all on ``(1,3,H,W−W//2)`` float in [0,1]): PSNR (dB, peak 1, MSE over pixels and channels),
SSIM (:func:`neuralwrap.metrics.ssim.ssim`, Gaussian 11×11 σ 1.5), LPIPS (shift-tolerant AlexNet,
:func:`neuralwrap.metrics.lpips.lpips`). The generator input's transient channel is all background
(``remove_transients``): transients in the held-out photo are never given to a model.

Outputs of :func:`evaluate_rerender` (each written atomically): ``per_photo.csv``, ``summary.json``,
``metrics.png`` (bar plot), ``side_by_side/<stem>.png`` (photo | point render | colour transfer | models).

Example::

    summary = evaluate_rerender("work", {"full": "models/full"}, "eval_out")
    summary["methods"]["full"]["psnr"]
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_path, atomic_write_bytes
from neuralwrap.metrics.lpips import lpips
from neuralwrap.metrics.psnr import psnr_torch
from neuralwrap.metrics.ssim import ssim
from neuralwrap.rerender.colortransfer import reinhard_transfer
from neuralwrap.rerender.render.frames import model_settings
from neuralwrap.rerender.render.paths import resolve_name
from neuralwrap.rerender.scene.dataset import Frame, RerenderDataset
from neuralwrap.rerender.scene.inputs import frame_input, photo_tensor

__all__ = [
    "BASELINES",
    "EvalResult",
    "color_transfer_baseline",
    "evaluate_photo",
    "evaluate_rerender",
    "fit_code",
    "half_metrics",
    "holdout_names",
]

log = logging.getLogger(__name__)

#: baseline method names, in table order
BASELINES: tuple[str, ...] = ("point", "color_transfer")
#: PSNR reported for identical images (instead of inf) in tables and JSON
PSNR_CAP: float = 100.0

Progress = Callable[[int, int], None]


@dataclass
class EvalResult:
    """Metrics of one method on one held-out photo (right half)."""

    photo: str
    method: str
    psnr: float
    """dB, capped at :data:`PSNR_CAP`."""
    ssim: float
    lpips: float


def half_metrics(pred: Tensor, target: Tensor, *, lpips_net: str = "alex") -> dict[str, float]:
    """PSNR / SSIM / LPIPS of the right halves (``cols ≥ W//2``) of ``(3,H,W)`` images in [0,1]."""
    if pred.shape != target.shape or pred.ndim != 3:
        raise InputError(
            f"half_metrics needs two (3,H,W) images of one shape, got {tuple(pred.shape)}, {tuple(target.shape)}"
        )
    w = pred.shape[-1]
    x, y = pred[None, :, :, w // 2 :].float(), target[None, :, :, w // 2 :].float()
    p = float(psnr_torch(x, y)[0])
    with torch.no_grad():
        lp = float(lpips(x, y, net=lpips_net)[0])
    return {"psnr": min(p, PSNR_CAP), "ssim": float(ssim(x, y)[0]), "lpips": lp}


def color_transfer_baseline(point: Tensor, photo: Tensor, valid: Tensor) -> Tensor:
    """Point render ``(3,H,W)`` recoloured towards ``photo`` using only the left half (see the module doc).

    ``valid`` ``(H,W)`` bool marks pixels with a splatted point.
    """
    w = point.shape[-1]
    left = torch.zeros_like(valid)
    left[:, : w // 2] = True
    out = reinhard_transfer(point, photo, src_mask=valid & left, ref_mask=valid & left)
    empty_left = (~valid) & left
    fill = photo.flatten(1)[:, empty_left.flatten()].mean(1) if empty_left.any() else torch.zeros(3, dtype=photo.dtype)
    return torch.where(valid[None], out, fill[:, None, None].to(out))


def _meta(model: torch.nn.Module) -> dict[str, Any]:
    """The model's config notes merged with its checkpoint ``extra`` (holdout / train_names live there)."""
    notes = getattr(getattr(model, "config", None), "notes", {}) or {}
    return {**notes, **(getattr(model, "extra", {}) or {})}


def holdout_names(models: Mapping[str, torch.nn.Module], ds: RerenderDataset, given: Sequence[str] | None) -> list[str]:
    """Held-out photo names: ``given`` (names or stems), else the ``holdout`` list in the models' config notes.

    Raises :class:`InputError` for unknown names, when none are known, or when a photo was trained on by a model.
    """
    names = {n: None for n in ds.names}
    if given:
        out = [resolve_name(g, names) for g in given]
    else:
        lists = [_meta(m).get("holdout") for m in models.values() if _meta(m).get("holdout")]
        if not lists:
            raise InputError("no held-out photos: pass --holdout NAME[,NAME…] (the models' configs name none)")
        out = [resolve_name(g, names) for g in lists[0]]
    for label, m in models.items():
        trained = set(_meta(m).get("train_names") or [])
        leak = sorted(trained & set(out))
        if leak:
            raise InputError(f"model {label!r} was trained on {leak}; pick photos it never saw")
    return out


def evaluate_photo(
    frame: Frame,
    models: Mapping[str, torch.nn.Module],
    size: tuple[int, int],
    *,
    lpips_net: str = "alex",
    fit_code_steps: int = 0,
) -> tuple[list[EvalResult], dict[str, np.ndarray]]:
    """Metrics of the baselines and every model on one held-out frame (plus ``<label>+fit`` with a code fitted
    on the left half, see the module doc); also the ``(H,W,3)`` uint8 images."""
    photo = photo_tensor(frame, size)
    base = frame_input(frame, size=size, use_semantics=False)
    point, valid = base[:3], base[7] > 0
    images = {"photo": photo, "point": point, "color_transfer": color_transfer_baseline(point, photo, valid)}
    for label, model in models.items():
        for suffix, image in _model_images(model, frame, photo, size, fit_code_steps).items():
            images[label + suffix] = image
    results = [
        EvalResult(frame.name, k, **half_metrics(v, photo, lpips_net=lpips_net))
        for k, v in images.items()
        if k != "photo"
    ]
    return results, {
        k: (v.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy() for k, v in images.items()
    }


def fit_code(
    model: torch.nn.Module,
    buffer: Tensor,
    target: Tensor,
    code: Tensor,
    steps: int,
    *,
    lr: float = 0.05,
    columns: int | None = None,
) -> Tensor:
    """Optimise an appearance ``code`` ``(1, code_dim)`` (generator frozen) for ``steps`` Adam steps so that
    ``model(buffer, code)`` matches ``target`` ``(1,3,H,W)`` in L1 on the columns ``< columns`` (all if None)."""
    if steps < 0:
        raise InputError(f"fit steps must be >= 0, got {steps}")
    w = target.shape[-1] if columns is None else columns
    c = code.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([c], lr=lr)
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    try:
        with torch.enable_grad():
            for _ in range(steps):
                loss = (model(buffer, c)[..., :w] - target[..., :w]).abs().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
    return c.detach()


def _model_images(
    model: torch.nn.Module, frame: Frame, photo: Tensor, size: tuple[int, int], fit_steps: int = 0
) -> dict[str, Tensor]:
    """``{"": render with the encoder's left-half code}`` plus ``"+fit"`` (the code fitted on the left half)
    when ``fit_steps > 0`` and the model has an appearance code; ``(3,H,W)`` in [0,1]."""
    st = model_settings(model)
    dev = next(model.parameters()).device
    model.eval()
    buf = frame_input(frame, size=size, use_semantics=st["use_semantics"], remove_transients=True)[None].to(dev)
    codes: dict[str, Tensor | None] = {"": None}
    if st["use_appearance"]:
        half = size[0] // 2
        with torch.no_grad():
            codes[""] = model.encode(photo[None, :, :, :half].to(dev), buf[..., :half])
        if fit_steps:
            codes["+fit"] = fit_code(model, buf, photo[None].to(dev), codes[""], fit_steps, columns=half)
    with torch.no_grad():
        return {k: model(buf, c)[0].clamp(0, 1).float().cpu() for k, c in codes.items()}


def evaluate_rerender(
    work_dir: str | os.PathLike[str],
    models: Mapping[str, torch.nn.Module],
    out_dir: str | os.PathLike[str],
    *,
    holdout: Sequence[str] | None = None,
    size: tuple[int, int] | None = None,
    lpips_net: str = "alex",
    progress: Progress | None = None,
    fit_code_steps: int = 0,
) -> dict[str, Any]:
    """Evaluate ``models`` (label → loaded :class:`Rerenderer`) on the held-out photos of ``work_dir``
    (with ``fit_code_steps``: also ``<label>+fit``, the code fitted on the left half; see the module doc).

    ``size`` defaults to the first model's training size (all models are evaluated at one size). Returns the
    summary also written to ``out_dir/summary.json``.
    """
    t0 = time.perf_counter()
    ds_root = Path(work_dir) / "dataset"
    if not (ds_root / "dataset.json").is_file():
        raise InputError(f"{work_dir} has no finished capture: missing {ds_root / 'dataset.json'}")
    ds = RerenderDataset(ds_root)
    if not models:
        raise InputError("evaluate_rerender needs at least one model")
    bad = [k for k in models if k in BASELINES or k == "photo"]
    if bad:
        raise InputError(f"model labels {bad} clash with baseline names {BASELINES}")
    names = holdout_names(models, ds, holdout)
    size = tuple(
        size or model_settings(next(iter(models.values())))["size"] or (ds.camera(0).width, ds.camera(0).height)
    )
    out = Path(out_dir)
    rows: list[EvalResult] = []
    for i, name in enumerate(names):
        frame = ds[ds.names.index(name)]
        res, imgs = evaluate_photo(
            frame,
            models,
            size,
            lpips_net=lpips_net,  # type: ignore[arg-type]
            fit_code_steps=fit_code_steps,
        )
        rows += res
        _side_by_side(imgs, out / "side_by_side" / f"{Path(name).stem}.png", name, res)
        if progress is not None:
            progress(i + 1, len(names))
    methods = list(dict.fromkeys([*BASELINES, *(r.method for r in rows)]))
    summary = _summary(rows, methods, names, size, models, time.perf_counter() - t0, lpips_net)
    summary["fit_code_steps"] = fit_code_steps
    _write_csv(rows, out / "per_photo.csv")
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=1).encode())
    _bar_plot(summary, out / "metrics.png")
    return summary


def _summary(
    rows: list[EvalResult],
    methods: list[str],
    names: list[str],
    size: tuple[int, ...],
    models: Mapping[str, torch.nn.Module],
    seconds: float,
    lpips_net: str,
) -> dict[str, Any]:
    per = {}
    for m in methods:
        sel = [r for r in rows if r.method == m]
        per[m] = {k: float(np.mean([getattr(r, k) for r in sel])) for k in ("psnr", "ssim", "lpips")} | {
            "photos": len(sel)
        }
    return {
        "protocol": "appearance from the left half of each held-out photo; metrics on the right half",
        "holdout": names,
        "size": list(size),
        "lpips_net": lpips_net,
        "psnr_cap_db": PSNR_CAP,
        "methods": per,
        "models": {k: model_settings(m) for k, m in models.items()},
        "seconds": round(seconds, 2),
    }


def _write_csv(rows: list[EvalResult], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["photo", "method", "psnr_db", "ssim", "lpips"])
    for r in rows:
        w.writerow([r.photo, r.method, f"{r.psnr:.4f}", f"{r.ssim:.5f}", f"{r.lpips:.5f}"])
    atomic_write_bytes(path, buf.getvalue().encode())


def _bar_plot(summary: dict[str, Any], path: Path) -> None:
    methods = list(summary["methods"])
    fig = Figure(figsize=(4 + 1.2 * len(methods) * 1.5, 3.6))
    axes = fig.subplots(1, 3)
    for ax, (key, title) in zip(axes, [("psnr", "PSNR (dB) ↑"), ("ssim", "SSIM ↑"), ("lpips", "LPIPS ↓")]):
        vals = [summary["methods"][m][key] for m in methods]
        bars = ax.bar(range(len(methods)), vals, color=[f"C{i}" for i in range(len(methods))])
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
    fig.suptitle(f"held-out right halves ({len(summary['holdout'])} photos, {summary['size'][0]}×{summary['size'][1]})")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)


def _side_by_side(imgs: dict[str, np.ndarray], path: Path, name: str, res: list[EvalResult]) -> None:
    """photo | point render | colour transfer | models, with the left/right split marked and PSNR in titles."""
    score = {r.method: r for r in res}
    keys = list(imgs)
    h, w = imgs["photo"].shape[:2]
    fig = Figure(figsize=(2.6 * len(keys) * w / max(h, 1) * 0.75 + 0.5, 2.6))
    axes = fig.subplots(1, len(keys))
    for ax, k in zip(np.atleast_1d(axes), keys):
        ax.imshow(imgs[k], interpolation="nearest")
        ax.axvline(w // 2 - 0.5, color="red", lw=0.8)
        r = score.get(k)
        ax.set_title(k if r is None else f"{k}\n{r.psnr:.2f} dB, LPIPS {r.lpips:.3f}", fontsize=7)
        ax.set_axis_off()
    fig.suptitle(f"{name} (code from the left half, metrics on the right)", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
