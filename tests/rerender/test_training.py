"""Staged rerender training on a tiny synthetic capture: losses fall, resume is exact, checkpoints, CLI, DDP.

The work dir is built directly in the dataset format from the synthetic renderer's ground truth (the
real capture pipeline takes minutes): static pixels of every view are back-projected with their true
depth into one point cloud, which the capture's own splatter renders into each view (colour, depth,
normals); class maps are the true people masks (15 = person).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from rerender_helpers import make_work_dir, tiny_config

from neuralwrap.errors import InputError
from neuralwrap.rerender.checkpoint import (
    load_rerenderer,
    load_scene_bundle,
    save_scene_bundle,
)
from neuralwrap.rerender.cli import main
from neuralwrap.rerender.models.networks import RerenderConfig
from neuralwrap.rerender.training import (
    RerenderTrainConfig,
    build_scene_bundle,
    color_jitter,
    encoder_view,
    train_rerenderer,
)

W, H = 64, 48


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_work_dir(tmp_path_factory.mktemp("rr_work"), 8)


def _cfgs(**kw) -> tuple[RerenderConfig, RerenderTrainConfig]:
    cfg = tiny_config(W, H, code_bias=True)
    base = {
        "steps_appearance": 4,
        "steps_rerender": 4,
        "steps_finetune": 2,
        "batch_size": 2,
        "holdout": ["photo_007"],
        "log_every": 1,
        "ckpt_every": 2,
        "progress": False,
        "tensorboard": False,
    }
    base.update(kw)
    return cfg, RerenderTrainConfig(**base)


def test_training_runs_and_exports(work_dir: Path, tmp_path: Path) -> None:
    cfg, tcfg = _cfgs()
    out = train_rerenderer(work_dir, tmp_path, cfg, tcfg)
    assert set(out["stages"]) == {"stage1_appearance", "stage2_rerender", "stage3_finetune"}
    assert out["holdout"] == ["photo_007.png"] and "photo_007.png" not in out["train_names"]
    model = load_rerenderer(tmp_path)
    assert model.config.depth_scale > 0 and model.config.width == W
    scene = build_scene_bundle(
        work_dir, model, holdout=["photo_007"], max_points=500, highlights={"a": "photo_001.png"}
    )
    save_scene_bundle(tmp_path / "scene", scene)
    back = load_scene_bundle(tmp_path)
    assert back.points.shape == (500, 3) and back.colors.dtype == np.uint8 and back.normals is not None
    assert set(back.codes) == set(out["train_names"]) and "photo_007.png" in back.cameras
    assert back.depth_scale == pytest.approx(model.config.depth_scale)
    rows = (tmp_path / "stage2_rerender" / "train_log.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["step", "gan"] and len(rows) == 5


def _csv(path: Path) -> dict[str, list[float]]:
    rows = [r.split(",") for r in path.read_text().splitlines()]
    return {k: [float(r[i]) for r in rows[1:]] for i, k in enumerate(rows[0])}


def test_each_stage_lowers_its_loss(work_dir: Path, tmp_path: Path) -> None:
    # whole training set per step, no flips, no GAN term: a fixed objective per stage
    cfg, tcfg = _cfgs(
        steps_appearance=16,
        steps_rerender=16,
        steps_finetune=12,
        lr=1e-3,
        lr_appearance=3e-3,
        batch_size=7,
        flip=False,
        w_gan=0.0,
    )
    train_rerenderer(work_dir, tmp_path, cfg, tcfg)
    s1 = _csv(tmp_path / "stage1_appearance" / "train_log.csv")["loss"]
    assert np.mean(s1[-4:]) < np.mean(s1[:4])
    for stage in ("stage2_rerender", "stage3_finetune"):
        log = _csv(tmp_path / stage / "train_log.csv")
        assert np.mean(log["loss"][-3:]) < np.mean(log["loss"][:3]), stage  # 0.3·VGG + L1 (no GAN term)
        assert np.mean(log["vgg"][-3:]) < np.mean(log["vgg"][:3]), stage


class _Stop(Exception):
    pass


def _stop_in(stage: str, at: int):
    def hook(trainer, step: int) -> None:
        if trainer.out_dir.name == stage and step == at:
            raise _Stop

    return hook


@pytest.mark.parametrize("stage", ["stage2_rerender", "stage3_finetune"])
def test_interrupted_run_resumes_exactly(work_dir: Path, tmp_path: Path, stage: str) -> None:
    cfg, tcfg = _cfgs(steps_finetune=4)
    ref = train_rerenderer(work_dir, tmp_path / "ref", cfg, tcfg)
    with pytest.raises(_Stop):
        train_rerenderer(work_dir, tmp_path / "run", cfg, tcfg, hooks=[_stop_in(stage, 3)])
    assert not (tmp_path / "run" / stage / "done.json").exists()
    out = train_rerenderer(work_dir, tmp_path / "run", cfg, tcfg)
    a, b = load_rerenderer(tmp_path / "ref"), load_rerenderer(tmp_path / "run")
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
    assert out["stages"][stage]["logs"] == pytest.approx(ref["stages"][stage]["logs"], abs=1e-6)


def test_no_appearance_no_semantics(work_dir: Path, tmp_path: Path) -> None:
    cfg, tcfg = _cfgs(steps_rerender=2, steps_finetune=1)
    cfg = RerenderConfig(**{**cfg.to_dict(), "use_appearance": False, "use_semantics": False})
    out = train_rerenderer(work_dir, tmp_path, cfg, tcfg)
    assert set(out["stages"]) == {"stage2_rerender", "stage3_finetune"}
    m = load_rerenderer(tmp_path)
    assert m.encoder is None and m(torch.rand(1, 8, H, W)).shape == (1, 3, H, W)


def test_bad_inputs(work_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, tcfg = _cfgs(holdout=["no_such_photo"])
    with pytest.raises(InputError, match="no_such_photo"):
        train_rerenderer(work_dir, tmp_path / "o", cfg, tcfg)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="dataset.json"):
        train_rerenderer(tmp_path / "empty", tmp_path / "o", *_cfgs())
    assert main(["train", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no finished capture" in err and "dataset.json" in err
    with pytest.raises(InputError):
        RerenderTrainConfig(steps_rerender=-1)
    with pytest.raises(InputError, match="color_jitter"):
        RerenderTrainConfig(color_jitter=-0.5)
    with pytest.raises(InputError, match="code_from_half"):
        RerenderTrainConfig(code_from_half=1.5)
    with pytest.raises(InputError, match="18 px"):
        train_rerenderer(work_dir, tmp_path / "o", _cfgs()[0], _cfgs(crop=(32, 32), vgg_downsample=2)[1])


def test_color_jitter_changes_appearance_only() -> None:
    """The appearance augmentation keeps [0,1], is the identity at strength 0, is seeded, and changes global
    colour statistics (mean and saturation) rather than structure."""
    torch.manual_seed(3)
    photo = torch.rand(3, 24, 32) * 0.8 + 0.1
    assert torch.equal(color_jitter(photo, 0.0), photo)
    torch.manual_seed(0)
    a = torch.stack([color_jitter(photo, 1.0) for _ in range(20)])
    torch.manual_seed(0)
    b = torch.stack([color_jitter(photo, 1.0) for _ in range(20)])
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    means = a.mean(dim=(-1, -2))  # (20, 3) per-channel means vary across draws
    assert float(means.std(dim=0).min()) > 0.02
    # a global, monotone colour map: a gray ramp stays ordered in every channel (no spatial change)
    ramp = torch.linspace(0, 1, 64).expand(3, 4, 64)
    for _ in range(10):
        out = color_jitter(ramp, 1.5)
        assert bool((out.diff(dim=-1) >= -1e-6).all()) and torch.equal(out[:, 0], out[:, 3])


def test_encoder_view_is_whole_or_one_half() -> None:
    """The encoder sees the whole batch at p=0 and always the left or the right half (of photo and buffer
    alike) at p=1, both sides occurring."""
    photo, buf = torch.rand(2, 3, 8, 10), torch.rand(2, 9, 8, 10)
    p0, b0 = encoder_view(photo, buf, 0.0)
    assert p0 is photo and b0 is buf
    torch.manual_seed(0)
    sides = set()
    for _ in range(20):
        p1, b1 = encoder_view(photo, buf, 1.0)
        assert p1.shape[-1] == b1.shape[-1] == 5
        side = "left" if torch.equal(p1, photo[..., :5]) else "right"
        assert torch.equal(p1, photo[..., :5] if side == "left" else photo[..., 5:])
        assert torch.equal(b1, buf[..., :5] if side == "left" else buf[..., 5:])
        sides.add(side)
    assert sides == {"left", "right"}


def test_training_with_color_jitter(work_dir: Path, tmp_path: Path) -> None:
    out = train_rerenderer(
        work_dir, tmp_path, *_cfgs(steps_rerender=2, steps_finetune=2, color_jitter=1.0, code_from_half=1.0)
    )
    train_cfg = json.loads((tmp_path / "config.json").read_text())["train"]
    assert train_cfg["color_jitter"] == 1.0 and train_cfg["code_from_half"] == 1.0
    assert all(np.isfinite(v) for rec in out["stages"].values() for v in rec["logs"].values())


def test_color_jitter_dropped_without_appearance_code(work_dir: Path, tmp_path: Path) -> None:
    cfg, tcfg = _cfgs(steps_rerender=1, steps_finetune=1, color_jitter=1.0)
    cfg = RerenderConfig(**{**cfg.to_dict(), "use_appearance": False})
    train_rerenderer(work_dir, tmp_path, cfg, tcfg)
    assert json.loads((tmp_path / "config.json").read_text())["train"]["color_jitter"] == 0.0


def test_cli_train(work_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    code = main(
        [
            "train",
            str(work_dir),
            "--out",
            str(out),
            "--steps",
            "2",
            "2",
            "1",
            "--size",
            "64x48",
            "--batch-size",
            "2",
            "--crop",
            "48x36",
            "--vgg-downsample",
            "2",
            "--holdout",
            "photo_006.png",
            "photo_007",
            "--fit-codes",
            "3",
            "--color-jitter",
            "0.5",
            "--code-from-half",
            "0.5",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "stage2_rerender: 2/2 steps" in text and "photo_006.png" in text
    model, scene = load_rerenderer(out), load_scene_bundle(out)
    assert (
        model.config.size == (64, 48)
        and model.config.color_skip
        and scene.holdout == ["photo_006.png", "photo_007.png"]
    )
    assert len(scene.codes) == 6 and scene.depth_scale == model.config.depth_scale
    assert scene.meta["code_fit_steps"] == 3
    train_cfg = json.loads((out / "config.json").read_text())["train"]
    assert train_cfg["color_jitter"] == 0.5 and train_cfg["code_from_half"] == 0.5
    from neuralwrap.rerender.scene.dataset import RerenderDataset
    from neuralwrap.rerender.training import compute_codes

    ds = RerenderDataset(work_dir / "dataset")
    enc = compute_codes(model, ds, list(scene.codes))
    fitted = compute_codes(model, ds, list(scene.codes), fit_steps=3)
    assert all(np.allclose(fitted[n], scene.codes[n], atol=1e-5) for n in scene.codes)  # what the bundle holds
    assert any(not np.allclose(fitted[n], enc[n]) for n in scene.codes)


def test_ddp_two_processes(work_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "ddp_rr.py"
    script.write_text(
        "import json, sys\nimport torch\nimport torch.distributed as dist\n"
        "from neuralwrap.rerender.models.networks import RerenderConfig\n"
        "from neuralwrap.rerender.training import RerenderTrainConfig, train_rerenderer\n"
        "from neuralwrap.train import cleanup\n"
        "torch.set_num_threads(1)\n"
        "cfg = RerenderConfig(width=48, height=36, gen_enc=(8, 16), gen_dec=(16, 16, 8), enc_widths=(8,),\n"
        "                     disc_widths=(8, 8, 8), disc_scales=2)\n"
        "tcfg = RerenderTrainConfig(steps_appearance=2, steps_rerender=3, steps_finetune=2, batch_size=2,\n"
        "                           progress=False, tensorboard=False, log_every=1, ckpt_every=2)\n"
        "out = train_rerenderer(sys.argv[1], sys.argv[2], cfg, tcfg)\n"
        "from neuralwrap.rerender.checkpoint import load_rerenderer\n"
        "mine = torch.cat([p.detach().flatten() for p in load_rerenderer(sys.argv[2]).parameters()])\n"
        "got = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]\n"
        "dist.all_gather(got, mine)\n"
        "if dist.get_rank() == 0:\n"
        "    diff = max(float((g - mine).abs().max()) for g in got)\n"
        "    json.dump({'world': dist.get_world_size(), 'diff': diff, 'stages': list(out['stages'])},\n"
        "              open(sys.argv[3], 'w'))\n"
        "cleanup(sync=True)\n"
    )
    result = tmp_path / "result.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        str(script),
        str(work_dir),
        str(tmp_path / "out"),
        str(result),
    ]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(result.read_text())
    assert res["world"] == 2 and res["diff"] == 0.0 and len(res["stages"]) == 3
    meta = json.loads((tmp_path / "out" / "stage2_rerender" / "ckpt_00000003.json").read_text())
    assert meta["extra"]["world_size"] == 2


def test_cli_train_under_torchrun(work_dir: Path, tmp_path: Path) -> None:
    """`rerender train` under torchrun (2 CPU processes, gloo): exits 0 on both ranks, rank 0 alone writes the
    scene bundle and the report."""
    out = tmp_path / "m"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        "-m",
        "neuralwrap.rerender.cli",
        "train",
        str(work_dir),
        "--out",
        str(out),
        "--steps",
        "1",
        "2",
        "1",
        "--size",
        "48x36",
        "--batch-size",
        "1",
        "--vgg-downsample",
        "1",
        "--fit-codes",
        "0",
    ]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("model: ") == 1, proc.stdout
    assert load_scene_bundle(out).meta["code_fit_steps"] == 0 and load_rerenderer(out).config.size == (48, 36)
