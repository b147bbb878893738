"""The bottleneck-fidelity term μ·MSE(decoded code image, source) of the sandwich loss (viewer-compatible models)
and the plain-view curve of ``sandwich eval``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError
from neuralwrap.metrics.psnr import psnr
from neuralwrap.sandwich.config import SandwichTrainConfig
from neuralwrap.sandwich.losses import mse_distortion
from neuralwrap.sandwich.models.image import Sandwich
from neuralwrap.sandwich.training.calibration import RDSlope
from neuralwrap.sandwich.training.image import SandwichObjective
from sandwich_helpers import textured_image, tiny_config

SLOPE = RDSlope(qualities=[10, 50, 90], mse=[120.0, 30.0, 5.0], bpp=[0.3, 1.0, 3.0], slope=[200.0, 40.0, 3.0])


def _loss(model: Sandwich, batch: torch.Tensor, q: torch.Tensor, **kw: float) -> tuple[torch.Tensor, dict]:
    torch.manual_seed(3)  # the proxy's rounding noise
    return SandwichObjective(model.cfg, SLOPE, 1.0, **kw).loss_at(model, batch, q)


@pytest.fixture(scope="module")
def setup() -> tuple[Sandwich, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = Sandwich(tiny_config())
    batch = torch.rand(2, 3, 32, 32)
    return model, batch, torch.tensor([20.0, 70.0])


def test_zero_weight_is_the_plain_loss(setup) -> None:
    model, batch, q = setup
    base, logs = _loss(model, batch, q)
    zero, zlogs = _loss(model, batch, q, bottleneck_weight=0.0)
    assert torch.equal(base, zero) and logs == zlogs
    assert "bottleneck_mse" not in logs
    torch.manual_seed(3)  # the formula of the loss before the term existed, bit for bit
    out = model(batch, q)
    lam, mse_plain = SLOPE.at(q)
    excess = ((out.code_raw - out.code_raw.clamp(0, 1)) * 255.0).pow(2).flatten(1).mean(1)
    bpp = out.bits / float(batch.shape[-1] * batch.shape[-2])
    assert torch.equal(base, ((mse_distortion(out.x_hat, batch) + lam * bpp + excess) / mse_plain).mean())


def test_positive_weight_adds_exactly_the_term(setup) -> None:
    model, batch, q = setup
    base, _ = _loss(model, batch, q)
    mu = 0.7
    loss, logs = _loss(model, batch, q, bottleneck_weight=mu)
    torch.manual_seed(3)
    out = model(batch, q)
    term = (mu * mse_distortion(out.decoded, batch) / SLOPE.at(q)[1]).mean()
    assert float((loss - base).detach()) == pytest.approx(float(term), rel=1e-5)
    assert logs["bottleneck_term"] == pytest.approx(float(term), rel=1e-5)
    assert logs["bottleneck_psnr"] == pytest.approx(
        float((10 * torch.log10(255.0**2 / mse_distortion(out.decoded, batch))).mean()), rel=1e-5
    )
    loss.backward()  # the term reaches the pre-processor
    assert model.pre is not None and any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.pre.parameters())


def test_weight_needs_a_same_shape_code_image() -> None:
    cfg = dataclasses.replace(tiny_config(), scale=2)
    SandwichObjective(cfg, SLOPE, 1.0)  # off: fine
    with pytest.raises(InputError, match="bottleneck_weight"):
        SandwichObjective(cfg, SLOPE, 1.0, bottleneck_weight=1.0)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, True, "1", 1e6])
def test_config_rejects_bad_weights(bad: object) -> None:
    with pytest.raises(InputError, match="bottleneck_weight"):
        SandwichTrainConfig(bottleneck_weight=bad)  # type: ignore[arg-type]


def test_config_round_trip_and_cli() -> None:
    from neuralwrap.sandwich.cli.args import build_parser

    sw = SandwichTrainConfig(bottleneck_weight=0.3)
    assert SandwichTrainConfig(**vars(sw)) == sw
    assert SandwichTrainConfig().bottleneck_weight == 0.0
    parser = build_parser()
    assert parser.parse_args(["train"]).bottleneck_weight == SandwichTrainConfig().bottleneck_weight
    assert parser.parse_args(["train", "--bottleneck-weight", "0.3"]).bottleneck_weight == 0.3


def test_cli_refuses_a_negative_weight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neuralwrap.sandwich.cli.main import main

    code = main(["train", "--bottleneck-weight", "-1", "--data", str(tmp_path), "--out", str(tmp_path / "run")])
    assert code == 2
    assert "bottleneck_weight" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_plain_view_of_a_post_only_model_is_the_plain_jpeg(tmp_path: Path) -> None:
    """A post-only model's file is a plain JPEG of the input: its plain-view PSNR is the plain codec's."""
    from neuralwrap.sandwich.evaluation.image import EvalSpec, evaluate, plain_view_label
    from neuralwrap.sandwich.inference.codec import SandwichCodec

    torch.manual_seed(0)
    sc = SandwichCodec(Sandwich(tiny_config(pre=False)), "tiny-postonly")
    img = textured_image(48, 64, seed=1)
    spec = EvalSpec(qualities=(30, 70), plain_view=True)
    summary = evaluate({"post": sc}, {"a": img}, tmp_path, spec)
    view = summary["curves"][plain_view_label("post")]["curve"]
    settings = dict(spec.settings or {})
    jpeg = get_codec("jpeg")
    plain = [psnr(img, jpeg.decode(jpeg.encode(img, quality=q, **settings))) for q in spec.qualities]
    np.testing.assert_allclose(view["psnr"], plain, rtol=1e-6)
    assert summary["plain_view"] is True


def test_a_post_only_model_grows_into_a_sandwich(tmp_path: Path) -> None:
    """``init`` = a post-only model file under a config with a pre-processor: the post starts as the file's, the
    pre as the identity (so the run starts exactly at the post-only model and its plain JPEG files)."""
    from neuralwrap.sandwich.inference.codec import save_model_file
    from neuralwrap.sandwich.training.image import train_sandwich
    from neuralwrap.train import TrainConfig, latest_checkpoint, load_checkpoint
    from sandwich_helpers import make_photo_folder

    torch.manual_seed(1)
    post_only = Sandwich(tiny_config(pre=False))
    src = save_model_file(tmp_path / "po.safetensors", post_only, "po")
    want = post_only.state_dict()
    sw = SandwichTrainConfig(
        data=str(make_photo_folder(tmp_path / "photos", n=2)),
        crop=32,
        refit_every=0,
        calib_crops=2,
        calib_crop=64,
        init=str(src),
        bottleneck_weight=0.5,
    )
    tc = TrainConfig(steps=1, batch_size=2, lr=0.0, out_dir=str(tmp_path / "run"), ckpt_every=1, progress=False)
    train_sandwich(tiny_config(), tc, sw)
    model = Sandwich(tiny_config())
    load_checkpoint(latest_checkpoint(tmp_path / "run"), {"model": model})
    got = model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in want.items() if k.startswith("post."))
    x, q = torch.rand(1, 3, 32, 32), torch.tensor([40.0])
    assert model.pre is not None and torch.equal(model.pre(x, q), x)
