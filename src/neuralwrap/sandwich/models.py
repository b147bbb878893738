"""Pre- and post-processors and the sandwich module that joins them around a codec proxy."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.nn import PointwiseMLP, ScaledResidual, UNet
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig

__all__ = ["Processor", "Sandwich", "SandwichOutput", "quality_map"]


def quality_map(x: Tensor, quality: Tensor) -> Tensor:
    """A constant ``(B,1,H,W)`` map of ``quality/100`` shaped like ``x`` (quality: ``(B,)`` in 1..100)."""
    q = quality.to(x.dtype).reshape(-1, 1, 1, 1) / 100.0
    return q.expand(x.shape[0], 1, x.shape[2], x.shape[3])


class _Body(nn.Module):
    """Pointwise sine MLP + scaled U-Net residual on ``[x, q]`` (both start at exactly zero output)."""

    def __init__(self, in_ch: int, out_ch: int, cfg: ProcessorConfig) -> None:
        super().__init__()
        cin = in_ch + int(cfg.condition_on_quality)
        self.mlp = PointwiseMLP(cin, out_ch, hidden=cfg.mlp_hidden, layers=cfg.mlp_layers)
        last = self.mlp.net[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.unet = ScaledResidual(UNet(cin, out_ch, enc=cfg.unet_enc, dec=cfg.unet_dec), skip=_Zero())

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x) + self.unet(x)


class _Zero(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.zeros((), dtype=x.dtype, device=x.device)


class Processor(nn.Module):
    """``y = linear(x) + mlp([x, q]) + scale · unet([x, q])``: a pre- or post-processor.

    ``linear`` is a 1×1 convolution initialised to the identity (extra output channels start at 0.5,
    missing ones are dropped), and both learned terms start at zero, so an untrained processor is
    the identity on the shared channels. Input ``(B,in_ch,H,W)`` float in [0,1] (any H, W), quality
    ``(B,)`` in 1..100; output ``(B,out_ch,H,W)``, not clipped.
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: ProcessorConfig) -> None:
        super().__init__()
        self.in_ch, self.out_ch, self.cfg = in_ch, out_ch, cfg
        self.linear = nn.Conv2d(in_ch, out_ch, 1)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.fill_(0.5)
            for c in range(min(in_ch, out_ch)):
                self.linear.weight[c, c] = 1.0
                self.linear.bias[c] = 0.0
        self.body = _Body(in_ch, out_ch, cfg)

    def forward(self, x: Tensor, quality: Tensor) -> Tensor:
        """``(B,in_ch,H,W), (B,) → (B,out_ch,H,W)``."""
        inp = torch.cat([x, quality_map(x, quality)], 1) if self.cfg.condition_on_quality else x
        return self.linear(x) + self.body(inp)


@dataclass
class SandwichOutput:
    """What one differentiable pass through the sandwich gives."""

    x_hat: Tensor
    """Reconstruction ``(B,out_ch,H,W)``, clipped to [0,1]."""
    code: Tensor
    """Pre-processed code image ``(B,code_ch,H,W)`` as the codec sees it (clipped, 8-bit rounded)."""
    code_raw: Tensor
    """Pre-processor output before clipping (training penalises values outside [0,1])."""
    decoded: Tensor
    """Codec-proxy output ``(B,code_ch,H,W)`` in [0,1]."""
    bits: Tensor
    """Proxy rate per image ``(B,)`` in bits, after the real-codec correction."""


class Sandwich(nn.Module):
    """Pre-processor → codec proxy → post-processor.

    ::

        x ──► pre ──► code ──► proxy(codec, quality) ──► decoded ──► post ──► x̂
                                   └──► bits (rate proxy × real-codec correction)

    The rate correction ``rate_log_corr`` (one entry per quality bin) is refitted against the real
    codec's bytes during training (:mod:`neuralwrap.sandwich.training`) and saved with the weights.
    """

    def __init__(self, cfg: SandwichConfig) -> None:
        super().__init__()
        from neuralwrap.sandwich.proxy import CodecProxy  # local: keeps models importable without proxies

        self.cfg = cfg
        self.pre = Processor(cfg.in_channels, cfg.code_channels, cfg.pre) if cfg.pre is not None else None
        if self.pre is None and cfg.in_channels != cfg.code_channels:
            raise InputError("a post-only model needs in_channels == code_channels")
        self.post = Processor(cfg.code_channels, cfg.out_channels, cfg.post)
        self.proxy = CodecProxy(cfg.codec, cfg.subsampling)
        self.register_buffer("rate_log_corr", torch.zeros(cfg.rate_bins))

    def check_input(self, x: Tensor) -> None:
        """Raise :class:`InputError` unless ``x`` is ``(B,in_ch,H,W)`` float."""
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels or not x.is_floating_point():
            raise InputError(f"sandwich input must be float (B,{self.cfg.in_channels},H,W), got {tuple(x.shape)} {x.dtype}")

    def preprocess_raw(self, x: Tensor, quality: Tensor) -> Tensor:
        """Source ``(B,in_ch,H,W)`` in [0,1] → unclipped pre-processor output."""
        self.check_input(x)
        return x if self.pre is None else self.pre(x, quality)

    def preprocess(self, x: Tensor, quality: Tensor) -> Tensor:
        """Source ``(B,in_ch,H,W)`` in [0,1] → code image in [0,1] (clipped with a true clamp: pixels
        outside get no gradient through the codec, so the pre-processor cannot drift out of range
        unnoticed; not yet 8-bit rounded)."""
        return self.preprocess_raw(x, quality).clamp(0, 1)

    def postprocess(self, decoded: Tensor, quality: Tensor) -> Tensor:
        """Decoded code image ``(B,code_ch,H,W)`` in [0,1] → reconstruction in [0,1]."""
        return self.post(decoded, quality).clamp(0, 1)

    def _bin_position(self, quality: Tensor) -> Tensor:
        """Fractional index of ``quality`` ``(B,)`` on the correction bins (clamped to the bins)."""
        lo, hi = self.cfg.quality_range
        return ((quality.float() - lo) / max(hi - lo, 1) * (self.cfg.rate_bins - 1)).clamp(0, self.cfg.rate_bins - 1)

    def rate_correction(self, quality: Tensor) -> Tensor:
        """Multiplicative correction of the proxy rate at ``quality`` ``(B,)`` (linear interpolation over bins)."""
        pos = self._bin_position(quality)
        i0 = pos.floor().long()
        i1 = (i0 + 1).clamp(max=self.cfg.rate_bins - 1)
        t = pos - i0.float()
        corr = self.rate_log_corr[i0] * (1 - t) + self.rate_log_corr[i1] * t
        return corr.exp()

    def rate_bin(self, quality: Tensor) -> Tensor:
        """Index of the nearest correction bin for each quality ``(B,)``."""
        return self._bin_position(quality).round().long()

    def forward(self, x: Tensor, quality: Tensor) -> SandwichOutput:
        """Differentiable pass; ``x`` ``(B,in_ch,H,W)`` in [0,1], ``quality`` ``(B,)`` codec quality."""
        raw = self.preprocess_raw(x, quality)
        decoded, bits, code8 = self.proxy(raw.clamp(0, 1), quality)
        x_hat = self.postprocess(decoded, quality)
        return SandwichOutput(x_hat=x_hat, code=code8, code_raw=raw, decoded=decoded,
                              bits=bits * self.rate_correction(quality))
