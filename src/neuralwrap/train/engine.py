"""The one training loop: seeding, DDP, infinite sampling, logging, checkpoints, resume, EMA, hooks."""

from __future__ import annotations

import csv
import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Optimizer
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from neuralwrap.cli_support import raise_interrupt
from neuralwrap.train.checkpoint import (
    capture_rng_state,
    latest_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from neuralwrap.train.config import TrainConfig
from neuralwrap.train.data import InfiniteSampler, seed_everything, seed_worker
from neuralwrap.train.distributed import (
    DistInfo,
    all_reduce_mean,
    barrier,
    init_distributed,
)
from neuralwrap.train.ema import EMA

__all__ = ["TrainConfig", "Trainer", "LossFn", "Hook", "OptimizerFactory"]

log = logging.getLogger(__name__)

LossFn = Callable[[nn.Module, Any, int], tuple[torch.Tensor, Mapping[str, float]]]
"""``loss_fn(model, batch, step) -> (scalar loss, {name: float})``; ``model`` is DDP-wrapped when distributed."""
Hook = Callable[["Trainer", int], None]
"""``hook(trainer, step)`` called after every optimizer step; ``step`` = steps done so far (1-based)."""
OptimizerFactory = Callable[[nn.Module], "Optimizer | Mapping[str, Optimizer]"]
"""Builds the optimizer(s) from the unwrapped model."""


def _to_device(obj: Any, device: torch.device) -> Any:
    if torch.is_tensor(obj):
        return obj.to(device, non_blocking=device.type == "cuda")
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        moved = [_to_device(v, device) for v in obj]
        return type(obj)(*moved) if hasattr(obj, "_fields") else type(obj)(moved)
    return obj


class _SigintLatch:
    """While active (main thread only), the first Ctrl-C, or SIGTERM where a command line made it act as Ctrl-C
    (:func:`neuralwrap.cli_support.terminate_as_interrupt`), just sets :attr:`hit`, so the loop can stop at the
    next step boundary with a consistent checkpoint; a second one interrupts at once. Signals with any other
    handler are left alone."""

    def __init__(self) -> None:
        self.hit = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) in (signal.default_int_handler, raise_interrupt):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.hit = True
        signal.signal(signum, self._previous[signum])

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C seen by :class:`_SigintLatch` on some rank, agreed by all ranks at a step boundary."""


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
            ─► every ckpt_every steps, every ckpt_seconds of wall time, at the end (steps done, max_seconds
               spent) and on Ctrl-C: checkpoint (rank 0) ─► resume picks it up

    Ctrl-C (SIGINT in the main thread) is honoured at the next step boundary: the trainer writes a checkpoint,
    then raises :class:`KeyboardInterrupt` (a second Ctrl-C interrupts at once, without a checkpoint). A
    ``KeyboardInterrupt`` raised by a hook also checkpoints the steps done before it propagates.

    Attributes hooks may use: ``model`` (DDP-wrapped when distributed), ``unwrapped`` (the plain
    module), ``optimizers`` (name → optimizer; ``optimizer`` is the first), ``ema``, ``dist``
    (:class:`DistInfo`), ``step``, ``logs`` (last averaged scalars), ``config``, ``out_dir``,
    ``out_of_time`` (True once ``max_seconds`` stopped the last :meth:`fit`).

    ``started_at``: the :func:`time.monotonic` time from which ``config.max_seconds`` counts (pass the start of
    the command so that setup before :meth:`fit` is inside the budget; default: the start of :meth:`fit`).

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
        started_at: float | None = None,
    ) -> None:
        self.config = config
        self.started_at = started_at
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
            self.model = DistributedDataParallel(
                self.unwrapped, device_ids=ids, find_unused_parameters=config.find_unused_parameters
            )
        self.step = 0
        self.logs: dict[str, float] = {}
        self._sums: dict[str, float] = {}
        self._count = 0
        self._writer: Any = None
        self._csv_fields: list[str] | None = None
        self.out_of_time = False
        self._saved_step: int | None = None  # step of the newest checkpoint on disk (None: none this run)
        self._last_save = time.monotonic()
        self._busy = False  # inside a step or a checkpoint write: a KeyboardInterrupt then cannot checkpoint

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
        t0 = time.monotonic() if self.started_at is None else self.started_at
        self.out_of_time, self._busy = False, False
        seed_everything(cfg.seed + self.dist.rank)
        start = self._resume()
        self.step = start
        self._saved_step = start if start > 0 else None
        if start >= cfg.steps and start > 0:
            return dict(self.logs)
        self.model.train()
        batches = iter(self._make_loader(start))
        self._open_outputs(start)
        bar = tqdm(
            total=cfg.steps,
            initial=start,
            desc="train",
            dynamic_ncols=True,
            disable=not (cfg.progress and self.dist.is_main),
        )
        self._last_save = time.monotonic()
        try:
            latch = _SigintLatch()
            with latch:
                late, _, stop = self._poll(t0, latch)  # setup before the first step counts against the budget
                while not (late or stop) and self.step < cfg.steps:
                    self._one_step(batches, self.step)
                    bar.update(1)
                    if (cfg.log_every and self.step % cfg.log_every == 0) or self.step == cfg.steps:
                        self._flush_logs()
                        bar.set_postfix({k: f"{v:.4g}" for k, v in list(self.logs.items())[:4]})
                    late, due, stop = self._poll(t0, latch)
                    by_steps = bool(cfg.ckpt_every) and self.step % cfg.ckpt_every == 0
                    if (by_steps or due) and not (late or stop) and self.step < cfg.steps:
                        self.save_checkpoint()
                if stop:
                    raise _Interrupted
            if late and self.step < cfg.steps:
                self.out_of_time = True
                log.info("time budget of %.0f s spent at step %d of %d", cfg.max_seconds, self.step, cfg.steps)
                self._flush_logs()
            self._save_if_new()
        except KeyboardInterrupt as exc:  # Ctrl-C (at a step boundary) or a hook: keep the steps done
            agreed = isinstance(exc, _Interrupted) or not self.dist.distributed  # all ranks can save together
            if self._busy or not agreed:
                raise
            self._save_if_new()
            log.info("interrupted at step %d; checkpoint in %s", self.step, self.out_dir)
            raise KeyboardInterrupt(f"training interrupted at step {self.step}; checkpoint in {self.out_dir}") from None
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return dict(self.logs)

    def _poll(self, t0: float, latch: _SigintLatch) -> tuple[bool, bool, bool]:
        """``(max_seconds spent, ckpt_seconds passed since the last checkpoint, Ctrl-C seen)``, each True when
        true on any rank (one small all-reduce per step when distributed, so all ranks act at the same step)."""
        cfg, now = self.config, time.monotonic()
        flags = [
            cfg.max_seconds is not None and now - t0 >= cfg.max_seconds,
            cfg.ckpt_seconds > 0 and now - self._last_save >= cfg.ckpt_seconds,
            latch.hit,
        ]
        if not self.dist.distributed:
            return flags[0], flags[1], flags[2]
        agreed = all_reduce_mean(torch.tensor(flags, dtype=torch.float32, device=self.device)).cpu().tolist()
        return agreed[0] > 0, agreed[1] > 0, agreed[2] > 0

    def _save_if_new(self) -> None:
        if self._saved_step != self.step:
            self.save_checkpoint()

    def _one_step(self, batches: Any, step: int) -> None:
        self._busy = True
        logs = self.train_step(_to_device(next(batches), self.device), step)
        self.step = step + 1
        if self.ema is not None:
            self.ema.update(self.unwrapped)
        for k, v in logs.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._count += 1
        self._busy = False
        for hook in self.hooks:
            hook(self, self.step)

    def _make_loader(self, start_step: int) -> DataLoader:
        cfg = self.config
        sampler = InfiniteSampler(
            len(self.dataset),
            self.dist.rank,
            self.dist.world_size,
            cfg.seed,  # type: ignore[arg-type]
            shuffle=cfg.shuffle,
            start=start_step * cfg.batch_size,
        )
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.dist.rank * 7919 + start_step)
        return DataLoader(
            self.dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            collate_fn=self.collate_fn,
            pin_memory=self.device.type == "cuda",
            generator=gen,
            worker_init_fn=seed_worker if cfg.num_workers else None,
            persistent_workers=cfg.num_workers > 0,
        )

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
        busy, self._busy = self._busy, True
        states = self._gather_states()
        path = None
        if self.dist.is_main:
            extra = {
                "logs": self.logs,
                "world_size": self.dist.world_size,
                "log_accum": [s["log"] for s in states],
                "ema_num_updates": self.ema.num_updates if self.ema else 0,
            }
            config = {"train": dataclasses.asdict(self.config), "model": self.model_config}
            path = save_checkpoint(
                self.out_dir,
                self.step,
                self._ckpt_modules(),
                self.optimizers,
                config,
                extra,
                rng_states=[s["rng"] for s in states],
                keep=self.config.keep_checkpoints,
            )
        barrier()
        self._saved_step, self._last_save, self._busy = self.step, time.monotonic(), busy
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
        meta = load_checkpoint(
            path, self._ckpt_modules(), self.optimizers, strict=True, restore_rng=same_world, rank=self.dist.rank
        )
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
