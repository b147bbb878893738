"""Sandwich models: identity at initialisation, shapes, gradients, config round trip."""

from __future__ import annotations

import json

import pytest
import torch

from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.sandwich import Processor, Sandwich, SandwichConfig
from sandwich_helpers import TINY, tiny_config


def test_processor_starts_as_identity_any_size() -> None:
    p = Processor(3, 3, TINY)
    x = torch.rand(2, 3, 37, 53)
    assert torch.allclose(p(x, torch.tensor([20.0, 80.0])), x, atol=1e-6)


def test_processor_channel_change() -> None:
    p = Processor(6, 3, TINY)
    y = p(torch.rand(1, 6, 16, 16), torch.tensor([50.0]))
    assert y.shape == (1, 3, 16, 16)


def test_sandwich_forward_shapes_and_gradients() -> None:
    torch.manual_seed(0)
    m = Sandwich(tiny_config())
    x = torch.rand(2, 3, 32, 48)
    out = m(x, torch.tensor([30.0, 70.0]))
    assert out.x_hat.shape == x.shape and out.bits.shape == (2,)
    assert bool((out.bits > 0).all())
    (out.x_hat.mean() + out.bits.mean() * 1e-6).backward()
    assert m.pre.linear.weight.grad is not None and m.pre.linear.weight.grad.abs().sum() > 0
    assert m.post.linear.weight.grad.abs().sum() > 0


def test_more_bits_at_higher_quality() -> None:
    m = Sandwich(tiny_config()).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        lo = m(x, torch.tensor([10.0])).bits
        hi = m(x, torch.tensor([90.0])).bits
    assert float(hi) > 1.5 * float(lo)


def test_config_json_round_trip() -> None:
    cfg = tiny_config(pre=False, subsampling="444")
    back = SandwichConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    with pytest.raises(CheckpointError, match="unknown"):
        SandwichConfig.from_dict({**cfg.to_dict(), "bogus": 1})


def test_bad_input_shape() -> None:
    m = Sandwich(tiny_config())
    with pytest.raises(InputError, match="3"):
        m(torch.rand(1, 4, 16, 16), torch.tensor([50.0]))


@pytest.mark.parametrize("codec", ["heif", "avif"])
def test_intra_codecs_are_trainable_from_a_config(codec: str) -> None:
    """The proxy table reaches the intra proxy by codec name: gradients flow and the rate follows quality."""
    import dataclasses

    torch.manual_seed(0)
    m = Sandwich(dataclasses.replace(tiny_config(), codec=codec))
    x = torch.rand(2, 3, 32, 48)
    out = m(x, torch.tensor([20.0, 80.0]))
    assert out.x_hat.shape == x.shape and bool(torch.isfinite(out.bits).all())
    bits = out.bits.detach()
    assert float(bits[1]) > float(bits[0]) > 0
    (out.x_hat.mean() + out.bits.mean() * 1e-6).backward()
    assert m.pre.linear.weight.grad.abs().sum() > 0
