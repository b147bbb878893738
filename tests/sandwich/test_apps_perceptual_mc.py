"""Perceptual (LPIPS / MS-SSIM) and multichannel (6/8-channel framebuffer over one JPEG) apps: registry,
distortions with gradients, the groups-of-3 baseline, and tiny training runs (the loss goes down; the
multichannel sandwich beats its groups-of-3 baseline at equal real rate)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralwrap.metrics import psnr
from neuralwrap.sandwich.apps.multichannel import (
    GroupedSandwich,
    grouped_model_roundtrip,
    load_grouped,
    train_grouped,
)
from neuralwrap.sandwich.apps.registry import AppSpec, get_app
from neuralwrap.sandwich.evaluation.image import evaluate_app
from neuralwrap.sandwich.losses import get_distortion, mse_distortion
from neuralwrap.sandwich.models.image import Sandwich
from neuralwrap.sandwich.training.calibration import RDSlope
from neuralwrap.sandwich.training.image import (
    SandwichObjective,
    SandwichTrainConfig,
    train_sandwich,
)
from neuralwrap.synthetic.multichannel import MultiChannelCrops, make_multichannel
from neuralwrap.train import (
    TrainConfig,
    latest_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    seed_everything,
)
from sandwich_helpers import TINY, make_photo_folder


def test_apps_registered_with_their_baselines() -> None:
    for name in ("jpeg420-lpips", "jpeg420-msssim"):
        app = get_app(name)
        assert app.anchor == "plain-jpeg" and "jpeg420-mse" in app.baselines
        assert app.distortion in ("lpips", "msssim") and {"lpips", "msssim"} <= set(app.metrics)
        assert (app.config.in_channels, app.config.code_channels) == (3, 3)
    for ch, code in ((6, 6), (8, 9)):
        app = get_app(f"mc{ch}-jpeg")
        c = app.config
        assert (c.in_channels, c.code_channels, c.out_channels, c.subsampling) == (ch, code, ch, "420")
        assert app.anchor == "jpeg-groups3"


@pytest.mark.parametrize("channels", [6, 8])
def test_untrained_grouped_sandwich_is_the_groups_of_three_baseline(channels: int) -> None:
    app = get_app(f"mc{channels}-jpeg")
    model = GroupedSandwich(dataclasses.replace(app.config, pre=TINY, post=TINY))
    img = make_multichannel(1, width=64, height=48, channels=channels)[0][1]
    d_base, r_base = app.baselines["jpeg-groups3"](img, 60)
    d_sw, r_sw = grouped_model_roundtrip(model)(img, 60)
    assert d_sw.count(b"\xff\xd8\xff") == -(-channels // 3)
    if channels == 6:  # exactly the baseline
        assert len(d_sw) == len(d_base)
        np.testing.assert_allclose(np.rint(r_sw * 255), np.rint(r_base * 255), atol=1)
    else:  # the padding channel is 0.5 instead of 0, which YCbCr mixes into the third group: nearly the same
        assert abs(len(d_sw) - len(d_base)) < 0.05 * len(d_base)
        assert abs(psnr(img, np.rint(r_sw * 255).astype(np.float32) / 255) - psnr(img, r_base)) < 0.5
    out = model(torch.from_numpy(img.transpose(2, 0, 1).copy())[None], torch.tensor([60.0]))
    assert out.x_hat.shape == (1, channels, 48, 64) and out.bits.shape == (1,)


@pytest.mark.parametrize("name", ["lpips", "msssim"])
def test_perceptual_distortions_have_gradients_and_mse_scale(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g)
    x_hat = (x + 0.05 * torch.randn(2, 3, 32, 32, generator=g)).clamp(0, 1).requires_grad_(True)
    fn = get_distortion(name)
    d = fn(x_hat, x)
    assert d.shape == (2,) and bool((d > 0).all())
    # MSE-like units: same order of magnitude as the MSE in 8-bit units² for a moderate distortion
    ratio = float(d.detach().mean() / mse_distortion(x_hat.detach(), x).mean())
    assert 0.1 < ratio < 30, ratio
    d.sum().backward()
    assert x_hat.grad is not None and torch.isfinite(x_hat.grad).all() and x_hat.grad.abs().sum() > 0
    assert float(fn(x, x).abs().max()) < 1e-3


@pytest.mark.parametrize("channels", [6, 8])
def test_groups_of_three_baseline(channels: int) -> None:
    img = make_multichannel(1, width=64, height=48, channels=channels)[0][1]
    run = get_app(f"mc{channels}-jpeg").baselines["jpeg-groups3"]
    data, rec = run(img, 50)
    assert rec.shape == img.shape and rec.dtype == np.float32
    assert data.count(b"\xff\xd8\xff") == -(-channels // 3)  # one JPEG file per group of three
    assert np.abs(rec - img).mean() < 0.05


def _losses(run: Path) -> list[float]:
    with open(run / "train_log.csv") as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


def _train(app: AppSpec, tmp: Path, steps: int, lr: float, data: str = "") -> tuple[dict, Path]:
    tc = TrainConfig(
        steps=steps,
        batch_size=4,
        lr=lr,
        seed=1,
        out_dir=str(tmp / "run"),
        log_every=5,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
    )
    sw = SandwichTrainConfig(
        data=data, crop=32, refit_every=20, refit_crops=4, calib_crops=4, calib_crop=64, lr_schedule="constant"
    )
    return train_sandwich(app.config, tc, sw, app=app), tmp / "run"


def _fixed_loss(app: AppSpec, run: Path, batch: torch.Tensor, trained: bool) -> float:
    """The training objective on a fixed batch at fixed qualities, for the untrained (same seed) or trained model."""
    meta = read_checkpoint_meta(latest_checkpoint(run))
    slope = RDSlope(**meta["config"]["model"]["rd_slope"])
    seed_everything(1)
    model = Sandwich(app.config)
    if trained:
        load_checkpoint(latest_checkpoint(run), {"model": model})
    model.eval()
    obj = SandwichObjective(app.config, slope, 1.0, distortion=app.distortion)
    q = torch.linspace(20, 80, batch.shape[0])
    with torch.no_grad():
        return float(obj.loss_at(model, batch, q)[0])


@pytest.mark.parametrize("name", ["jpeg420-lpips", "jpeg420-msssim"])
def test_perceptual_app_trains_on_tiny_photos(tmp_path: Path, name: str) -> None:
    app = get_app(name)
    cfg = dataclasses.replace(app.config, pre=TINY, post=TINY, quality_range=(10, 90), rate_bins=4)
    app = dataclasses.replace(app, name=f"{name}-tiny", config=cfg)
    data = make_photo_folder(tmp_path / "photos")
    result, run = _train(app, tmp_path, steps=40, lr=3e-3, data=str(data))
    assert app.distortion in result
    ds = app.train_data(SandwichTrainConfig(data=str(data), crop=48), 99)
    batch = torch.stack([ds[i] for i in range(6)])
    before, after = _fixed_loss(app, run, batch, False), _fixed_loss(app, run, batch, True)
    assert after < before, (before, after)


def test_multichannel_app_beats_groups_of_three(tmp_path: Path) -> None:
    train = [im for _, im in make_multichannel(4, width=64, height=48, channels=6, split="train", views_per_scene=2)]
    test = make_multichannel(2, width=64, height=48, channels=6, split="test", views_per_scene=1)
    app = get_app("mc6-jpeg")
    cfg = dataclasses.replace(app.config, pre=TINY, post=TINY, quality_range=(10, 90), rate_bins=4)
    app = dataclasses.replace(
        app,
        name="mc6-tiny",
        config=cfg,
        eval_data=lambda d: test,
        train_data=lambda c, seed: MultiChannelCrops(train, crop=int(c.crop), seed=seed),
    )
    tc = TrainConfig(
        steps=60,
        batch_size=4,
        lr=3e-3,
        seed=1,
        out_dir=str(tmp_path / "run"),
        log_every=5,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
    )
    sw = SandwichTrainConfig(
        crop=32, refit_every=20, refit_crops=4, calib_crops=4, calib_crop=64, lr_schedule="constant"
    )
    result = train_grouped(app, tc, sw)
    assert result["rate_refits"]
    run = tmp_path / "run"
    batch = torch.stack([MultiChannelCrops(train, crop=48, seed=5)[i] for i in range(6)])
    meta = read_checkpoint_meta(latest_checkpoint(run))
    slope = RDSlope(**meta["config"]["model"]["rd_slope"])
    obj = SandwichObjective(app.config, slope, 1.0)
    seed_everything(1)
    untrained = GroupedSandwich(app.config)
    model = GroupedSandwich(app.config)
    load_checkpoint(latest_checkpoint(run), {"model": model})
    q = torch.linspace(20, 80, 6)
    with torch.no_grad():
        assert float(obj.loss_at(model.eval(), batch, q)[0]) < float(obj.loss_at(untrained.eval(), batch, q)[0])
    app = dataclasses.replace(app, baselines={**app.baselines, "sandwich": grouped_model_roundtrip(model)})
    summary = evaluate_app(app, {}, tmp_path / "eval", qualities=(20, 40, 60, 80), baselines=[app.anchor, "sandwich"])
    bd = summary["curves"]["sandwich"]["bd"][app.anchor]
    assert bd["bd_psnr_img"] > 0.0, bd  # better than the groups-of-3 baseline at equal real rate


def test_cli_trains_exports_and_evaluates_a_grouped_app(tmp_path: Path) -> None:
    """``sandwich train --app`` / ``sandwich eval --app`` handle apps whose code spans several codec files."""
    import json

    from neuralwrap.sandwich.apps.registry import register_app, unregister_app
    from neuralwrap.sandwich.cli.main import main

    train = [im for _, im in make_multichannel(2, width=64, height=48, channels=6, split="train", views_per_scene=2)]
    test = make_multichannel(1, width=64, height=48, channels=6, split="test", views_per_scene=1)
    base = get_app("mc6-jpeg")
    cfg = dataclasses.replace(base.config, pre=TINY, post=TINY, quality_range=(10, 90), rate_bins=4)
    app = dataclasses.replace(
        base,
        name="mc6-cli-test",
        config=cfg,
        eval_data=lambda d: test,
        train_data=lambda c, seed: MultiChannelCrops(train, crop=int(c.crop), seed=seed),
    )
    register_app(app)
    try:
        model = tmp_path / "mc.safetensors"
        assert (
            main(
                [
                    "train",
                    "--app",
                    app.name,
                    "--steps",
                    "3",
                    "--batch-size",
                    "2",
                    "--crop",
                    "32",
                    "--refit-every",
                    "2",
                    "--refit-crops",
                    "2",
                    "--refit-crop",
                    "32",
                    "--out",
                    str(tmp_path / "run"),
                    "--export",
                    str(model),
                    "--name",
                    "mc-test",
                ]
            )
            == 0
        )
        meta = json.loads(model.with_suffix(".json").read_text())
        assert meta["config"]["grouped"] is True and meta["config"]["app"] == app.name
        loaded = load_grouped(str(model))
        assert isinstance(loaded, GroupedSandwich) and loaded.cfg.code_channels == 6
        out = tmp_path / "eval"
        assert (
            main(
                [
                    "eval",
                    "--app",
                    app.name,
                    "--model",
                    str(model),
                    "--baseline",
                    app.anchor,
                    "--qualities",
                    "30",
                    "60",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        summary = json.loads((out / "summary.json").read_text())
        assert set(summary["curves"]) == {app.anchor, "mc"}
        assert summary["curves"]["mc"]["curve"]["bpp"][0] > 0
    finally:
        unregister_app(app.name)
