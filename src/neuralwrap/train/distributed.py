"""Process-group setup for single-process and ``torchrun`` multi-process training."""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from neuralwrap.errors import InputError

__all__ = [
    "DistInfo",
    "init_distributed",
    "cleanup",
    "leaving_process_group",
    "all_reduce_mean",
    "all_reduce_grads",
    "barrier",
    "current_rank",
    "resolve_device",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a (possibly 1-process) job."""

    rank: int
    """Global rank, 0 … world_size-1."""
    world_size: int
    """Number of processes."""
    local_rank: int
    """Rank on this machine (selects the GPU)."""
    device: torch.device
    """Device this process computes on."""

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the process that logs and writes checkpoints)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group with more than one process is in use."""
        return self.world_size > 1


def resolve_device(device: str | torch.device, local_rank: int = 0) -> torch.device:
    """Turn ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a checked :class:`torch.device`.

    Plain ``"cuda"`` means ``cuda:<local_rank>``. Raises :class:`InputError` when CUDA is asked
    for but unavailable (never a silent CPU fallback) or the name is not understood.
    """
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise InputError(f"unknown device {device!r}") from exc
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise InputError(f"unsupported device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but CUDA is not available on this machine")
    index = local_rank if dev.index is None else dev.index
    if index >= torch.cuda.device_count():
        raise InputError(f"device cuda:{index} requested but only {torch.cuda.device_count()} GPU(s) visible")
    return torch.device("cuda", index)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def init_distributed(device: str | torch.device = "cpu", timeout_s: float = 600.0) -> DistInfo:
    """Read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (set by torchrun) and join the process group.

    With no such variables (or ``WORLD_SIZE=1``) this is a single process and no group is made.
    Backend: ``nccl`` on CUDA, ``gloo`` on CPU. Calling it again reuses the existing group.
    Raises :class:`InputError` for a CUDA device without a GPU.
    """
    rank, world = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", 0)
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
        log.info("joined process group: rank %d/%d backend %s device %s", rank, world, backend, dev)
    if dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, device=dev)


def cleanup(sync: bool = False) -> None:
    """Destroy the process group if one exists (safe to call in single-process runs). ``sync``: first wait for
    every rank (use it on the success path: a rank that tears gloo down while a peer is still finishing its
    last collective can make that peer abort); never after an error, when a peer may not reach the barrier."""
    if dist.is_available() and dist.is_initialized():
        if sync and dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


@contextmanager
def leaving_process_group() -> Iterator[None]:
    """Run a training call, then leave the process group on every rank before any rank exits (gloo aborts
    otherwise): after success with :func:`cleanup` ``(sync=True)``, after an error at once (no barrier)."""
    try:
        yield
    except BaseException:
        cleanup()
        raise
    cleanup(sync=True)


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Mean of ``tensor`` over all ranks (returns a new tensor; identity in single-process runs)."""
    out = tensor.detach().clone()
    if _active():
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        out /= dist.get_world_size()
    return out


def all_reduce_grads(params: Sequence[nn.Parameter]) -> None:
    """Replace each parameter's gradient by its mean over all ranks, in one flat all-reduce (a missing gradient
    counts as zeros); no-op in single-process runs. For steps that DDP cannot wrap (e.g. two backward passes)."""
    if not _active():
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= dist.get_world_size()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def current_rank() -> int:
    """This process's global rank: the process group's when one is initialised, else ``RANK`` (torchrun), else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK", 0)


def barrier() -> None:
    """Wait for all ranks (no-op in single-process runs)."""
    if _active():
        dist.barrier()
