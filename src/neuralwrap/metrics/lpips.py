"""LPIPS (shift-tolerant, from the ``stlpips-pytorch`` package) and its VGG16 feature stack.

The package ships its weights (``weights/vST0.0/{alex,vgg}_shift_tolerant.pth``: backbone + linear heads),
so nothing is downloaded. Its modules import ``torchvision`` at the top but the shift-tolerant variant
never uses it; where torchvision is missing or broken (the CPU torch wheel here has no matching
torchvision build) a placeholder module stands in for that unused import.

Conventions: images are ``(B,3,H,W)`` float tensors in [0,1]; LPIPS is ≥ 0, 0 for identical images,
lower is better. Models are frozen (no parameter gradients) but differentiable with respect to inputs.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import lru_cache

import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.resources import package_file

__all__ = ["LPIPS_NETS", "load_lpips", "lpips", "vgg16_features"]

#: backbones of the shift-tolerant LPIPS shipped by stlpips-pytorch
LPIPS_NETS = ("alex", "vgg")


def _stlpips_module() -> types.ModuleType:
    """Import ``stlpips_pytorch.stlpips``, standing in for an unusable torchvision if needed."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        placeholder = types.ModuleType("torchvision")
        placeholder.models = types.ModuleType("torchvision.models")  # type: ignore[attr-defined]
        sys.modules["torchvision"] = placeholder
        sys.modules["torchvision.models"] = placeholder.models  # type: ignore[attr-defined]
        try:
            return importlib.import_module("stlpips_pytorch.stlpips")
        finally:
            del sys.modules["torchvision"], sys.modules["torchvision.models"]
    return importlib.import_module("stlpips_pytorch.stlpips")


class _LPIPS(nn.Module):
    """Wraps the package's LPIPS: ``forward(x, y) -> (B,)`` for inputs in [0,1]."""

    def __init__(self, net: str) -> None:
        super().__init__()
        mod = _stlpips_module()
        self.inner = mod.LPIPS(net=net, variant="shift_tolerant", verbose=False)
        self.inner.eval()
        for p in self.inner.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> _LPIPS:
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.inner(x, y, normalize=True).flatten(1).mean(1)


def _check_net(net: str) -> None:
    if net not in LPIPS_NETS:
        raise InputError(f"LPIPS net must be one of {LPIPS_NETS}, got {net!r}")


@lru_cache(maxsize=4)
def _cached(net: str) -> _LPIPS:
    model = _LPIPS(net)
    _check_loaded(model.inner, net)
    return model


def _check_loaded(inner: nn.Module, net: str) -> None:
    """The package loads its weights with ``strict=False``; make sure every weight was actually present."""
    package = type(inner).__module__.rpartition(".")[0] or "stlpips_pytorch"
    path = package_file(package, f"weights/vST0.0/{net}_shift_tolerant.pth")
    if not path.is_file():
        raise InputError(f"stlpips-pytorch is installed without its weights file {path}")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    params = {k for k, _ in inner.named_parameters()}
    missing = sorted(params - set(saved))
    if missing:
        raise InputError(f"stlpips-pytorch weights {path.name} lack {len(missing)} parameters, e.g. {missing[:3]}")


def load_lpips(net: str = "alex", device: str | torch.device = "cpu") -> nn.Module:
    """Frozen shift-tolerant LPIPS (``net`` "alex" or "vgg"): ``model(x, y) -> (B,)``, inputs ``(B,3,H,W)`` in [0,1]."""
    _check_net(net)
    return _cached(net).to(device)


def lpips(x: Tensor, y: Tensor, net: str = "alex") -> Tensor:
    """Per-image LPIPS ``(B,)`` between ``x`` and ``y`` ``(B,3,H,W)`` in [0,1] (differentiable in both)."""
    if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"lpips needs two (B,3,H,W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < 16:
        raise InputError(f"lpips needs images of at least 16x16 pixels, got {tuple(x.shape[-2:])}")
    return load_lpips(net, x.device)(x, y)


class _VGGFeatures(nn.Module):
    """``(B,3,H,W)`` in [0,1] → [relu1_2, relu2_2, relu3_3, relu4_3, relu5_3] of the ST-LPIPS VGG16."""

    def __init__(self, lp: _LPIPS) -> None:
        super().__init__()
        self.scaling = lp.inner.scaling_layer
        self.net = lp.inner.net

    def forward(self, x: Tensor) -> list[Tensor]:
        return list(self.net(self.scaling(2 * x - 1)))


def vgg16_features(device: str | torch.device = "cpu") -> nn.Module:
    """Frozen VGG16 conv stack (14.7M parameters, trained for ST-LPIPS; shipped by stlpips-pytorch) as a
    perceptual-loss backbone: ``(B,3,H,W)`` in [0,1] → list of 5 ReLU feature maps at strides 1, 2, 4, 8, 16."""
    return _VGGFeatures(load_lpips("vgg", device)).eval()
