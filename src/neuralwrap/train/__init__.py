"""One training engine for sandwich and rerender: loop, checkpoint/resume, EMA, logging, DDP."""

from neuralwrap.train.checkpoint import (
    FORMAT_VERSION,
    Weights,
    apply_state_dict,
    capture_rng_state,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_weights,
    read_checkpoint_meta,
    restore_rng_state,
    save_checkpoint,
    save_weights,
)
from neuralwrap.train.data import InfiniteSampler, random_crop, seed_everything, seed_worker
from neuralwrap.train.distributed import DistInfo, all_reduce_mean, barrier, cleanup, init_distributed, resolve_device
from neuralwrap.train.ema import EMA
from neuralwrap.train.schedules import CosineLRHook, cosine_lr, lr_schedule_hooks
from neuralwrap.train.engine import Hook, LossFn, OptimizerFactory, TrainConfig, Trainer

__all__ = [
    "CosineLRHook",
    "EMA",
    "FORMAT_VERSION",
    "DistInfo",
    "Hook",
    "InfiniteSampler",
    "LossFn",
    "OptimizerFactory",
    "TrainConfig",
    "Trainer",
    "Weights",
    "all_reduce_mean",
    "apply_state_dict",
    "barrier",
    "capture_rng_state",
    "cleanup",
    "cosine_lr",
    "init_distributed",
    "latest_checkpoint",
    "list_checkpoints",
    "lr_schedule_hooks",
    "random_crop",
    "load_checkpoint",
    "load_weights",
    "read_checkpoint_meta",
    "resolve_device",
    "restore_rng_state",
    "save_checkpoint",
    "save_weights",
    "seed_everything",
    "seed_worker",
]
