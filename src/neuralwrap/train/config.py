"""Settings of one training run: a plain dataclass with no torch import, so command lines can show its defaults
without loading torch."""

from __future__ import annotations

from dataclasses import dataclass

from neuralwrap.errors import InputError

__all__ = ["TrainConfig"]


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
    ckpt_seconds: float = 120.0
    """Also write a checkpoint once this many wall-clock seconds have passed since the last one (checked after
    every step; 0 = by steps only), so an interrupted or killed run loses at most about this much work."""
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
    """Wall-clock budget of this invocation in seconds, counted from the trainer's ``started_at`` (default: the
    start of :meth:`Trainer.fit`) and checked before every step: once spent, stop with a checkpoint (overshoot:
    at most one step plus that checkpoint); a later run resumes toward ``steps``. None = no limit."""

    def __post_init__(self) -> None:
        checks = {
            "steps must be >= 0": self.steps >= 0,
            "batch_size must be >= 1": self.batch_size >= 1,
            "keep_checkpoints must be >= 1": self.keep_checkpoints >= 1,
            "log_every and ckpt_every must be >= 0": self.log_every >= 0 and self.ckpt_every >= 0,
            "num_workers must be >= 0": self.num_workers >= 0,
            "ema_decay must be None or in [0, 1)": self.ema_decay is None or 0.0 <= self.ema_decay < 1.0,
            "grad_clip must be None or > 0": self.grad_clip is None or self.grad_clip > 0,
            "ckpt_seconds must be >= 0": self.ckpt_seconds >= 0,
            "max_seconds must be None or >= 0": self.max_seconds is None or self.max_seconds >= 0,
        }
        failed = [msg for msg, ok in checks.items() if not ok]
        if failed:
            raise InputError("TrainConfig: " + "; ".join(failed))
