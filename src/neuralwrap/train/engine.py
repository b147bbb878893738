"""The one training loop: seeding, DDP, infinite sampling, logging, checkpoints, resume, EMA, hooks."""

from __future__ import annotations

import csv
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Optimizer
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from neuralwrap.errors import InputError
from neuralwrap.train.checkpoint import (
    capture_rng_state,
    latest_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from neuralwrap.train.data import InfiniteSampler, seed_everything, seed_worker
from neuralwrap.train.distributed import DistInfo, all_reduce_mean, barrier, init_distributed
from neuralwrap.train.ema import EMA

__all__ = ["TrainConfig", "Trainer", "LossFn", "Hook", "OptimizerFactory"]

log = logging.getLogger(__name__)

LossFn = Callable[[nn.Module, Any, int], tuple[torch.Tensor, Mapping[str, float]]]
"""``loss_fn(model, batch, step) -> (scalar loss, {name: float})``; ``model`` is DDP-wrapped when distributed."""
Hook = Callable[["Trainer", int], None]
"""``hook(trainer, step)`` called after every optimizer step; ``step`` = steps done so far (1-based)."""
OptimizerFactory = Callable[[nn.Module], "Optimizer | Mapping[str, Optimizer]"]
"""Builds the optimizer(s) from the unwrapped model."""


@dataclass
class TrainConfig:
    """Settings of one training run (JSON-serialisable with ``dataclasses.asdict``)."""

    steps: int = 1000
    """Total optimizer steps of the run (a resumed run continues up to this number)."""
    batch_size: int = 8
    """Samples per step *per process* (global batch = batch_size · world_size)."""
    lr: float = 1e-4
    """Learning rate of the default Adam optimizer (ignored with a custom optimizer_factory)."""
    seed: int = 0
    """Base random seed; rank r seeds python/numpy/torch with seed + r (different augmentations per rank)."""
    device: str = "cpu"
    """``"cpu"``, ``"cuda"`` (= cuda:LOCAL_RANK) or ``"cuda:N"``; CUDA without a GPU raises InputError."""
    log_every: int = 10
    """Average the logged scalars over this many steps, then write TensorBoard/CSV (0 = only at the end)."""
    ckpt_every: int = 1000
    """Write a checkpoint every this many steps (0 = only at the end); one is always written at the end."""
    out_dir: str = "runs/train"
    """Folder for checkpoints, ``tb/`` TensorBoard logs and ``train_log.csv``."""
    num_workers: int = 0
    """DataLoader worker processes (0 = load in the training process; needed for bit-exact resume)."""
    grad_clip: float | None = None
    """Clip the global gradient L2 norm to this value (None = no clipping)."""
    ema_decay: float | None = None
    """Decay of an exponential moving average of the weights (None = no EMA)."""
    keep_checkpoints: int = 3
    """Keep only the newest this many checkpoints in out_dir."""
    progress: bool = True
    """Show a tqdm progress bar (rank 0 only)."""
    resume: bool = True
    """Continue from the newest checkpoint in out_dir if there is one."""
    tensorboard: bool = True
    """Write TensorBoard scalars to out_dir/tb (rank 0 only)."""
    shuffle: bool = True
    """Shuffle the dataset each epoch (deterministically from seed and epoch)."""
    find_unused_parameters: bool = False
    """Passed to DistributedDataParallel (set True if some parameters get no gradient)."""
    max_seconds: float | None = None
    """Wall-clock budget of this invocation in seconds: stop early (with a checkpoint) once spent;
    a later run resumes toward ``steps``. None = no limit."""

    def __post_init__(self) -> None:
        checks = {
            "steps must be >= 0": self.steps >= 0,
            "batch_size must be >= 1": self.batch_size >= 1,
            "keep_checkpoints must be >= 1": self.keep_checkpoints >= 1,
            "log_every and ckpt_every must be >= 0": self.log_every >= 0 and self.ckpt_every >= 0,
            "num_workers must be >= 0": self.num_workers >= 0,
            "ema_decay must be None or in [0, 1)": self.ema_decay is None or 0.0 <= self.ema_decay < 1.0,
            "grad_clip must be None or > 0": self.grad_clip is None or self.grad_clip > 0,
        }
        failed = [msg for msg, ok in checks.items() if not ok]
        if failed:
            raise InputError("TrainConfig: " + "; ".join(failed))


def _to_device(obj: Any, device: torch.device) -> Any:
    if torch.is_tensor(obj):
        return obj.to(device, non_blocking=device.type == "cuda")
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        moved = [_to_device(v, device) for v in obj]
        return type(obj)(*moved) if hasattr(obj, "_fields") else type(obj)(moved)
    return obj


def _default_optimizer(lr: float) -> OptimizerFactory:
    def factory(model: nn.Module) -> Optimizer:
        return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)

    return factory


class Trainer:
    """Generic single/multi-process trainer.

    ::

        dataset ─► InfiniteSampler(rank) ─► DataLoader ─► batch ─► loss_fn(model, batch, step)
            ─► backward (DDP all-reduce) ─► clip ─► optimizer(s).step ─► EMA ─► hooks
            ─► every log_every: mean over steps and ranks ─► tqdm / TensorBoard / train_log.csv
            ─► every ckpt_every and at the end: checkpoint (rank 0) ─► resume picks it up

    Attributes hooks may use: ``model`` (DDP-wrapped when distributed), ``unwrapped`` (the plain
    module), ``optimizers`` (name → optimizer; ``optimizer`` is the first), ``ema``, ``dist``
    (:class:`DistInfo`), ``step``, ``logs`` (last averaged scalars), ``config``, ``out_dir``.

    Override :meth:`train_step` for schemes the default single-loss step does not cover (e.g. GAN
    alternating updates). The loss function must call ``model(...)`` (the wrapped forward) so DDP
    synchronises gradients, and must return the same log keys on every rank.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        dataset: Dataset,
        config: TrainConfig,
        optimizer_factory: OptimizerFactory | None = None,
        hooks: Sequence[Hook] = (),
        model_config: Mapping[str, Any] | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        self.config = config
        self.loss_fn, self.dataset, self.hooks = loss_fn, dataset, list(hooks)
        self.model_config = dict(model_config or {})
        self.collate_fn = collate_fn
        self.dist: DistInfo = init_distributed(config.device)
        self.device = self.dist.device
        self.out_dir = Path(config.out_dir)
        self.unwrapped = model.to(self.device)
        made = (optimizer_factory or _default_optimizer(config.lr))(self.unwrapped)
        self.optimizers: dict[str, Optimizer] = {"main": made} if isinstance(made, Optimizer) else dict(made)
        self.ema = EMA(self.unwrapped, config.ema_decay) if config.ema_decay is not None else None
        self.model: nn.Module = self.unwrapped
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.unwrapped, device_ids=ids,
                                                 find_unused_parameters=config.find_unused_parameters)
        self.step = 0
        self.logs: dict[str, float] = {}
        self._sums: dict[str, float] = {}
        self._count = 0
        self._writer: Any = None
        self._csv_fields: list[str] | None = None

    @property
    def optimizer(self) -> Optimizer:
        """The first (usually only) optimizer."""
        return next(iter(self.optimizers.values()))

    # ------------------------------------------------------------------------------ one step
    def train_step(self, batch: Any, step: int) -> dict[str, float]:
        """One optimisation step on ``batch`` (already on the device); returns scalars to log."""
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        loss, logs = self.loss_fn(self.model, batch, step)
        if not torch.isfinite(loss.detach()):
            raise FloatingPointError(f"non-finite loss {loss.item()} at step {step}")
        loss.backward()
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.unwrapped.parameters(), self.config.grad_clip)
        for opt in self.optimizers.values():
            opt.step()
        return {"loss": float(loss.detach()), **{k: float(v) for k, v in logs.items()}}

    # ------------------------------------------------------------------------------ the loop
    def fit(self) -> dict[str, float]:
        """Train up to ``config.steps`` (resuming if possible); return the last averaged logs."""
        cfg = self.config
        seed_everything(cfg.seed + self.dist.rank)
        start = self._resume()
        self.step = start
        if start >= cfg.steps and start > 0:
            return dict(self.logs)
        self.model.train()
        batches = iter(self._make_loader(start))
        self._open_outputs(start)
        bar = tqdm(total=cfg.steps, initial=start, desc="train", dynamic_ncols=True,
                   disable=not (cfg.progress and self.dist.is_main))
        t_start = time.monotonic()
        try:
            for step in range(start, cfg.steps):
                if cfg.max_seconds is not None and step > start and self._out_of_time(t_start, step - start):
                    log.info("time budget of %.0f s spent at step %d", cfg.max_seconds, step)
                    self._flush_logs()
                    break
                self._one_step(next(batches), step)
                bar.update(1)
                if (cfg.log_every and self.step % cfg.log_every == 0) or self.step == cfg.steps:
                    self._flush_logs()
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(self.logs.items())[:4]})
                if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and self.step < cfg.steps:
                    self.save_checkpoint()
            self.save_checkpoint()
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return dict(self.logs)

    def _out_of_time(self, t_start: float, done: int) -> bool:
        """True once ``max_seconds`` is spent; ranks agree (checked every 10 steps when distributed)."""
        if self.dist.distributed and done % 10:
            return False
        flag = torch.tensor([float(time.monotonic() - t_start > float(self.config.max_seconds or 0))])
        if self.dist.distributed:
            flag = all_reduce_mean(flag.to(self.device)).cpu()
        return bool(flag.item() > 0)

    def _one_step(self, batch: Any, step: int) -> None:
        logs = self.train_step(_to_device(batch, self.device), step)
        self.step = step + 1
        if self.ema is not None:
            self.ema.update(self.unwrapped)
        for k, v in logs.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._count += 1
        for hook in self.hooks:
            hook(self, self.step)

    def _make_loader(self, start_step: int) -> DataLoader:
        cfg = self.config
        sampler = InfiniteSampler(len(self.dataset), self.dist.rank, self.dist.world_size, cfg.seed,  # type: ignore[arg-type]
                                  shuffle=cfg.shuffle, start=start_step * cfg.batch_size)
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.dist.rank * 7919 + start_step)
        return DataLoader(self.dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers,
                          collate_fn=self.collate_fn, pin_memory=self.device.type == "cuda", generator=gen,
                          worker_init_fn=seed_worker if cfg.num_workers else None,
                          persistent_workers=cfg.num_workers > 0)

    # ------------------------------------------------------------------------------ logging
    def _flush_logs(self) -> None:
        if not self._count:
            return
        keys = sorted(self._sums)
        means = torch.tensor([self._sums[k] / self._count for k in keys], dtype=torch.float64)
        if self.dist.distributed:
            means = all_reduce_mean(means.to(self.device)).cpu()
        self.logs = dict(zip(keys, means.tolist()))
        self._sums, self._count = {}, 0
        if not self.dist.is_main:
            return
        for k, v in self.logs.items():
            self.log_scalar(f"train/{k}", v)
        self._append_csv()

    def log_scalar(self, tag: str, value: float, step: int | None = None) -> None:
        """Write one scalar to TensorBoard (rank 0 only, not averaged); usable from hooks."""
        if self._writer is not None and self.dist.is_main:
            self._writer.add_scalar(tag, value, self.step if step is None else step)

    def _append_csv(self) -> None:
        path = self.out_dir / "train_log.csv"
        if self._csv_fields is None:
            self._csv_fields = ["step", *sorted(self.logs)]
            with path.open("w", newline="") as f:
                csv.writer(f).writerow(self._csv_fields)
        row = {"step": self.step, **self.logs}
        with path.open("a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self._csv_fields])

    def _open_outputs(self, start: int) -> None:
        if not self.dist.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / "train_log.csv"
        self._csv_fields = None
        if start > 0 and path.exists():  # keep rows up to the resumed step, drop the lost tail
            with path.open(newline="") as f:
                rows = list(csv.reader(f))
            if rows:
                self._csv_fields = rows[0]
                kept = [r for r in rows[1:] if r and int(r[0]) <= start]
                with path.open("w", newline="") as f:
                    csv.writer(f).writerows([rows[0], *kept])
        if self.config.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"), purge_step=start if start > 0 else None)

    # ------------------------------------------------------------------------------ checkpoints
    def _ckpt_modules(self) -> dict[str, nn.Module]:
        modules = {"model": self.unwrapped}
        if self.ema is not None:
            modules["ema"] = self.ema.module
        return modules

    def _gather_states(self) -> list[dict[str, Any]]:
        """Per-rank RNG state and partial log sums, gathered to every rank (index = rank)."""
        state = {"rng": capture_rng_state(), "log": {"sums": dict(self._sums), "count": self._count}}
        if not self.dist.distributed:
            return [state]
        out: list[Any] = [None] * self.dist.world_size
        dist.all_gather_object(out, state)  # in-memory transport between ranks, never written as pickle
        return out

    def save_checkpoint(self) -> Path | None:
        """Checkpoint the current step (collective: call on every rank; rank 0 writes). Returns the path on rank 0."""
        states = self._gather_states()
        path = None
        if self.dist.is_main:
            extra = {"logs": self.logs, "world_size": self.dist.world_size, "log_accum": [s["log"] for s in states],
                     "ema_num_updates": self.ema.num_updates if self.ema else 0}
            config = {"train": dataclasses.asdict(self.config), "model": self.model_config}
            path = save_checkpoint(self.out_dir, self.step, self._ckpt_modules(), self.optimizers, config, extra,
                                   rng_states=[s["rng"] for s in states], keep=self.config.keep_checkpoints)
        barrier()
        return path

    def _resume(self) -> int:
        path = latest_checkpoint(self.out_dir) if self.config.resume else None
        if path is None:
            return 0
        meta = read_checkpoint_meta(path)
        same_world = meta.get("extra", {}).get("world_size") == self.dist.world_size
        saved = meta.get("config", {}).get("train", {})
        for key in ("batch_size", "seed", "lr"):
            if key in saved and saved[key] != getattr(self.config, key):
                log.warning("resuming with %s=%r but checkpoint used %r", key, getattr(self.config, key), saved[key])
        meta = load_checkpoint(path, self._ckpt_modules(), self.optimizers, strict=True,
                               restore_rng=same_world, rank=self.dist.rank)
        step = int(meta["step"])
        if not same_world:
            log.warning("world size changed since checkpoint; RNG streams re-seeded (trajectory not bit-identical)")
            seed_everything(self.config.seed + self.dist.rank + 1_000_003 * step)
        if self.ema is not None:
            self.ema.num_updates = int(meta["extra"].get("ema_num_updates", 0))
        self.logs = {k: float(v) for k, v in meta["extra"].get("logs", {}).items()}
        accum = meta["extra"].get("log_accum", [])
        if same_world and self.dist.rank < len(accum):  # partial averaging window at the checkpoint
            self._sums = {k: float(v) for k, v in accum[self.dist.rank]["sums"].items()}
            self._count = int(accum[self.dist.rank]["count"])
        log.info("resumed from %s at step %d", path, step)
        return step
