"""Run by tests/test_train_engine.py under ``torch.distributed.run --nproc_per_node=2`` (gloo, CPU).

Usage: ddp_train_script.py OUT_DIR. Trains 4 steps uninterrupted (OUT_DIR/ref) and 4 steps with an
interruption after step 3 plus a resume from the step-2 checkpoint (OUT_DIR/run); rank 0 writes
OUT_DIR/ddp_result.json with the max weight difference across ranks and between the two runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))
from _train_helpers import NoisyRegression, make_model, mse_loss
from neuralwrap.train import TrainConfig, Trainer, cleanup


class Interrupt(Exception):
    """Raised by a hook on every rank to simulate a killed job."""


def stop_at_3(trainer: Trainer, step: int) -> None:
    if step == 3:
        raise Interrupt


def train(out_dir: Path, hooks: list) -> Trainer:
    cfg = TrainConfig(
        steps=4,
        batch_size=4,
        lr=1e-2,
        device="cpu",
        log_every=2,
        ckpt_every=2,
        out_dir=str(out_dir),
        progress=False,
        tensorboard=False,
        ema_decay=0.9,
    )
    trainer = Trainer(make_model(0), mse_loss, NoisyRegression(), cfg, hooks=hooks)
    trainer.fit()
    return trainer


def flat(trainer: Trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in trainer.unwrapped.parameters()])


def main(out_dir: str) -> int:
    torch.set_num_threads(1)
    ref = train(Path(out_dir) / "ref", [])
    try:
        train(Path(out_dir) / "run", [stop_at_3])
    except Interrupt:
        pass
    resumed = train(Path(out_dir) / "run", [])
    mine = flat(ref)
    gathered = [torch.zeros_like(mine) for _ in range(ref.dist.world_size)]
    dist.all_gather(gathered, mine)
    if ref.dist.is_main:
        result = {
            "world_size": ref.dist.world_size,
            "rank_diff": max(float((g - mine).abs().max()) for g in gathered),
            "resume_diff": float((flat(resumed) - mine).abs().max()),
            "logs": ref.logs,
            "resumed_logs": resumed.logs,
        }
        Path(out_dir, "ddp_result.json").write_text(json.dumps(result))
    cleanup(sync=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
