"""Tiny regression task shared by the training-engine tests and the DDP script."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset


class NoisyRegression(Dataset):
    """32 samples ``(x (2,4,4), y (1,4,4))`` with y = 0.5·x0 - x1 + 0.2; __getitem__ adds noise from the
    global torch RNG so resume tests also cover RNG restoration."""

    def __init__(self, n: int = 32) -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.rand(n, 2, 4, 4, generator=g)
        self.y = 0.5 * self.x[:, :1] - self.x[:, 1:] + 0.2

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i] + 0.01 * torch.randn(2, 4, 4), self.y[i]


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.Dropout(0.1), nn.SiLU(), nn.Conv2d(8, 1, 1))


def mse_loss(
    model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], step: int
) -> tuple[torch.Tensor, dict[str, float]]:
    x, y = batch
    loss = (model(x) - y).square().mean()
    return loss, {"mse": float(loss.detach())}
