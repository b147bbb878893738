"""Resume that really resumes (training engine): wall-clock checkpoints, a time budget counted from the command's
start and checked every step, and Ctrl-C / KeyboardInterrupt that checkpoints before it propagates."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from neuralwrap.cli_support import raise_interrupt

sys.path.insert(0, str(Path(__file__).parent))
from _train_helpers import NoisyRegression, make_model, mse_loss
from neuralwrap.errors import InputError
from neuralwrap.train import TrainConfig, Trainer, latest_checkpoint, list_checkpoints

torch.set_num_threads(1)


def _cfg(out: Path, **kw: object) -> TrainConfig:
    base: dict[str, object] = {
        "steps": 12,
        "batch_size": 4,
        "lr": 1e-2,
        "log_every": 3,
        "ckpt_every": 4,
        "out_dir": str(out),
        "progress": False,
        "tensorboard": False,
    }
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def _trainer(out: Path, hooks=(), started_at: float | None = None, **kw: object) -> Trainer:
    extra = {} if started_at is None else {"started_at": started_at}
    return Trainer(make_model(0), mse_loss, NoisyRegression(), _cfg(out, **kw), hooks=hooks, **extra)


def _weights(trainer: Trainer) -> torch.Tensor:
    return torch.cat([t.detach().flatten() for t in trainer.unwrapped.state_dict().values()])


def _sleep(seconds: float):
    def hook(trainer: Trainer, step: int) -> None:
        time.sleep(seconds)

    return hook


def test_wall_clock_checkpoint_comes_before_the_step_based_one(tmp_path: Path) -> None:
    """With ckpt_seconds 0.05 and 0.06 s steps, checkpoints appear every step although ckpt_every is 1000."""
    trainer = _trainer(tmp_path, hooks=[_sleep(0.06)], steps=6, ckpt_every=1000, ckpt_seconds=0.05, keep_checkpoints=10)
    trainer.fit()
    steps = [s for s, _ in list_checkpoints(tmp_path)]
    assert steps[-1] == 6 and min(steps) < 6 and len(steps) >= 3, steps
    with pytest.raises(InputError, match="ckpt_seconds"):
        _cfg(tmp_path, ckpt_seconds=-1)


def test_budget_counts_from_started_at_and_stops_within_a_step(tmp_path: Path) -> None:
    # setup before fit() already spent the budget: no step is trained, a step-0 checkpoint is written
    late = _trainer(tmp_path / "late", started_at=time.monotonic() - 10.0, max_seconds=5.0)
    late.fit()
    assert (
        late.step == 0 and late.out_of_time and latest_checkpoint(tmp_path / "late").name == "ckpt_00000000.safetensors"
    )
    # 0.1 s steps under a 1 s budget: stops after about 10 steps, at most one step (plus a checkpoint) late
    budget, step_s = 1.0, 0.1
    t0 = time.monotonic()
    run = _trainer(tmp_path / "run", hooks=[_sleep(step_s)], started_at=t0, steps=1000, max_seconds=budget)
    run.fit()
    elapsed = time.monotonic() - t0
    assert run.out_of_time and 3 <= run.step < 1000
    assert elapsed < budget + step_s + 5.0  # generous: one step + the final checkpoint on a busy CPU
    assert latest_checkpoint(tmp_path / "run").name == f"ckpt_{run.step:08d}.safetensors"
    # the same command again (no budget) continues from there and finishes
    seen: list[int] = []
    again = _trainer(tmp_path / "run", hooks=[lambda t, s: seen.append(s)], steps=run.step + 3)
    again.fit()
    assert seen == [run.step + 1, run.step + 2, run.step + 3]


def _raise_at(n: int):
    def hook(trainer: Trainer, step: int) -> None:
        if step == n:
            raise KeyboardInterrupt

    return hook


def test_keyboard_interrupt_saves_a_checkpoint_and_resume_is_exact(tmp_path: Path) -> None:
    ref = _trainer(tmp_path / "ref", ema_decay=0.8)
    ref_logs = ref.fit()
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _trainer(run, hooks=[_raise_at(7)], ema_decay=0.8).fit()
    assert latest_checkpoint(run).name == "ckpt_00000007.safetensors"  # not the step-based one at 4
    seen: list[int] = []
    second = _trainer(run, hooks=[lambda t, s: seen.append(s)], ema_decay=0.8)
    logs = second.fit()
    assert seen[0] == 8 and seen[-1] == 12
    assert torch.allclose(_weights(second), _weights(ref), atol=1e-6, rtol=0)
    assert logs == pytest.approx(ref_logs, abs=1e-6)
    assert (run / "train_log.csv").read_text() == (tmp_path / "ref" / "train_log.csv").read_text()


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="another SIGINT handler is installed"
)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_at_the_step_boundary_with_a_checkpoint(sig: int, tmp_path: Path) -> None:
    """Ctrl-C, and SIGTERM as the console scripts set it up (acting as Ctrl-C), arriving in the middle of step 5:
    the step completes, a checkpoint is written, and no step follows."""
    seen: list[int] = []
    calls = [0]

    def loss_signalling_in_step_5(model, batch, step):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] == 5:
            os.kill(os.getpid(), sig)
        return mse_loss(model, batch, step)

    def record(trainer: Trainer, step: int) -> None:
        seen.append(step)

    previous = signal.signal(signal.SIGTERM, raise_interrupt)  # what terminate_as_interrupt() installs
    try:
        with pytest.raises(KeyboardInterrupt):
            Trainer(make_model(0), loss_signalling_in_step_5, NoisyRegression(), _cfg(tmp_path), hooks=[record]).fit()
        assert seen == [1, 2, 3, 4, 5]  # no step after the signal
        assert latest_checkpoint(tmp_path).name == "ckpt_00000005.safetensors"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
        assert signal.getsignal(signal.SIGTERM) is raise_interrupt
    finally:
        signal.signal(signal.SIGTERM, previous)
