"""Model size and compute accounting."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["count_parameters", "macs_per_pixel"]


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (shared parameters counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _conv_macs(mod: nn.Module, out: torch.Tensor) -> int:
    if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        per_out = (mod.in_channels // mod.groups) * int(torch.tensor(mod.kernel_size).prod())
        return out[0].numel() * per_out
    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        per_out = (mod.out_channels // mod.groups) * int(torch.tensor(mod.kernel_size).prod())
        return out[0].numel() // mod.out_channels * mod.in_channels * per_out
    if isinstance(mod, nn.Linear):
        return out[0].numel() * mod.in_features
    return 0


@torch.no_grad()
def macs_per_pixel(module: nn.Module, in_ch: int, h: int = 64, w: int = 64) -> float:
    """Multiply-accumulates of conv/linear layers per input pixel, for one image.

    Runs a zero probe ``(1, in_ch, h, w)`` on the module's device/dtype, sums the MACs of every
    ``Conv*``/``ConvTranspose*``/``Linear`` call via forward hooks and divides by ``h·w``.
    Norms, activations, pooling and interpolation are not counted.
    """
    total = 0

    def hook(mod: nn.Module, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        total += _conv_macs(mod, out)

    param = next(module.parameters(), None)
    probe = torch.zeros(
        1,
        in_ch,
        h,
        w,
        device=param.device if param is not None else "cpu",
        dtype=param.dtype if param is not None else torch.float32,
    )
    handles = [m.register_forward_hook(hook) for m in module.modules()]
    was_training = module.training
    try:
        module.eval()
        module(probe)
    finally:
        module.train(was_training)
        for hd in handles:
            hd.remove()
    return total / (h * w)
