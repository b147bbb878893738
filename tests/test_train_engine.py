"""Tests for neuralwrap.train: checkpoints, EMA, sampler, training loop, resume and 2-process DDP."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _train_helpers import NoisyRegression, make_model, mse_loss
from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.train import (
    EMA,
    InfiniteSampler,
    TrainConfig,
    Trainer,
    apply_state_dict,
    init_distributed,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)

torch.set_num_threads(1)


def _trained_pair(steps: int = 3) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = make_model(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95))
    data = NoisyRegression()
    for i in range(steps):
        x, y = data[i]
        opt.zero_grad()
        mse_loss(model, (x[None], y[None]), i)[0].backward()
        opt.step()
    return model, opt


def _cfg(tmp_path: Path, **kw: object) -> TrainConfig:
    base = dict(
        steps=12,
        batch_size=4,
        lr=1e-2,
        device="cpu",
        log_every=3,
        ckpt_every=4,
        out_dir=str(tmp_path),
        progress=False,
        tensorboard=False,
    )
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def _weights(module: nn.Module) -> torch.Tensor:
    return torch.cat([t.detach().flatten() for t in module.state_dict().values()])


# ---------------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model, opt = _trained_pair()
    path = save_checkpoint(tmp_path, 3, {"model": model}, {"main": opt}, {"a": 1}, {"note": "x"})
    assert path.name == "ckpt_00000003.safetensors" and path.with_suffix(".json").exists()
    assert latest_checkpoint(tmp_path) == path
    model2 = make_model(1)
    opt2 = torch.optim.Adam(model2.parameters(), lr=5.0)
    meta = load_checkpoint(path, {"model": model2}, {"main": opt2})
    assert meta["step"] == 3 and meta["config"] == {"a": 1} and meta["extra"] == {"note": "x"}
    assert torch.equal(_weights(model), _weights(model2))
    sd, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd2["param_groups"][0]["lr"] == 1e-2 and sd2["param_groups"][0]["betas"] == (0.8, 0.95)
    for idx, st in sd["state"].items():
        for key, val in st.items():
            assert torch.equal(val, sd2["state"][idx][key])
    raw = path.read_bytes()
    assert b"pickle" not in raw and json.loads(path.with_suffix(".json").read_text())["format_version"] == 1


def test_checkpoint_rng_restore(tmp_path: Path) -> None:
    model, _ = _trained_pair(0)
    torch.manual_seed(5)
    path = save_checkpoint(tmp_path, 0, {"model": model})
    expected = torch.rand(3)
    torch.manual_seed(99)
    load_checkpoint(path, {"model": model}, restore_rng=True)
    assert torch.equal(torch.rand(3), expected)


def test_checkpoint_loud_failures(tmp_path: Path) -> None:
    model, opt = _trained_pair()
    path = save_checkpoint(tmp_path, 1, {"model": model}, {"main": opt})
    bigger = nn.Sequential(*make_model(0), nn.Conv2d(1, 1, 1))
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(path, {"model": bigger})
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(path, {"model": nn.Sequential(make_model(0)[0])})
    wide = nn.Sequential(nn.Conv2d(2, 9, 3, padding=1), nn.Dropout(), nn.SiLU(), nn.Conv2d(9, 1, 1))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(path, {"model": wide})
    with pytest.raises(CheckpointError, match="no module"):
        load_checkpoint(path, {"ema": make_model(0)})
    with pytest.raises(CheckpointError, match="no optimizer"):
        load_checkpoint(path, {"model": make_model(0)}, {"disc": torch.optim.Adam(make_model(0).parameters())})
    with pytest.raises(CheckpointError, match="SGD"):
        load_checkpoint(path, {"model": make_model(0)}, {"main": torch.optim.SGD(make_model(0).parameters(), lr=1)})
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path / "ckpt_00000099.safetensors", {"model": model})
    meta_path = path.with_suffix(".json")
    good_meta = meta_path.read_text()
    meta_path.write_text(good_meta.replace('"format_version": 1', '"format_version": 999'))
    with pytest.raises(CheckpointError, match="format_version"):
        load_checkpoint(path, {"model": model})
    meta_path.write_text(good_meta[:-20])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path, {"model": model})
    meta_path.write_text(good_meta)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path, {"model": model})
    path.write_bytes(bytes(raw[:40]))
    with pytest.raises(CheckpointError):
        load_checkpoint(path, {"model": model})


def test_keep_last_k(tmp_path: Path) -> None:
    model = make_model(0)
    for step in range(5):
        save_checkpoint(tmp_path, step, {"model": model}, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4]
    assert len(list(tmp_path.iterdir())) == 4


def test_weights_round_trip(tmp_path: Path) -> None:
    model = make_model(0)
    save_weights(tmp_path / "net.safetensors", model, {"arch": "tiny", "widths": [8, 16]})
    w = load_weights(tmp_path / "net")
    assert w.config == {"arch": "tiny", "widths": [8, 16]}
    other = make_model(3)
    apply_state_dict(other, w.state_dict)
    assert torch.equal(_weights(other), _weights(model))
    with pytest.raises(CheckpointError, match="expected 'checkpoint'"):
        load_checkpoint(tmp_path / "net", {"model": other})


def test_ema() -> None:
    model = nn.Linear(2, 1)
    ema = EMA(model, decay=0.5)
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(2.0)
    ema.update(model)
    assert torch.allclose(ema.module.weight, before + 1.0)
    target = nn.Linear(2, 1)
    ema.copy_to(target)
    assert torch.equal(target.weight, ema.module.weight)
    ema2 = EMA(nn.Linear(2, 1), decay=0.1)
    ema2.load_state_dict(ema.state_dict())
    assert ema2.decay == 0.5 and ema2.num_updates == 1


def test_infinite_sampler_resume_and_sharding() -> None:
    full = InfiniteSampler(10, seed=3)
    it = iter(full)
    head = [next(it) for _ in range(25)]
    it2 = iter(InfiniteSampler(10, seed=3, start=13))
    assert [next(it2) for _ in range(12)] == head[13:]
    assert sorted(head[:10]) == list(range(10))
    r0, r1 = iter(InfiniteSampler(9, 0, 2, seed=1)), iter(InfiniteSampler(9, 1, 2, seed=1))
    assert set(next(r0) for _ in range(5)) | set(next(r1) for _ in range(5)) == set(range(9))


def test_cuda_without_gpu_is_an_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("machine has a GPU")
    with pytest.raises(InputError, match="CUDA"):
        init_distributed("cuda")
    with pytest.raises(InputError):
        init_distributed("tpu")


# ---------------------------------------------------------------------------------- training
def test_training_lowers_loss_and_writes_outputs(tmp_path: Path) -> None:
    calls: list[int] = []
    cfg = _cfg(tmp_path, steps=30, log_every=10, ckpt_every=10, tensorboard=True, ema_decay=0.9, progress=True)
    trainer = Trainer(
        make_model(0),
        mse_loss,
        NoisyRegression(),
        cfg,
        hooks=[lambda t, s: calls.append(s)],
        model_config={"name": "toy"},
    )
    first = mse_loss(make_model(0).eval(), (NoisyRegression().x, NoisyRegression().y), 0)[0].item()
    logs = trainer.fit()
    assert calls == list(range(1, 31))
    assert logs["mse"] < 0.5 * first
    rows = (tmp_path / "train_log.csv").read_text().splitlines()
    assert rows[0] == "step,loss,mse" and [r.split(",")[0] for r in rows[1:]] == ["10", "20", "30"]
    assert any((tmp_path / "tb").iterdir())
    meta = json.loads((tmp_path / "ckpt_00000030.json").read_text())
    assert meta["config"]["model"] == {"name": "toy"} and meta["config"]["train"]["steps"] == 30
    assert meta["modules"] == ["ema", "model"]
    # a finished run resumes to a no-op that returns the stored logs
    again = Trainer(make_model(5), mse_loss, NoisyRegression(), cfg).fit()
    assert again == pytest.approx(logs)


class _Interrupt(Exception):
    pass


def _interrupt_at(n: int):
    def hook(trainer: Trainer, step: int) -> None:
        if step == n:
            raise _Interrupt

    return hook


def test_interrupt_and_resume_matches_uninterrupted(tmp_path: Path) -> None:
    ref = Trainer(make_model(0), mse_loss, NoisyRegression(), _cfg(tmp_path / "ref", ema_decay=0.8))
    ref_logs = ref.fit()

    run = tmp_path / "run"
    first = Trainer(make_model(0), mse_loss, NoisyRegression(), _cfg(run, ema_decay=0.8), hooks=[_interrupt_at(7)])
    with pytest.raises(_Interrupt):
        first.fit()
    assert latest_checkpoint(run).name == "ckpt_00000004.safetensors"
    second = Trainer(make_model(42), mse_loss, NoisyRegression(), _cfg(run, ema_decay=0.8))
    logs = second.fit()
    assert torch.allclose(_weights(second.unwrapped), _weights(ref.unwrapped), atol=1e-6, rtol=0)
    assert torch.allclose(_weights(second.ema.module), _weights(ref.ema.module), atol=1e-6, rtol=0)
    assert logs == pytest.approx(ref_logs, abs=1e-6)
    assert (run / "train_log.csv").read_text() == (tmp_path / "ref" / "train_log.csv").read_text()


def test_ddp_two_processes(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        str(Path(__file__).parent / "ddp_train_script.py"),
        str(out),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "ddp_result.json").read_text())
    assert result["world_size"] == 2 and result["rank_diff"] == 0.0
    assert result["resume_diff"] <= 1e-6 and result["resumed_logs"] == pytest.approx(result["logs"], abs=1e-6)
    assert latest_checkpoint(out / "ref").name == "ckpt_00000004.safetensors"
    meta = json.loads((out / "ref" / "ckpt_00000004.json").read_text())
    assert set(meta["rng"]) == {"0", "1"} and meta["extra"]["world_size"] == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, device="cuda", steps=8, ckpt_every=4)
    trainer = Trainer(make_model(0), mse_loss, NoisyRegression(), cfg)
    logs = trainer.fit()
    assert next(trainer.unwrapped.parameters()).device.type == "cuda" and logs["loss"] > 0
    meta = json.loads((tmp_path / "ckpt_00000008.json").read_text())
    assert meta["step"] == 8


def test_config_validation_and_json(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, ema_decay=0.99, grad_clip=1.0)
    assert json.loads(json.dumps(dataclasses.asdict(cfg)))["ema_decay"] == 0.99
    for bad in ({"steps": -1}, {"batch_size": 0}, {"keep_checkpoints": 0}, {"ema_decay": 1.0}):
        with pytest.raises(InputError):
            _cfg(tmp_path, **bad)


def test_public_api_names_exist() -> None:
    import neuralwrap.nn as nwnn
    import neuralwrap.train as nwtrain

    for mod in (nwnn, nwtrain):
        assert all(hasattr(mod, name) for name in mod.__all__)


def test_lr_schedule_hooks() -> None:
    from neuralwrap.errors import InputError
    from neuralwrap.train import CosineLRHook, cosine_lr, lr_schedule_hooks

    assert lr_schedule_hooks("constant", 1e-3, 1000, max_warmup=200) == []
    (hook,) = lr_schedule_hooks("cosine", 1e-3, 1000, max_warmup=50)
    assert isinstance(hook, CosineLRHook) and hook.warmup == 50 and hook.total == 1000
    assert lr_schedule_hooks("cosine", 1e-3, 300, max_warmup=200)[0].warmup == 30  # total // 10
    assert cosine_lr(999, 1000, 1e-3, 50) == pytest.approx(5e-5, rel=0.01)
    with pytest.raises(InputError, match="lr_schedule"):
        lr_schedule_hooks("step", 1e-3, 1000, max_warmup=200)
