"""ST-LPIPS from the stlpips-pytorch package: weights load, values behave, gradients flow, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tests.conftest import smooth_image

from neuralwrap.errors import InputError
from neuralwrap.metrics import load_lpips, vgg16_features
from neuralwrap.metrics.lpips import lpips


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    img = smooth_image(96, 128, seed=3)
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255.0


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_zero_for_identical_and_grows_with_damage(image: torch.Tensor, net: str) -> None:
    gen = torch.Generator().manual_seed(0)
    small = (image + 0.02 * torch.randn(image.shape, generator=gen)).clamp(0, 1)
    large = (image + 0.15 * torch.randn(image.shape, generator=gen)).clamp(0, 1)
    d0, d1, d2 = (float(lpips(image, y, net)) for y in (image, small, large))
    assert d0 == pytest.approx(0.0, abs=1e-6)
    assert 0 < d1 < d2


def test_lpips_ranks_blur_and_is_differentiable(image: torch.Tensor) -> None:
    blur3 = F.avg_pool2d(image, 3, 1, 1, count_include_pad=False)
    blur9 = F.avg_pool2d(image, 9, 1, 4, count_include_pad=False)
    assert float(lpips(image, blur3)) < float(lpips(image, blur9))
    x = blur9.clone().requires_grad_(True)
    lpips(image, x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in load_lpips("alex").parameters())


def test_vgg_features_shapes(image: torch.Tensor) -> None:
    feats = vgg16_features()(image)
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    assert feats[0].shape[-2:] == image.shape[-2:]


def test_lpips_bad_input(image: torch.Tensor) -> None:
    with pytest.raises(InputError, match="net"):
        load_lpips("squeezenet")
    with pytest.raises(InputError, match="one shape"):
        lpips(image, image[..., :64])
    with pytest.raises(InputError, match="16x16"):
        lpips(image[..., :8, :8], image[..., :8, :8])
