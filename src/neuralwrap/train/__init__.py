"""One training engine for sandwich and rerender: loop, checkpoint/resume, EMA, logging, DDP (names load lazily)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "CosineLRHook": "neuralwrap.train.schedules",
    "DistInfo": "neuralwrap.train.distributed",
    "EMA": "neuralwrap.train.ema",
    "FORMAT_VERSION": "neuralwrap.train.checkpoint",
    "Hook": "neuralwrap.train.engine",
    "InfiniteSampler": "neuralwrap.train.data",
    "LossFn": "neuralwrap.train.engine",
    "OptimizerFactory": "neuralwrap.train.engine",
    "TrainConfig": "neuralwrap.train.config",
    "Trainer": "neuralwrap.train.engine",
    "Weights": "neuralwrap.train.checkpoint",
    "all_reduce_mean": "neuralwrap.train.distributed",
    "apply_state_dict": "neuralwrap.train.checkpoint",
    "barrier": "neuralwrap.train.distributed",
    "capture_rng_state": "neuralwrap.train.checkpoint",
    "cleanup": "neuralwrap.train.distributed",
    "cosine_lr": "neuralwrap.train.schedules",
    "init_distributed": "neuralwrap.train.distributed",
    "latest_checkpoint": "neuralwrap.train.checkpoint",
    "leaving_process_group": "neuralwrap.train.distributed",
    "list_checkpoints": "neuralwrap.train.checkpoint",
    "load_checkpoint": "neuralwrap.train.checkpoint",
    "load_weights": "neuralwrap.train.checkpoint",
    "lr_schedule_hooks": "neuralwrap.train.schedules",
    "random_crop": "neuralwrap.train.data",
    "read_checkpoint_meta": "neuralwrap.train.checkpoint",
    "resolve_device": "neuralwrap.train.distributed",
    "restore_rng_state": "neuralwrap.train.checkpoint",
    "save_checkpoint": "neuralwrap.train.checkpoint",
    "save_weights": "neuralwrap.train.checkpoint",
    "seed_everything": "neuralwrap.train.data",
    "seed_worker": "neuralwrap.train.data",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
