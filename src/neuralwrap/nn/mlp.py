"""Pointwise (1×1-conv) MLP with SIREN-style sine activations."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Sine", "PointwiseMLP", "make_activation"]


class Sine(nn.Module):
    """``sin(ω0 · x)``."""

    def __init__(self, omega0: float = 1.0) -> None:
        super().__init__()
        self.omega0 = float(omega0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega0 * x)

    def extra_repr(self) -> str:
        return f"omega0={self.omega0}"


def make_activation(name: str, omega0: float = 1.0) -> nn.Module:
    """Activation by name: ``sine``, ``relu``, ``leaky_relu``, ``gelu``, ``silu``, ``tanh``.

    ``leaky_relu`` (slope 0.2) works in place: it overwrites its input, which here is always the fresh output of
    a conv or norm layer. Do not apply it to a tensor you still need."""
    table = {
        "relu": lambda: nn.ReLU(inplace=False),
        "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
        "sine": lambda: Sine(omega0),
    }
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(table)}")
    return table[name]()


class PointwiseMLP(nn.Module):
    """Per-pixel MLP built from 1×1 convolutions.

    ``x (B,in_ch,H,W) → [1×1 conv → act] × layers → 1×1 conv → (B,out_ch,H,W)``

    With ``activation="sine"`` the weights use the SIREN initialisation (Sitzmann et al. 2020):
    first layer ``U(-1/fan_in, 1/fan_in)``, later layers ``U(-√(6/fan_in)/ω0, √(6/fan_in)/ω0)``,
    so pre-activations stay ~U(-1,1)·π/2-scaled whatever ``omega0`` is. ``omega0`` sets the
    frequency content: 30 is the SIREN default for coordinate networks; the default 1.0 keeps a
    colour-transform MLP near-linear and stable at the start of training.

    Example:
        >>> mlp = PointwiseMLP(3, 3, hidden=16, layers=2)
        >>> mlp(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        hidden: int = 16,
        layers: int = 2,
        activation: str = "sine",
        omega0: float = 1.0,
    ) -> None:
        super().__init__()
        if layers < 0 or hidden < 1 or in_ch < 1 or out_ch < 1:
            raise ValueError("in_ch, out_ch, hidden must be >= 1 and layers >= 0")
        self.in_ch, self.out_ch, self.activation, self.omega0 = in_ch, out_ch, activation, float(omega0)
        mods: list[nn.Module] = []
        width = in_ch
        for _ in range(layers):
            mods += [nn.Conv2d(width, hidden, 1), make_activation(activation, omega0)]
            width = hidden
        mods.append(nn.Conv2d(width, out_ch, 1))
        self.net = nn.Sequential(*mods)
        if activation == "sine":
            self._siren_init()

    @torch.no_grad()
    def _siren_init(self) -> None:
        convs = [m for m in self.net if isinstance(m, nn.Conv2d)]
        for i, conv in enumerate(convs):
            fan_in = conv.in_channels
            bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / self.omega0
            conv.weight.uniform_(-bound, bound)
            conv.bias.uniform_(-1.0 / math.sqrt(fan_in), 1.0 / math.sqrt(fan_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_ch, H, W) → (B, out_ch, H, W)``, same dtype/device."""
        return self.net(x)
