"""Standard U-Net for any number of channels and any image size.

Widths follow the Sandwiched Compression paper's notation: ``enc`` lists one width per encoder
stage; ``dec`` lists the bottleneck width first, then one width per decoder stage (so
``len(dec) == len(enc) + 1``); the last decoder width feeds the final 1×1 conv to ``out_ch``.
Downsampling is 2×2 max-pool, upsampling is bilinear ×2 followed by concatenation with the skip,
so all parameters are in the 3×3 convs. Parameter counts for 3→3 channels (checked in tests)::

    default  enc (32, 64, 128, 256)  dec (512, 256, 128, 64, 32)  7,846,723  (paper ≈7.8M)
    slim     enc (32,)               dec (32, 32)                      56,451  (paper ≈57K)
    tiny     enc (8, 16)             dec (32, 16, 8)                   29,779  (paper ≈30K)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neuralwrap.nn.mlp import make_activation
from neuralwrap.nn.norms import make_norm

__all__ = ["UNET_PRESETS", "ConvBlock", "UNet", "unet_preset"]

UNET_PRESETS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "default": ((32, 64, 128, 256), (512, 256, 128, 64, 32)),
    "slim": ((32,), (32, 32)),
    "tiny": ((8, 16), (32, 16, 8)),
}
"""Preset name → ``(enc, dec)`` widths from the Sandwiched Compression paper."""


class ConvBlock(nn.Sequential):
    """Two ``3×3 conv → norm → activation`` layers: ``(B,in_ch,H,W) → (B,out_ch,H,W)``."""

    def __init__(self, in_ch: int, out_ch: int, norm: str | None = None, activation: str = "leaky_relu") -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            make_norm(norm, out_ch),
            make_activation(activation),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
            make_norm(norm, out_ch),
            make_activation(activation),
        )


class UNet(nn.Module):
    """U-Net ``(B,in_ch,H,W) → (B,out_ch,H,W)`` for any H, W.

    ::

        x ─pad─► E1 ─pool─► E2 ─pool─► … ─pool─► bottleneck(+cond) ─up─► D_n ─up─► … D_1 ─1×1─► crop ─► y
                  └──────────skip────────────────────────────────────────┘ concat

    The input is padded (``pad_mode``: ``"replicate"`` or ``"reflect"``, reflect falls back to
    replicate when the image is too small) to a multiple of ``2**len(enc)`` and the output is
    cropped back. ``cond_ch > 0`` adds a conditioning vector ``(B, cond_ch)`` tiled over the
    bottleneck (e.g. the 8-D appearance code of Neural Rerendering).

    Args:
        in_ch, out_ch: channel counts (any ≥ 1).
        enc: encoder widths, one per downsampling stage (may be empty: no downsampling).
        dec: bottleneck width then one width per decoder stage; ``len(dec) == len(enc) + 1``.
        norm: ``None``, ``"pixel"`` or ``"group"``.
        activation: name for :func:`neuralwrap.nn.make_activation` (default leaky ReLU 0.2).
        cond_ch: width of an optional conditioning vector tiled at the bottleneck.
        pad_mode: border padding for sizes that are not a multiple of ``2**len(enc)``.
        zero_init_last: initialise the output conv to zero (output starts at 0).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        enc: Sequence[int] = (32, 64, 128, 256),
        dec: Sequence[int] = (512, 256, 128, 64, 32),
        norm: str | None = None,
        activation: str = "leaky_relu",
        cond_ch: int = 0,
        pad_mode: str = "replicate",
        zero_init_last: bool = False,
    ) -> None:
        super().__init__()
        enc, dec = tuple(int(c) for c in enc), tuple(int(c) for c in dec)
        if len(dec) != len(enc) + 1:
            raise ValueError(f"len(dec) must be len(enc)+1 (bottleneck + one per stage); got enc={enc}, dec={dec}")
        if pad_mode not in ("replicate", "reflect"):
            raise ValueError(f"pad_mode must be 'replicate' or 'reflect', got {pad_mode!r}")
        self.in_ch, self.out_ch, self.enc, self.dec = in_ch, out_ch, enc, dec
        self.cond_ch, self.pad_mode = cond_ch, pad_mode
        self.encoders = nn.ModuleList()
        width = in_ch
        for c in enc:
            self.encoders.append(ConvBlock(width, c, norm, activation))
            width = c
        self.bottleneck = ConvBlock(width + cond_ch, dec[0], norm, activation)
        self.decoders = nn.ModuleList()
        width = dec[0]
        for skip_c, c in zip(reversed(enc), dec[1:]):
            self.decoders.append(ConvBlock(width + skip_c, c, norm, activation))
            width = c
        self.head = nn.Conv2d(width, out_ch, 1)
        if zero_init_last:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def depth(self) -> int:
        """Number of 2× downsampling stages."""
        return len(self.enc)

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        if ph == 0 and pw == 0 and not torch.compiler.is_exporting():  # exported (ONNX): sizes are symbolic, pad always
            return x, h, w
        mode = self.pad_mode if (self.pad_mode == "replicate" or (ph < h and pw < w)) else "replicate"
        return F.pad(x, (0, pw, 0, ph), mode=mode), h, w

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: ``(B, in_ch, H, W)``; ``cond``: ``(B, cond_ch)`` if ``cond_ch > 0``. Returns ``(B, out_ch, H, W)``."""
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"expected (B,{self.in_ch},H,W), got {tuple(x.shape)}")
        x, h, w = self._pad(x)
        skips = []
        for block in self.encoders:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        if self.cond_ch:
            if cond is None or cond.shape != (x.shape[0], self.cond_ch):
                raise ValueError(f"cond must be (B,{self.cond_ch}), got {None if cond is None else tuple(cond.shape)}")
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[-2:]).to(x.dtype)], dim=1)
        x = self._stage_out(self.bottleneck(x), 0, cond)
        for i, (block, skip) in enumerate(zip(self.decoders, reversed(skips)), start=1):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = self._stage_out(block(torch.cat([x, skip], dim=1)), i, cond)
        return self.head(x)[..., :h, :w]

    def _stage_out(self, x: torch.Tensor, stage: int, cond: torch.Tensor | None) -> torch.Tensor:
        """Hook on the output of the bottleneck (``stage`` 0) and of each decoder stage (1…); identity here,
        subclasses may condition it on ``cond``."""
        return x


def unet_preset(name: str, in_ch: int = 3, out_ch: int = 3, **kwargs: object) -> UNet:
    """Build a :class:`UNet` from :data:`UNET_PRESETS` (``"default"``, ``"slim"``, ``"tiny"``)."""
    if name not in UNET_PRESETS:
        raise ValueError(f"unknown U-Net preset {name!r}; expected one of {sorted(UNET_PRESETS)}")
    enc, dec = UNET_PRESETS[name]
    return UNet(in_ch, out_ch, enc=enc, dec=dec, **kwargs)  # type: ignore[arg-type]
