"""Losses of Neural Rerendering: LSGAN, VGG perceptual, Gram-matrix style distance and the triplet loss.

The VGG16 backbone is the frozen ST-LPIPS VGG16 of :func:`neuralwrap.metrics.lpips.vgg16_features`
(shipped with ``stlpips-pytorch``; nothing is downloaded). Images are ``(B,3,H,W)`` float in [0, 1].

Example::

    perc = PerceptualLoss()
    loss = perc(fake, real)                       # scalar
    d = style_distances(gram_features(perc.vgg, photos))   # (N, N) style distance matrix
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.metrics.lpips import vgg16_features

__all__ = [
    "PerceptualLoss",
    "gram_features",
    "gram_matrix",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "style_distances",
    "triplet_loss",
]

#: per-layer weights of the perceptual loss (relu1_2 … relu5_3), as in pix2pixHD's VGG loss
VGG_LAYER_WEIGHTS: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def lsgan_d_loss(real: Sequence[Tensor], fake: Sequence[Tensor]) -> Tensor:
    """Least-squares discriminator loss, averaged over scales: ``mean((D(real) − 1)²) + mean(D(fake)²)``."""
    terms = [(r - 1).square().mean() + f.square().mean() for r, f in zip(real, fake)]
    return torch.stack(terms).mean()


def lsgan_g_loss(fake: Sequence[Tensor]) -> Tensor:
    """Least-squares generator loss, averaged over scales: ``mean((D(fake) − 1)²)``."""
    return torch.stack([(f - 1).square().mean() for f in fake]).mean()


class PerceptualLoss(nn.Module):
    """``Σ_l w_l · mean|φ_l(x) − φ_l(y)|`` over the 5 VGG16 ReLU maps; ``x, y`` ``(B,3,H,W)`` in [0,1] → scalar.

    The backbone is frozen and not part of ``state_dict`` consumers' models (keep this module outside
    the trained model). Gradients flow to ``x`` only; ``y`` (the target) is evaluated without grad.
    """

    def __init__(self, weights: Sequence[float] = VGG_LAYER_WEIGHTS, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.vgg = vgg16_features(device)
        self.weights = tuple(float(w) for w in weights)

    def train(self, mode: bool = True) -> PerceptualLoss:
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        fx = self.vgg(x)
        with torch.no_grad():
            fy = self.vgg(y)
        return sum(w * F.l1_loss(a, b) for w, a, b in zip(self.weights, fx, fy) if w)  # type: ignore[return-value]


def gram_matrix(feat: Tensor) -> Tensor:
    """``(B, C, H, W)`` features → ``(B, C, C)`` Gram matrices normalised by ``C·H·W``."""
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


@torch.no_grad()
def gram_features(vgg: nn.Module, photos: Tensor, layers: Sequence[int] = (0, 1, 2, 3), batch: int = 8) -> list[Tensor]:
    """Gram matrices of ``vgg(photos)`` at ``layers``: one ``(N, C_l, C_l)`` tensor per layer; photos ``(N,3,H,W)``."""
    out: list[list[Tensor]] = [[] for _ in layers]
    for i in range(0, photos.shape[0], batch):
        feats = vgg(photos[i : i + batch])
        for k, layer in enumerate(layers):
            out[k].append(gram_matrix(feats[layer]))
    return [torch.cat(g) for g in out]


def style_distances(grams: Sequence[Tensor]) -> Tensor:
    """``(N, N)`` style distance: ``Σ_l ‖G_l(i) − G_l(j)‖²_F / mean over pairs of that layer`` (layers weighted equally)."""
    total = None
    for g in grams:
        flat = g.reshape(g.shape[0], -1).double()
        d = torch.cdist(flat, flat).square()
        d = d / d.mean().clamp_min(1e-30)
        total = d if total is None else total + d
    assert total is not None
    return total.float()


def triplet_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 0.5) -> Tensor:
    """``mean(max(0, ‖a − p‖² − ‖a − n‖² + margin))`` over the batch; codes ``(B, D)``."""
    dp = (anchor - positive).square().sum(-1)
    dn = (anchor - negative).square().sum(-1)
    return F.relu(dp - dn + margin).mean()
