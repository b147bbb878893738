"""Tests for neuralwrap.nn: shapes, preset sizes, init behaviour, accounting."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from neuralwrap.nn import (
    UNET_PRESETS,
    PixelNorm,
    PointwiseMLP,
    ScaledResidual,
    UNet,
    count_parameters,
    macs_per_pixel,
    unet_preset,
)

torch.set_num_threads(1)

# Paper (Sandwiched Compression) sizes for 3→3 channels, and the exact counts of this implementation.
PAPER = {"default": 7.8e6, "slim": 57e3, "tiny": 30e3}
EXACT = {"default": 7_846_723, "slim": 56_451, "tiny": 29_779}


@pytest.mark.parametrize("name", sorted(UNET_PRESETS))
def test_unet_preset_parameter_counts(name: str) -> None:
    n = count_parameters(unet_preset(name, 3, 3))
    assert n == EXACT[name]
    assert abs(n - PAPER[name]) / PAPER[name] < 0.03


@pytest.mark.parametrize("hw", [(13, 7), (1, 1), (16, 16), (5, 33)])
@pytest.mark.parametrize("pad_mode", ["replicate", "reflect"])
def test_unet_any_size_and_channels(hw: tuple[int, int], pad_mode: str) -> None:
    net = unet_preset("tiny", in_ch=5, out_ch=2, pad_mode=pad_mode)
    y = net(torch.rand(2, 5, *hw))
    assert y.shape == (2, 2, *hw) and torch.isfinite(y).all()


@pytest.mark.parametrize("norm", [None, "pixel", "group"])
def test_unet_norms_and_conditioning(norm: str | None) -> None:
    net = UNet(4, 1, enc=(4, 6, 8), dec=(8, 6, 4, 4), norm=norm, cond_ch=3)
    y = net(torch.rand(1, 4, 9, 10), torch.rand(1, 3))
    assert y.shape == (1, 1, 9, 10)
    with pytest.raises(ValueError):
        net(torch.rand(1, 4, 9, 10))


def test_unet_rejects_bad_config_and_input() -> None:
    with pytest.raises(ValueError):
        UNet(3, 3, enc=(8, 16), dec=(16, 8))
    with pytest.raises(ValueError):
        unet_preset("tiny")(torch.rand(1, 4, 8, 8))


def test_unet_zero_init_last() -> None:
    net = unet_preset("slim", zero_init_last=True)
    assert torch.count_nonzero(net(torch.rand(1, 3, 8, 8))) == 0


def test_pointwise_mlp_shapes_and_init() -> None:
    mlp = PointwiseMLP(3, 4, hidden=16, layers=2, omega0=1.0)
    assert count_parameters(mlp) == (3 * 16 + 16) + (16 * 16 + 16) + (16 * 4 + 4)
    x = torch.rand(2, 3, 5, 7)
    y = mlp(x)
    assert y.shape == (2, 4, 5, 7) and torch.isfinite(y).all()
    convs = [m for m in mlp.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].weight.abs().max() <= 1 / 3
    assert convs[1].weight.abs().max() <= math.sqrt(6 / 16)
    # pixelwise: each output pixel depends only on its own input pixel
    x2 = x.clone()
    x2[..., 0, 0] += 1
    assert torch.equal(mlp(x2)[..., 1:, :], y[..., 1:, :])


def test_pointwise_mlp_high_omega_stays_bounded() -> None:
    mlp = PointwiseMLP(3, 3, hidden=16, layers=3, omega0=30.0)
    y = mlp(torch.rand(1, 3, 16, 16))
    assert torch.isfinite(y).all() and y.abs().max() < 10


def test_scaled_residual_starts_as_skip_path() -> None:
    skip = PointwiseMLP(3, 3)
    res = ScaledResidual(unet_preset("tiny"), skip=skip)
    x = torch.rand(1, 3, 11, 9)
    assert torch.equal(res(x), skip(x))
    ident = ScaledResidual(unet_preset("tiny"))
    assert torch.equal(ident(x), x)
    ident(x).square().mean().backward()
    assert ident.scale.grad is not None and ident.scale.grad.abs() > 0


def test_pixel_norm_unit_rms() -> None:
    y = PixelNorm()(torch.randn(2, 6, 4, 4) * 5)
    assert torch.allclose(y.pow(2).mean(1), torch.ones(2, 4, 4), atol=1e-4)


def test_macs_per_pixel() -> None:
    assert macs_per_pixel(nn.Conv2d(3, 8, 3, padding=1), 3) == 3 * 8 * 9
    mlp = PointwiseMLP(3, 3, hidden=16, layers=2)
    assert macs_per_pixel(mlp, 3, 8, 8) == 3 * 16 + 16 * 16 + 16 * 3
    # half resolution convs count a quarter per input pixel
    seq = nn.Sequential(nn.Conv2d(1, 1, 2, stride=2))
    assert macs_per_pixel(seq, 1, 8, 8) == pytest.approx(4 / 4)
