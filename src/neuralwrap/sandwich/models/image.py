"""Pre- and post-processors and the sandwich module that joins them around a codec proxy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.luma import BT601_LUMA
from neuralwrap.nn import PointwiseMLP, ScaledResidual, UNet
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig
from neuralwrap.sandwich.models.proxy import CodecProxy

__all__ = [
    "CARRIERS",
    "LUMA_WEIGHTS",
    "Processor",
    "Sandwich",
    "SandwichOutput",
    "carrier_maps",
    "fixed_preprocess",
    "load_processors",
    "quality_map",
]


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


#: carrier patterns ``(u, v)`` in order of use: the 8×8 DCT basis function with horizontal frequency u and
#: vertical frequency v (aligned to the JPEG block grid), scaled to peak ±1
CARRIERS: tuple[tuple[int, int], ...] = ((4, 0), (0, 4), (4, 4), (2, 2), (2, 0), (0, 2), (6, 0), (0, 6))

_CARRIER_CACHE: dict[tuple[int, int, int, str, torch.dtype], Tensor] = {}


def carrier_maps(
    n: int, h: int, w: int, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> Tensor:
    """The first ``n`` :data:`CARRIERS` as ``(1, n, h, w)`` maps in [-1, 1] (pixel (0,0) at a block corner)."""
    if n > len(CARRIERS):
        raise InputError(f"at most {len(CARRIERS)} carriers, got {n}")
    if torch.compiler.is_exporting():  # symbolic h, w (ONNX export): one 8×8 period tiled, the same maps for h, w ≥ 8
        tile = _carrier_grid(n, 8, 8).to(device=device, dtype=dtype)
        return tile.repeat(1, 1, (h + 7) // 8, (w + 7) // 8)[:, :, :h, :w]
    key = (n, h, w, str(device), dtype)
    if key not in _CARRIER_CACHE:
        _CARRIER_CACHE[key] = _carrier_grid(n, h, w).to(device=device, dtype=dtype)
    return _CARRIER_CACHE[key]


def _carrier_grid(n: int, h: int, w: int) -> Tensor:
    """The first ``n`` carriers on an ``h×w`` grid, ``(1, n, h, w)`` float64, each scaled to peak ±1."""
    yy = torch.arange(h, dtype=torch.float64)[:, None] % 8
    xx = torch.arange(w, dtype=torch.float64)[None, :] % 8
    maps = []
    for u, v in CARRIERS[:n]:
        m = torch.cos(torch.pi * (2 * xx + 1) * u / 16) * torch.cos(torch.pi * (2 * yy + 1) * v / 16)
        maps.append(m / m.abs().max())
    return torch.stack(maps)[None]


def _with_carriers(x: Tensor, n: int, remodulate: bool = False) -> Tensor:
    """``(B,C,H,W)`` → ``(B, C + n + 2·n·C, H, W)``: ``[x, c_1..c_n, x·c_1, …, x·c_n, box(x·c_1), …]``.

    ``box`` is a 4×4 moving average: it removes a period-4 carrier (and smooth content times it), so
    ``box(x·c_k)`` is the demodulated signal that was modulated onto ``c_k``."""
    if n == 0:
        return x
    c = carrier_maps(n, x.shape[-2], x.shape[-1], device=x.device, dtype=x.dtype).expand(x.shape[0], -1, -1, -1)
    mod = (x[:, None] * c[:, :, None]).flatten(1, 2)
    demod = F.avg_pool2d(F.pad(mod, (1, 2, 1, 2), mode="replicate"), 4, stride=1)
    if not remodulate:
        return torch.cat([x, c, mod, demod], 1)
    remod = (demod.unflatten(1, (n, x.shape[1])) * c[:, :, None]).flatten(1, 2)
    return torch.cat([x, c, mod, demod, remod], 1)


def _carrier_channels(cin: int, k: int, remodulate: bool = False) -> int:
    return cin + k + (3 if remodulate else 2) * k * cin if k else cin


#: BT.601 (JFIF) chroma rows: ``Cb − ½`` and ``Cr − ½`` from RGB
_CHROMA_ROWS = ((-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))

#: JFIF YCbCr → RGB: the (Cb − ½, Cr − ½) weights of R, G, B
_YCC_TO_RGB_CHROMA = ((0.0, 1.402), (-0.344136, -0.714136), (1.772, 0.0))

#: BT.601 luma weights (what JPEG / Pillow's ``convert("L")`` use): the start of a 3 → 1 channel map
LUMA_WEIGHTS = BT601_LUMA


def _init_channel_map(weight: Tensor, bias: Tensor, in_ch: int, out_ch: int, taps: int = 1) -> None:
    """Initial 1×1 map ``in_ch → out_ch`` (input channel ``c`` spread over ``taps`` sub-pixels, averaged):

    * 3 → 1: BT.601 luma (a colour source over a grayscale code);
    * 1 → 3: the gray value replicated (a grayscale code back to colour);
    * otherwise the identity on the shared channels, extra output channels at 0.5, missing ones dropped.
    """
    weight.zero_()
    if (in_ch, out_ch) == (3, 1):
        base = torch.tensor([list(LUMA_WEIGHTS)])
        bias.zero_()
    elif (in_ch, out_ch) == (1, 3):
        base = torch.ones(3, 1)
        bias.zero_()
    else:
        base = torch.zeros(out_ch, in_ch)
        bias.fill_(0.5)
        for c in range(min(in_ch, out_ch)):
            base[c, c] = 1.0
            bias[c] = 0.0
    w = base.to(weight.dtype).repeat_interleave(taps, dim=1) / taps  # pixel_unshuffle order: c * taps + k
    weight[:, :, 0, 0] = w


def _init_modulation(w: Tensor, cin: int, out_ch: int, k: int, depth: float, remodulate: bool = False) -> None:
    """Start a colour-over-gray pair as an analogue colour-TV-like scheme (see ``ProcessorConfig.carrier_depth``).

    3 → 1 (pre): ``+ depth·(Cb−½)·c_1 + depth·(Cr−½)·c_2`` on the ``x·c_k`` channels; 1 → 3 (post): chroma
    ``(Cb−½, Cr−½) = box(d·c_{1,2}) / depth`` added to the replicated gray through the JFIF YCbCr → RGB matrix.
    Other channel counts: unchanged."""
    if (cin, out_ch) == (3, 1):
        for j, row in enumerate(_CHROMA_ROWS):  # Cb on carrier 1, Cr on carrier 2
            for i, wi in enumerate(row):
                w[0, cin + k + j * cin + i] = depth * wi
    elif (cin, out_ch) == (1, 3):
        box = cin + k + k  # index of box(d·c_1); box(d·c_2) follows
        for o, (wb, wr) in enumerate(_YCC_TO_RGB_CHROMA):
            w[o, box] = wb / depth
            w[o, box + 1] = wr / depth
            if remodulate:  # gray − the two carriers' content = the luma
                w[o, box + k] = -1.0
                w[o, box + k + 1] = -1.0


class Processor(nn.Module):
    """``y = linear(x) + mlp([x, q]) + scale · unet([x, q])``: a pre- or post-processor.

    ``linear`` is a 1×1 convolution that starts as a plain channel map (the identity on the shared
    channels, extra output channels at 0.5, missing ones dropped; 3 → 1 starts as the BT.601 luma and
    1 → 3 as the replicated gray), and both learned terms start at zero, so an untrained processor is
    that channel map. Input ``(B,in_ch,H,W)`` float in [0,1], quality ``(B,)`` in 1..100; output
    ``(B,out_ch,H',W')``, not clipped.

    Resampling by an integer factor (for a sandwich whose code image has a lower resolution):

    * ``down=s``: the input is pixel-unshuffled to ``(B, in_ch·s², H/s, W/s)`` and every term works at
      the low resolution; ``linear`` starts as the ``s×s`` area average (H, W must be multiples of s)::

          x ─► unshuffle(s) ─► linear + mlp + unet ─► y (H/s × W/s)

    * ``up=s``: every term works at the input (low) resolution; ``linear`` is followed by a bicubic
      ``s×`` upsampling and the learned terms predict ``out_ch·s²`` channels that are pixel-shuffled,
      so an untrained processor is a bicubic upsampler::

          x ─► linear ─► bicubic ×s ─┐
          x ─► mlp + unet ─► shuffle(s) ─┴─► + ─► y (H·s × W·s)
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: ProcessorConfig, *, down: int = 1, up: int = 1) -> None:
        super().__init__()
        if down < 1 or up < 1 or (down > 1 and up > 1):
            raise InputError(f"Processor: down/up must be >= 1 and not both > 1, got down={down}, up={up}")
        self.in_ch, self.out_ch, self.cfg, self.down, self.up = in_ch, out_ch, cfg, down, up
        cin = in_ch * down * down
        k = cfg.carriers
        rm = cfg.remodulate and k > 0
        self.linear = nn.Conv2d(_carrier_channels(cin, k, rm), out_ch, 1)
        with torch.no_grad():
            self.linear.weight.zero_()
            _init_channel_map(self.linear.weight[:, :cin], self.linear.bias, in_ch, out_ch, taps=down * down)
            if cfg.carrier_depth and k >= 2:
                _init_modulation(self.linear.weight[:, :, 0, 0], cin, out_ch, k, cfg.carrier_depth, rm)
        self.body = _Body(_carrier_channels(cin, k, rm), out_ch * up * up, cfg)

    def forward(self, x: Tensor, quality: Tensor) -> Tensor:
        """``(B,in_ch,H,W), (B,) → (B,out_ch,H·up/down,W·up/down)``."""
        if self.down > 1:
            if x.shape[-1] % self.down or x.shape[-2] % self.down:
                raise InputError(
                    f"image size {x.shape[-1]}×{x.shape[-2]} is not a multiple of the resolution factor {self.down}"
                )
            x = F.pixel_unshuffle(x, self.down)
        x = _with_carriers(x, self.cfg.carriers, self.cfg.remodulate)
        inp = torch.cat([x, quality_map(x, quality)], 1) if self.cfg.condition_on_quality else x
        if self.up == 1:
            return self.linear(x) + self.body(inp)
        base = F.interpolate(self.linear(x), scale_factor=self.up, mode="bicubic", align_corners=False)
        return base + F.pixel_shuffle(self.body(inp), self.up)


def fixed_preprocess(x: Tensor, code_ch: int, scale: int) -> Tensor:
    """The non-learned pre-processor of a post-only model: ``s×s`` area average, then the channel map
    :class:`Processor` starts from (identity; 3 → 1 = BT.601 luma). ``(B,C,H,W) → (B,code_ch,H/s,W/s)``."""
    if scale > 1:
        x = F.avg_pool2d(x, scale)
    in_ch = x.shape[1]
    if in_ch == code_ch:
        return x
    w, b = torch.empty(code_ch, in_ch, 1, 1, dtype=x.dtype), torch.empty(code_ch, dtype=x.dtype)
    _init_channel_map(w, b, in_ch, code_ch)
    return F.conv2d(x, w.to(x.device), b.to(x.device))


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

    With ``cfg.scale = 2`` the code (and decoded) image is ``H/2 × W/2``: the pre-processor ends in a
    2× pixel-unshuffle stage and the post-processor in a bicubic + pixel-shuffle 2× stage
    (see :class:`Processor`); untrained, the sandwich is area-down → codec → bicubic-up.

    The rate correction ``rate_log_corr`` (one entry per quality bin) is refitted against the real
    codec's bytes during training (:mod:`neuralwrap.sandwich.training.image`) and saved with the weights.
    """

    def __init__(self, cfg: SandwichConfig) -> None:
        super().__init__()
        self.cfg = cfg
        s = cfg.scale
        self.pre = Processor(cfg.in_channels, cfg.code_channels, cfg.pre, down=s) if cfg.pre is not None else None
        if self.pre is None and cfg.in_channels != cfg.code_channels and (cfg.in_channels, cfg.code_channels) != (3, 1):
            raise InputError("a post-only model needs in_channels == code_channels (or 3 → 1: the luma)")
        self.post = Processor(cfg.code_channels, cfg.out_channels, cfg.post, up=s)
        self.proxy = CodecProxy(cfg.codec, cfg.subsampling)
        self.register_buffer("rate_log_corr", torch.zeros(cfg.rate_bins))

    def check_input(self, x: Tensor) -> None:
        """Raise :class:`InputError` unless ``x`` is ``(B,in_ch,H,W)`` float (H, W multiples of ``scale``)."""
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels or not x.is_floating_point():
            raise InputError(
                f"sandwich input must be float (B,{self.cfg.in_channels},H,W), got {tuple(x.shape)} {x.dtype}"
            )
        s = self.cfg.scale
        if x.shape[-1] % s or x.shape[-2] % s:
            raise InputError(f"image size {x.shape[-1]}×{x.shape[-2]} must be a multiple of the sandwich's scale {s}")

    def preprocess_raw(self, x: Tensor, quality: Tensor) -> Tensor:
        """Source ``(B,in_ch,H,W)`` in [0,1] → unclipped pre-processor output ``(B,code_ch,H/s,W/s)``
        (a post-only model: :func:`fixed_preprocess`, the identity for equal channels and ``scale`` 1)."""
        self.check_input(x)
        if self.pre is None:
            return fixed_preprocess(x, self.cfg.code_channels, self.cfg.scale)
        return self.pre(x, quality)

    def preprocess(self, x: Tensor, quality: Tensor) -> Tensor:
        """Source ``(B,in_ch,H,W)`` in [0,1] → code image in [0,1] (clipped with a true clamp: pixels
        outside get no gradient through the codec, so the pre-processor cannot drift out of range
        unnoticed; not yet 8-bit rounded)."""
        return self.preprocess_raw(x, quality).clamp(0, 1)

    def postprocess(self, decoded: Tensor, quality: Tensor) -> Tensor:
        """Decoded code image ``(B,code_ch,h,w)`` in [0,1] → reconstruction ``(B,out_ch,h·s,w·s)`` in [0,1]."""
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
        return SandwichOutput(
            x_hat=x_hat, code=code8, code_raw=raw, decoded=decoded, bits=bits * self.rate_correction(quality)
        )


def load_processors(model: nn.Module, state: Mapping[str, Tensor], origin: str) -> None:
    """Copy the ``pre.*`` / ``post.*`` weights of ``state`` into ``model`` (a warm start: the rate
    correction and everything else stay as they are). :class:`CheckpointError` naming ``origin`` when
    the processors differ in any key or shape."""
    prefixes = ("pre.", "post.")
    src = {k: v for k, v in state.items() if k.startswith(prefixes)}
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}
    bad = sorted(set(own) ^ set(src)) + [k for k in own if k in src and own[k].shape != src[k].shape]
    if bad:
        raise CheckpointError(f"{origin}: its pre/post processors do not match this model's (e.g. {bad[:3]})")
    model.load_state_dict({**model.state_dict(), **src})
