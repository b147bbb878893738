"""Staged training of the rerendering network (Meshry et al. 2019), on :mod:`neuralwrap.train`'s engine.

::

    WORK_DIR/dataset ─► training frames (held-out photos removed) ─► (buffer, photo) at config size
      stage 1  appearance: encoder only, triplet loss on codes; positives/negatives by VGG Gram style distance
      stage 2  rerender:   generator + discriminator, encoder frozen; LSGAN + VGG perceptual (+ L1)
      stage 3  finetune:   generator + encoder + discriminator jointly
      export   EMA generator + encoder ─► OUT_DIR/model.{safetensors,json}

Each stage is one :class:`~neuralwrap.train.Trainer` run in ``OUT_DIR/stageN_*`` (checkpoints every
``ckpt_every`` steps and every ``ckpt_seconds`` of wall time, ``tb/``, ``train_log.csv``); a stage that
reached its steps leaves ``done.json``. Re-running the same call resumes: finished stages are skipped (their
weights reloaded), the interrupted one continues from its last checkpoint, then the later ones run.
Under ``torchrun`` every rank runs this same function (gradients are averaged over ranks by hand, since
the GAN step makes two backward passes; rank 0 writes files).

``max_seconds`` is the wall budget of the whole call, counted from its start (data and VGG loading and
per-stage setup included) and checked before every step: once spent, the running stage stops with a
checkpoint (it is *not* done), the later stages do not start, and the model exported to ``OUT_DIR/model``
is the current, unfinished one (``summary["complete"]`` is False); re-running the same call continues.

Example::

    logs = train_rerenderer("work", "runs/rr", RerenderConfig(width=160, height=120),
                            RerenderTrainConfig(holdout=["photo_000.png"]))
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.luma import luma_tensor
from neuralwrap.rerender.checkpoint import SceneBundle, save_rerenderer
from neuralwrap.rerender.evaluate import fit_code
from neuralwrap.rerender.models.losses import (
    PerceptualLoss,
    gram_features,
    lsgan_d_loss,
    lsgan_g_loss,
    style_distances,
    triplet_loss,
)
from neuralwrap.rerender.models.networks import (
    MultiScaleDiscriminator,
    RerenderConfig,
    Rerenderer,
)
from neuralwrap.rerender.scene.dataset import RerenderDataset
from neuralwrap.rerender.scene.inputs import flip_buffer, frame_input, photo_tensor
from neuralwrap.train import (
    Hook,
    TrainConfig,
    Trainer,
    all_reduce_mean,
    barrier,
    init_distributed,
    latest_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
)
from neuralwrap.train.distributed import all_reduce_grads, current_rank
from neuralwrap.train.ema import frozen_copy

__all__ = [
    "STAGES",
    "RerenderTrainConfig",
    "appearance_diagnostics",
    "build_scene_bundle",
    "color_jitter",
    "compute_codes",
    "encoder_view",
    "load_training_frames",
    "require_capture",
    "scene_depth_scale",
    "stage_progress",
    "train_rerenderer",
]

log = logging.getLogger(__name__)

#: stage folder names under OUT_DIR, in order
STAGES: tuple[str, ...] = ("stage1_appearance", "stage2_rerender", "stage3_finetune")


@dataclass
class RerenderTrainConfig:
    """Settings of :func:`train_rerenderer` (plain JSON via ``dataclasses.asdict``). Image size and the
    use of appearance / semantics are architecture settings: see :class:`RerenderConfig`."""

    steps_appearance: int = 300
    """Stage 1 steps: appearance-encoder pretraining with the style triplet loss (0 = skip)."""
    steps_rerender: int = 1000
    """Stage 2 steps: generator + discriminator with the encoder frozen."""
    steps_finetune: int = 300
    """Stage 3 steps: joint fine-tuning of generator, encoder and discriminator."""
    batch_size: int = 4
    """Samples per step per process (stages 2–3)."""
    batch_size_appearance: int = 8
    """Triplets per step per process in stage 1 (it is cheap: the encoder only)."""
    lr: float = 1e-3
    """Adam learning rate of generator/encoder (paper 1e-3)."""
    lr_disc: float = 1e-3
    """Adam learning rate of the discriminator."""
    lr_code_bias: float = 1e-2
    """Adam learning rate of the code → colour-shift layer (``RerenderConfig.code_bias``); it must move far."""
    lr_appearance: float = 1e-3
    """Adam learning rate of stage 1."""
    betas: tuple[float, float] = (0.0, 0.99)
    """Adam betas (paper: (0, 0.99))."""
    w_gan: float = 1.0
    """Weight of the LSGAN generator loss (paper 1.0)."""
    w_vgg: float = 0.3
    """Weight of the VGG16 perceptual loss (paper 0.3; layer weights 1/32 … 1 as in pix2pixHD)."""
    vgg_downsample: int = 1
    """Average-pool factor applied to both images before the VGG loss (1 = paper; 2 = 4× cheaper on a CPU)."""
    w_l1: float = 1.0
    """Weight of an L1 photo loss (not in the paper; speeds up colour convergence on a tiny budget; 0 = off)."""
    triplet_margin: float = 0.5
    """Margin of the triplet loss on squared (raw, uncalibrated) code distances."""
    style_positive_frac: float = 0.2
    """Positives are drawn from this nearest fraction of the other photos by style distance; negatives
    from the farthest half."""
    ema_decay: float = 0.995
    """Decay of the generator/encoder weight EMA (stages 2–3); the exported model is the EMA."""
    flip: bool = True
    """Random left–right flips (normals' x flips with the image)."""
    color_jitter: float = 0.0
    """Appearance augmentation in stages 2–3 (0 = off; ignored, with a warning, by a model without an
    appearance code): with probability 1/2 a training photo gets a random
    global colour change (exposure, per-channel gain, saturation, gamma; log-normal, spread ∝ this value,
    1 = e.g. ±30% exposure at one sigma). The encoder sees the changed photo and the generator must
    reproduce it, so the code learns to carry appearances the few training photos do not show."""
    code_from_half: float = 0.0
    """Probability (per step, stages 2–3) that the appearance encoder sees only a random left or right half of
    the training images while the generator still has to reproduce them whole (0 = off). Trains the code to
    be read from part of a photo, as in held-out evaluation (code from the left half) and for appearance
    photos that show only part of the scene."""
    crop: tuple[int, int] | None = None
    """Random crop ``(width, height)`` of the training images in stages 2–3 (None = whole images; stage 1
    always sees whole photos, as style is a global property)."""
    grad_clip: float | None = 10.0
    """Clip each network's gradient L2 norm (None = no clipping)."""
    holdout: list[str] = field(default_factory=list)
    """Photo names (or stems) never trained on (kept for evaluation)."""
    seed: int = 0
    """Random seed (weights, sampling, augmentation)."""
    device: str = "cpu"
    """``cpu``, ``cuda`` or ``cuda:N`` (CUDA without a GPU raises InputError)."""
    max_seconds: float | None = None
    """Wall-clock budget of the whole call in seconds (see the module docstring); None = no limit."""
    log_every: int = 10
    """Average logged scalars over this many steps (TensorBoard + CSV)."""
    ckpt_every: int = 100
    """Checkpoint every this many steps of a stage (and at its end; 0 = by time and at the end only)."""
    ckpt_seconds: float = 120.0
    """Also checkpoint once this many wall-clock seconds have passed since the stage's last checkpoint
    (0 = by steps only): a killed run loses at most about this much work."""
    progress: bool = True
    """tqdm progress bars (rank 0)."""
    tensorboard: bool = True
    """TensorBoard logs in each stage folder."""

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        self.crop = None if self.crop is None else (int(self.crop[0]), int(self.crop[1]))
        self.holdout = [str(n) for n in self.holdout]
        ok = {
            "stage steps must be >= 0": min(self.steps_appearance, self.steps_rerender, self.steps_finetune) >= 0,
            "batch sizes and vgg_downsample must be >= 1": min(
                self.batch_size, self.batch_size_appearance, self.vgg_downsample
            )
            >= 1,
            "learning rates must be > 0": min(self.lr, self.lr_disc, self.lr_appearance, self.lr_code_bias) > 0,
            "loss weights must be >= 0": min(self.w_gan, self.w_vgg, self.w_l1) >= 0,
            "ema_decay must be in [0, 1)": 0 <= self.ema_decay < 1,
            "color_jitter must be >= 0": self.color_jitter >= 0,
            "ckpt_every, ckpt_seconds and max_seconds must be >= 0": min(
                self.ckpt_every, self.ckpt_seconds, 0 if self.max_seconds is None else self.max_seconds
            )
            >= 0,
            "code_from_half must be in [0, 1]": 0 <= self.code_from_half <= 1,
        }
        bad = [m for m, good in ok.items() if not good]
        if bad:
            raise InputError("RerenderTrainConfig: " + "; ".join(bad))


# ------------------------------------------------------------------------------------------ data
def require_capture(work_dir: str | os.PathLike[str]) -> Path:
    """``WORK_DIR/dataset`` of a finished capture; :class:`InputError` naming the missing file otherwise."""
    root = Path(work_dir)
    index = root / "dataset" / "dataset.json"
    if not root.is_dir():
        raise InputError(f"work dir {root} does not exist (run `rerender capture PHOTOS_DIR {root}` first)")
    if not index.is_file():
        raise InputError(f"{root} has no finished capture: missing {index} (run `rerender capture PHOTOS_DIR {root}`)")
    return index.parent


def _split_names(ds: RerenderDataset, holdout: Sequence[str]) -> tuple[list[int], list[str]]:
    """Indices of training frames and the held-out frame names; unknown holdout names raise InputError."""
    names = ds.names
    wanted = set(holdout)
    held = [n for n in names if n in wanted or Path(n).stem in wanted]
    matched = {h for h in wanted if any(h in (n, Path(n).stem) for n in names)}
    if wanted - matched:
        raise InputError(f"holdout names not in the dataset: {sorted(wanted - matched)}")
    train = [i for i, n in enumerate(names) if n not in held]
    if not train:
        raise InputError("no training photos left after removing the holdout photos")
    return train, held


def load_training_frames(
    ds: RerenderDataset, indices: Sequence[int], config: RerenderConfig
) -> tuple[Tensor, Tensor, list[str]]:
    """Buffers ``(N, C, H, W)``, photos ``(N, 3, H, W)`` in [0,1] at ``config.size`` and the frame names."""
    bufs, photos, names = [], [], []
    for i in indices:
        f = ds[i]
        bufs.append(frame_input(f, size=config.size, use_semantics=config.use_semantics))
        photos.append(photo_tensor(f, size=config.size))
        names.append(f.name)
    return torch.stack(bufs), torch.stack(photos), names


def scene_depth_scale(buffers: Tensor) -> float:
    """Median positive depth (SfM units) over ``buffers`` ``(N, C, H, W)`` — the scene depth scale."""
    d = buffers[:, 3]
    d = d[d > 0]
    if d.numel() == 0:
        raise InputError("the training buffers have no depth at all (empty point cloud?)")
    return float(d.median())


def color_jitter(photo: Tensor, strength: float) -> Tensor:
    """Random global appearance change of a ``(3,H,W)`` photo in [0,1] (global torch RNG): exposure, per-channel
    gain, saturation and gamma, each log-normal with a spread proportional to ``strength`` (>= 0); stays in [0,1]."""
    if strength == 0:
        return photo
    z = torch.randn(6) * strength
    exposure, gains, sat, gamma = (
        torch.exp(0.3 * z[0]),
        torch.exp(0.1 * z[1:4]),
        torch.exp(0.4 * z[4]),
        torch.exp(0.2 * z[5]),
    )
    x = photo * (exposure * gains)[:, None, None]
    luma = luma_tensor(x)[None]
    x = (luma + sat * (x - luma)).clamp(0, 1)
    return x.pow(gamma)


def encoder_view(photo: Tensor, buf: Tensor, p_half: float) -> tuple[Tensor, Tensor]:
    """``(photo, buf)`` ``(B,C,H,W)`` as the appearance encoder sees them in training (``code_from_half``): with
    probability ``p_half`` (global torch RNG) only their left or right half (one side for the whole batch), else
    the same tensors, whole."""
    if p_half <= 0 or float(torch.rand(())) >= p_half:
        return photo, buf
    w = photo.shape[-1] // 2
    cols = slice(0, w) if float(torch.rand(())) < 0.5 else slice(photo.shape[-1] - w, None)
    return photo[..., cols], buf[..., cols]


def _augment(
    buf: Tensor, photo: Tensor, flip: bool, crop: tuple[int, int] | None, jitter: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Random flip / crop / colour jitter of one ``(C,H,W)`` buffer and its ``(3,H,W)`` photo (global torch RNG)."""
    if crop is not None:
        cw, ch = min(crop[0], buf.shape[-1]), min(crop[1], buf.shape[-2])
        y = int(torch.randint(0, buf.shape[-2] - ch + 1, ()))
        x = int(torch.randint(0, buf.shape[-1] - cw + 1, ()))
        buf, photo = buf[:, y : y + ch, x : x + cw], photo[:, y : y + ch, x : x + cw]
    if flip and bool(torch.rand(()) < 0.5):
        buf, photo = flip_buffer(buf), photo.flip(-1)
    if jitter > 0 and bool(torch.rand(()) < 0.5):
        photo = color_jitter(photo, jitter)
    return buf.contiguous(), photo.contiguous()


class _Frames(Dataset):
    """``{"buffer", "photo", "index"}`` items, augmented with the global torch RNG (resumable)."""

    def __init__(
        self, buffers: Tensor, photos: Tensor, flip: bool, crop: tuple[int, int] | None, jitter: float = 0.0
    ) -> None:
        self.buffers, self.photos, self.flip, self.crop, self.jitter = buffers, photos, flip, crop, jitter

    def __len__(self) -> int:
        return len(self.buffers)

    def __getitem__(self, i: int) -> dict[str, Any]:
        b, p = _augment(self.buffers[i], self.photos[i], self.flip, self.crop, self.jitter)
        return {"buffer": b, "photo": p, "index": i}


class _Triplets(_Frames):
    """Anchor ``i`` with a positive among its style-nearest photos and a negative among the farthest half."""

    def __init__(
        self,
        buffers: Tensor,
        photos: Tensor,
        dist_matrix: Tensor,
        positive_frac: float,
        flip: bool,
        crop: tuple[int, int] | None,
    ) -> None:
        super().__init__(buffers, photos, flip, crop)
        n = len(buffers)
        order = torch.argsort(dist_matrix + torch.eye(n) * 1e30, dim=1)[:, : n - 1]  # others, nearest first
        k = max(1, round(positive_frac * (n - 1)))
        self.pos = order[:, :k]
        self.neg = order[:, max(k, (n - 1) // 2) :] if n > 2 else order[:, -1:]

    def __getitem__(self, i: int) -> dict[str, Any]:
        p = int(self.pos[i, torch.randint(0, self.pos.shape[1], ())])
        q = int(self.neg[i, torch.randint(0, self.neg.shape[1], ())])
        items = [super(_Triplets, self).__getitem__(j) for j in (i, p, q)]
        return {
            "buffer": torch.stack([it["buffer"] for it in items]),
            "photo": torch.stack([it["photo"] for it in items]),
        }


# ---------------------------------------------------------------------------------------- models
class _EncoderStage(nn.Module):
    """Stage-1 wrapper: ``forward(photo, buffer) -> code`` (DDP-friendly)."""

    def __init__(self, rerenderer: Rerenderer) -> None:
        super().__init__()
        self.rerenderer = rerenderer

    def forward(self, photo: Tensor, buffer: Tensor) -> Tensor:
        return self.rerenderer.encode(photo, buffer)


class _GanStage(nn.Module):
    """Stage-2/3 container of the rerenderer and the discriminator (checkpointed together)."""

    def __init__(self, rerenderer: Rerenderer, disc: MultiScaleDiscriminator) -> None:
        super().__init__()
        self.rerenderer, self.disc = rerenderer, disc


class _GanTrainer(Trainer):
    """Trainer whose step is one LSGAN discriminator update then one generator(+encoder) update."""

    def setup(self, perceptual: PerceptualLoss | None, tcfg: RerenderTrainConfig, train_encoder: bool) -> None:
        self.perceptual, self.tcfg, self.train_encoder = perceptual, tcfg, train_encoder

    def _gen_params(self) -> list[nn.Parameter]:
        gan: _GanStage = self.unwrapped  # type: ignore[assignment]
        rr = gan.rerenderer
        mods = [rr.generator] + ([rr.encoder] if self.train_encoder and rr.encoder else [])
        mods += [rr.code_to_rgb] if rr.code_to_rgb is not None else []
        return [p for m in mods for p in m.parameters()]

    def train_step(self, batch: Any, step: int) -> dict[str, float]:
        gan: _GanStage = self.unwrapped  # type: ignore[assignment]
        t, rr = self.tcfg, gan.rerenderer
        buf, photo = batch["buffer"], batch["photo"]
        code = None
        if rr.config.use_appearance:
            with torch.set_grad_enabled(self.train_encoder):
                code = rr.encode(*encoder_view(photo, buf, t.code_from_half))
        fake = rr(buf, code)
        cond = rr.prepare(buf)
        # discriminator
        opt_g, opt_d = self.optimizers["gen"], self.optimizers["disc"]
        opt_d.zero_grad(set_to_none=True)
        loss_d = lsgan_d_loss(gan.disc(cond, photo), gan.disc(cond, fake.detach()))
        loss_d.backward()
        self._finish(list(gan.disc.parameters()), opt_d)
        # generator (+ encoder)
        opt_g.zero_grad(set_to_none=True)
        gan.disc.requires_grad_(False)
        try:
            loss_gan = lsgan_g_loss(gan.disc(cond, fake))
        finally:
            gan.disc.requires_grad_(True)
        loss_vgg = fake.new_zeros(())
        if self.perceptual is not None and t.w_vgg > 0:
            k = t.vgg_downsample
            loss_vgg = (
                self.perceptual(F.avg_pool2d(fake, k), F.avg_pool2d(photo, k))
                if k > 1
                else self.perceptual(fake, photo)
            )
        loss_l1 = (fake - photo).abs().mean()
        loss_g = t.w_gan * loss_gan + t.w_vgg * loss_vgg + t.w_l1 * loss_l1
        if not torch.isfinite(loss_g.detach()) or not torch.isfinite(loss_d.detach()):
            raise FloatingPointError(f"non-finite loss at step {step}: G {float(loss_g)}, D {float(loss_d)}")
        loss_g.backward()
        self._finish(self._gen_params(), opt_g)
        logs = {"loss": loss_g, "loss_d": loss_d, "gan": loss_gan, "vgg": loss_vgg, "l1": loss_l1}
        return {k: float(v.detach()) for k, v in logs.items()}

    def _finish(self, params: list[nn.Parameter], opt: torch.optim.Optimizer) -> None:
        all_reduce_grads(params)
        if self.tcfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, self.tcfg.grad_clip)
        opt.step()


# ---------------------------------------------------------------------------------------- stages
def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    if current_rank() == 0:
        atomic_write_bytes(path, json.dumps(doc, indent=1).encode())


def _stage_done(stage_dir: Path, steps: int) -> dict[str, Any] | None:
    """The ``done.json`` record of a stage that reached ``steps`` steps, else None (an older version's record of
    a stage cut short by the time budget is not done: the stage resumes)."""
    p = stage_dir / "done.json"
    if not p.is_file():
        return None
    record = json.loads(p.read_text())
    return record if int(record.get("steps", 0)) >= steps else None


def _checkpoint_step(stage_dir: Path) -> int:
    """Step of the newest checkpoint in ``stage_dir`` (0 = none)."""
    path = latest_checkpoint(stage_dir)
    return 0 if path is None else int(read_checkpoint_meta(path)["step"])


def stage_progress(out_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Steps reached so far by each stage that has a checkpoint under ``out_dir`` (what a re-run resumes from)."""
    steps = {name: _checkpoint_step(Path(out_dir) / name) for name in STAGES}
    return {name: n for name, n in steps.items() if n > 0}


def _engine_config(tcfg: RerenderTrainConfig, stage_dir: Path, steps: int, ema: bool, batch_size: int) -> TrainConfig:
    return TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr=tcfg.lr,
        seed=tcfg.seed,
        device=tcfg.device,
        log_every=tcfg.log_every,
        ckpt_every=tcfg.ckpt_every,
        ckpt_seconds=tcfg.ckpt_seconds,
        out_dir=str(stage_dir),
        ema_decay=tcfg.ema_decay if ema else None,
        keep_checkpoints=2,
        progress=tcfg.progress,
        tensorboard=tcfg.tensorboard,
        max_seconds=tcfg.max_seconds,
    )


def _adam(params: Any, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    return torch.optim.Adam([p for p in params if p.requires_grad], lr=lr, betas=betas)


@dataclass
class _Clock:
    """The wall budget of one :func:`train_rerenderer` call: ``total`` seconds (None = no limit) from ``t0``
    (:func:`time.monotonic`)."""

    t0: float
    total: float | None
    device: torch.device

    def spent(self) -> bool:
        """True once the budget is spent; all ranks agree (one all-reduce when distributed)."""
        if self.total is None:
            return False
        late = torch.tensor([float(time.monotonic() - self.t0 >= self.total)], device=self.device)
        return bool(all_reduce_mean(late).item() > 0)


def _cut_before(stage_dir: Path, steps: int) -> dict[str, Any]:
    """Record of a stage the time budget stopped before it started in this call."""
    return {"steps": _checkpoint_step(stage_dir), "target_steps": steps, "truncated": True, "seconds": 0.0, "logs": {}}


def _run_stage(trainer: Trainer, stage_dir: Path, steps: int) -> dict[str, Any]:
    """Fit one stage; ``done.json`` only once it reached ``steps`` (a stage cut by the budget resumes later)."""
    t0 = time.monotonic()
    logs = trainer.fit()
    record = {
        "steps": trainer.step,
        "target_steps": steps,
        "truncated": trainer.step < steps,
        "seconds": round(time.monotonic() - t0, 1),
        "logs": logs,
    }
    if not record["truncated"]:
        _write_json(stage_dir / "done.json", record)
    barrier()
    return record


def _reload(stage_dir: Path, modules: dict[str, nn.Module]) -> None:
    path = latest_checkpoint(stage_dir)
    if path is None:
        raise InputError(f"{stage_dir} says it is done but has no checkpoint")
    load_checkpoint(path, modules, strict=True)


def _stage1(
    rr: Rerenderer,
    data: tuple[Tensor, Tensor],
    perc: PerceptualLoss,
    tcfg: RerenderTrainConfig,
    out: Path,
    clock: _Clock,
    hooks: Sequence[Hook],
) -> dict[str, Any]:
    stage_dir = out / STAGES[0]
    wrapper = _EncoderStage(rr)
    done = _stage_done(stage_dir, tcfg.steps_appearance)
    if done is not None:
        _reload(stage_dir, {"model": wrapper})
        return done
    if clock.spent():
        return _cut_before(stage_dir, tcfg.steps_appearance)
    buffers, photos = data
    dmat = style_distances(gram_features(perc.vgg, photos.to(tcfg.device))).cpu()
    ds = _Triplets(buffers, photos, dmat, tcfg.style_positive_frac, tcfg.flip, None)  # whole photos: style is global
    rr.generator.requires_grad_(False)

    def loss_fn(model: nn.Module, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        b, p = batch["buffer"], batch["photo"]  # (B, 3, ...): anchor, positive, negative
        codes = model(p.flatten(0, 1), b.flatten(0, 1)).view(p.shape[0], 3, -1)
        loss = triplet_loss(codes[:, 0], codes[:, 1], codes[:, 2], tcfg.triplet_margin)
        gap = ((codes[:, 0] - codes[:, 2]).square().sum(-1) - (codes[:, 0] - codes[:, 1]).square().sum(-1)).mean()
        spread = codes.detach().flatten(0, 1).std(dim=0).mean()  # per-dimension std over the batch's codes
        return loss, {"dist_gap": float(gap.detach()), "code_std": float(spread)}

    cfg = _engine_config(tcfg, stage_dir, tcfg.steps_appearance, ema=False, batch_size=tcfg.batch_size_appearance)
    trainer = Trainer(
        wrapper,
        loss_fn,
        ds,
        cfg,
        optimizer_factory=lambda m: _adam(m.parameters(), tcfg.lr_appearance, tcfg.betas),
        hooks=hooks,
        model_config={"rerender": rr.config.to_dict(), "stage": STAGES[0]},
        started_at=clock.t0,
    )
    try:
        return _run_stage(trainer, stage_dir, tcfg.steps_appearance)
    finally:
        rr.generator.requires_grad_(True)


@torch.no_grad()
def _calibrate_codes(rr: Rerenderer, buffers: Tensor, photos: Tensor, device: str) -> None:
    """Standardise the encoder's codes (``RerenderConfig.code_norm``) over the training photos; deterministic,
    so every rank and every resumed run gets the same calibration."""
    enc = rr.encoder
    assert enc is not None and enc.normalize
    enc.center.zero_()
    enc.scale.fill_(1.0)
    was = rr.training
    rr.eval()
    dev = next(rr.parameters()).device
    raw = torch.cat(
        [rr.encode(photos[i : i + 8].to(dev), buffers[i : i + 8].to(dev)) for i in range(0, len(photos), 8)]
    )
    rr.train(was)
    enc.calibrate(raw)
    log.info("appearance codes calibrated: raw per-dim std %s", [round(float(v), 4) for v in enc.scale])


def _gan_stage(
    stage: int,
    gan: _GanStage,
    ds: Dataset,
    perc: PerceptualLoss | None,
    tcfg: RerenderTrainConfig,
    out: Path,
    clock: _Clock,
    hooks: Sequence[Hook],
    ema_init: nn.Module | None,
) -> tuple[dict[str, Any], nn.Module | None]:
    """Run stage 2 (``stage=1``) or 3 (``stage=2``); returns its record and the EMA container (``ema_init`` when
    the time budget was spent before the stage started)."""
    name = STAGES[stage]
    stage_dir = out / name
    steps = tcfg.steps_rerender if stage == 1 else tcfg.steps_finetune
    train_encoder = stage == 2
    rr = gan.rerenderer
    if rr.encoder is not None:
        rr.encoder.requires_grad_(train_encoder)
    done = _stage_done(stage_dir, steps)
    if done is not None:
        ema_copy = frozen_copy(gan)
        _reload(stage_dir, {"model": gan, "ema": ema_copy})
        return done, ema_copy
    if clock.spent():
        return _cut_before(stage_dir, steps), ema_init

    def factory(m: nn.Module) -> dict[str, torch.optim.Optimizer]:
        g = list(m.rerenderer.generator.parameters())
        if train_encoder and m.rerenderer.encoder is not None:
            g += list(m.rerenderer.encoder.parameters())
        groups = [{"params": [p for p in g if p.requires_grad]}]
        if m.rerenderer.code_to_rgb is not None:
            groups.append({"params": list(m.rerenderer.code_to_rgb.parameters()), "lr": tcfg.lr_code_bias})
        gen = torch.optim.Adam(groups, lr=tcfg.lr, betas=tcfg.betas)
        return {"gen": gen, "disc": _adam(m.disc.parameters(), tcfg.lr_disc, tcfg.betas)}

    cfg = _engine_config(tcfg, stage_dir, steps, ema=True, batch_size=tcfg.batch_size)
    trainer = _GanTrainer(
        gan,
        _no_loss,
        ds,
        cfg,
        optimizer_factory=factory,
        hooks=hooks,
        model_config={"rerender": rr.config.to_dict(), "stage": name},
        started_at=clock.t0,
    )
    trainer.setup(perc, tcfg, train_encoder)
    assert trainer.ema is not None
    if ema_init is not None:
        trainer.ema.module.load_state_dict(ema_init.state_dict())
    record = _run_stage(trainer, stage_dir, steps)
    return record, trainer.ema.module


def _no_loss(model: nn.Module, batch: Any, step: int) -> tuple[Tensor, dict[str, float]]:
    raise NotImplementedError("the GAN trainer overrides train_step")


# ------------------------------------------------------------------------------------------ main
def train_rerenderer(
    work_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    cfg: RerenderConfig,
    train_cfg: RerenderTrainConfig,
    *,
    hooks: Sequence[Hook] = (),
    progress: Callable[[str], None] | None = None,
    started_at: float | None = None,
) -> dict[str, Any]:
    """Train (or resume) the three stages on ``WORK_DIR/dataset``; export the EMA model to ``OUT_DIR/model.*``.

    ``cfg.depth_scale`` is replaced by the median training depth. ``hooks`` go to every stage's Trainer
    (``hook(trainer, step)``). ``progress(stage_name)`` is called as each stage starts. ``started_at``: the
    :func:`time.monotonic` time the ``max_seconds`` budget counts from (default: now). Returns
    ``{"stages": {name: record}, "complete": all stages reached their steps, "config": model config,
    "train_names", "holdout", "appearance", "model": path, "seconds"}`` (also written to ``OUT_DIR/summary.json``);
    a record has ``steps``, ``target_steps``, ``truncated`` (stopped by the budget), ``seconds`` and ``logs``.
    """
    t0 = time.monotonic() if started_at is None else started_at
    clock = _Clock(t0, train_cfg.max_seconds, init_distributed(train_cfg.device).device)
    vgg_side = min(train_cfg.crop or cfg.size) // train_cfg.vgg_downsample
    if train_cfg.w_vgg > 0 and vgg_side < 18:
        raise InputError(
            f"the VGG loss needs images of at least 18 px after cropping and vgg_downsample "
            f"(got a shorter side of {vgg_side} px)"
        )
    ds = RerenderDataset(require_capture(work_dir))
    train_idx, held = _split_names(ds, train_cfg.holdout)
    buffers, photos, names = load_training_frames(ds, train_idx, cfg)
    cfg = dataclasses.replace(cfg, depth_scale=scene_depth_scale(buffers), notes={**cfg.notes, "holdout": held})
    if train_cfg.color_jitter > 0 and not cfg.use_appearance:
        log.warning("color_jitter ignored: without an appearance code the generator cannot predict the colour change")
        train_cfg = dataclasses.replace(train_cfg, color_jitter=0.0)
    out = Path(out_dir)
    if current_rank() == 0:
        out.mkdir(parents=True, exist_ok=True)
    _write_json(
        out / "config.json",
        {
            "model": cfg.to_dict(),
            "train": dataclasses.asdict(train_cfg),
            "work_dir": str(Path(work_dir).resolve()),
            "train_names": names,
            "holdout": held,
        },
    )
    torch.manual_seed(train_cfg.seed)
    rr = Rerenderer(cfg)
    torch.manual_seed(train_cfg.seed + 1)
    gan = _GanStage(rr, MultiScaleDiscriminator(cfg.in_channels, cfg.disc_widths, cfg.disc_scales))
    use_app = cfg.use_appearance and train_cfg.steps_appearance > 0
    need_vgg = use_app or train_cfg.w_vgg > 0
    perc = PerceptualLoss(device=train_cfg.device) if need_vgg else None
    records: dict[str, Any] = {}
    if use_app:
        progress and progress(STAGES[0])
        assert perc is not None
        records[STAGES[0]] = _stage1(rr, (buffers, photos), perc, train_cfg, out, clock, hooks)
    complete = not any(r["truncated"] for r in records.values())
    if complete and cfg.use_appearance and cfg.code_norm:
        _calibrate_codes(rr, buffers, photos, train_cfg.device)
    frames = _Frames(buffers, photos, train_cfg.flip, train_cfg.crop, train_cfg.color_jitter)
    ema: nn.Module | None = None
    for k in (1, 2):
        steps = train_cfg.steps_rerender if k == 1 else train_cfg.steps_finetune
        if steps == 0 or not complete:  # a stage starts only after the previous one reached its steps
            continue
        progress and progress(STAGES[k])
        records[STAGES[k]], ema = _gan_stage(k, gan, frames, perc, train_cfg, out, clock, hooks, ema)
        complete = not records[STAGES[k]]["truncated"]
    final = ema.rerenderer if ema is not None else rr  # type: ignore[union-attr]
    model = Rerenderer(cfg)
    model.load_state_dict(final.state_dict())
    diag = appearance_diagnostics(model, buffers, photos, train_cfg.device) if cfg.use_appearance and complete else {}
    if diag:
        log.info("appearance diagnostics: %s", diag)
    summary = {
        "stages": records,
        "complete": complete,
        "config": cfg.to_dict(),
        "train_names": names,
        "holdout": held,
        "appearance": diag,
        "model": str(out / "model.safetensors"),
        "seconds": round(time.monotonic() - t0, 1),
    }
    if current_rank() == 0:
        save_rerenderer(
            out / "model",
            model.cpu(),
            extra={
                "train_names": names,
                "holdout": held,
                "complete": complete,
                "stages": {k: {kk: v[kk] for kk in ("steps", "truncated")} for k, v in records.items()},
            },
        )
    _write_json(out / "summary.json", summary)
    barrier()
    return summary


@torch.no_grad()
def appearance_diagnostics(
    model: Rerenderer, buffers: Tensor, photos: Tensor, device: str = "cpu", max_frames: int = 32
) -> dict[str, float]:
    """Does the appearance code matter? Codes of (up to ``max_frames``) training photos ``(N,3,H,W)`` with
    their buffers ``(N,C,H,W)``: ``code_std`` = mean per-dimension std of the codes, ``code_dist`` = mean
    pairwise L2 distance, ``render_diff`` = mean |Δ| (image in [0,1]) between renders of each buffer with its own
    code and with the code of the photo at the farthest code distance (≈0 means the generator ignores codes)."""
    was = model.training
    model.eval()
    try:
        n = min(len(buffers), max_frames)
        dev = torch.device(device)
        b, p = buffers[:n].to(dev), photos[:n].to(dev)
        codes = torch.cat([model.encode(p[i : i + 8], b[i : i + 8]) for i in range(0, n, 8)])
        d = torch.cdist(codes, codes)
        far = d.argmax(dim=1)
        diffs = [
            float(
                (model(b[i : i + 1], codes[i : i + 1]) - model(b[i : i + 1], codes[far[i] : far[i] + 1])).abs().mean()
            )
            for i in range(n)
        ]
    finally:
        model.train(was)
    return {
        "code_std": float(codes.std(dim=0).mean()) if n > 1 else 0.0,
        "code_dist": float(d.sum() / max(n * (n - 1), 1)),
        "render_diff": float(np.mean(diffs)),
    }


# ---------------------------------------------------------------------------------------- export
def compute_codes(
    model: Rerenderer, ds: RerenderDataset, names: Sequence[str], fit_steps: int = 0, *, deadline: float | None = None
) -> dict[str, np.ndarray]:
    """Appearance codes ``{name: (code_dim,) float32}`` of whole frames ``names`` at the model's size: the
    encoder's, then (``fit_steps > 0``) optimised on the whole photo with the generator frozen
    (:func:`~neuralwrap.rerender.evaluate.fit_code`, NeRF-W-style per-photo embeddings). With ``fit_steps > 0``
    and a ``deadline`` (:func:`time.monotonic` time), no photo's fit starts after it: :class:`TimeoutError`."""
    if not model.config.use_appearance:
        return {}
    index = {n: i for i, n in enumerate(ds.names)}
    dev = next(model.parameters()).device
    model.eval()
    out = {}
    for n in names:
        if fit_steps and deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"time budget spent while fitting appearance codes ({len(out)}/{len(names)} photos)")
        f = ds[index[n]]
        buf = frame_input(f, size=model.config.size, use_semantics=model.config.use_semantics)[None].to(dev)
        photo = photo_tensor(f, size=model.config.size)[None].to(dev)
        with torch.no_grad():
            code = model.encode(photo, buf)
        if fit_steps:
            code = fit_code(model, buf, photo, code, fit_steps)
        out[n] = code[0].cpu().numpy()
    return out


def build_scene_bundle(
    work_dir: str | os.PathLike[str],
    model: Rerenderer,
    *,
    holdout: Sequence[str] = (),
    max_points: int = 150_000,
    seed: int = 0,
    splat_radius: int = 1,
    highlights: Mapping[str, str] | None = None,
    code_fit_steps: int = 0,
    deadline: float | None = None,
) -> SceneBundle:
    """Scene bundle of a capture for a trained ``model``: point cloud randomly decimated to ``max_points``,
    all registered cameras, codes of the training photos (not of ``holdout``; optimised for ``code_fit_steps``
    on each photo before ``deadline``, see :func:`compute_codes`), the model's depth scale."""
    ds = RerenderDataset(require_capture(work_dir))
    points_file = Path(work_dir) / "densify" / "points.npz"
    if not points_file.is_file():
        raise InputError(f"{work_dir} has no point cloud: missing {points_file}")
    with np.load(points_file) as z:
        xyz, rgb = z["xyz"], z["rgb"]
        normals = z.get("normals", None)
    keep = np.sort(np.random.default_rng(seed).permutation(len(xyz))[:max_points])
    _, held = _split_names(ds, holdout)
    train = [n for n in ds.names if n not in held]
    codes = compute_codes(model, ds, train, fit_steps=code_fit_steps, deadline=deadline)
    missing = sorted(set((highlights or {}).values()) - set(codes))
    if missing:
        raise InputError(f"highlight photos without a code (held out or unknown): {missing}")
    return SceneBundle(
        points=xyz[keep].astype(np.float32),
        colors=rgb[keep].astype(np.uint8),
        normals=None if normals is None else normals[keep].astype(np.float32),
        cameras={n: ds.camera(i) for i, n in enumerate(ds.names)},
        codes=codes,
        depth_scale=model.config.depth_scale,
        splat_radius=splat_radius,
        holdout=held,
        highlights=dict(highlights or {}),
        meta={
            "source_points": len(xyz),
            "decimation": "uniform random",
            "seed": seed,
            "code_fit_steps": code_fit_steps,
        },
    )
