"""Neural Rerendering in the Wild (Meshry et al. 2019): generator, appearance encoder, discriminator.

::

    photo ─┐
    buffer ┴─► AppearanceEncoder (strided convs → global average pool → linear [→ standardise]) ─► code (B, 8)
    buffer ─► normalise depth ─► U-Net (pixel norm, code tiled at the bottleneck, + FiLM from the code after the
           bottleneck and every decoder stage when ``code_film``) ─(+ logit(point colour))─► sigmoid
           ─► image (B,3,H,W)
    buffer, image ─► MultiScaleDiscriminator (PatchGAN at 1, 1/2, 1/4 scale, LSGAN) ─► patch scores

The generator input (``buffer``) is :func:`neuralwrap.rerender.scene.inputs.frame_input`'s layout; its depth
channel is in SfM units and the model divides it by ``config.depth_scale`` (so novel views rendered with
the same point cloud get the same normalisation).

Example::

    cfg = RerenderConfig(width=160, height=120, depth_scale=8.0)
    model = Rerenderer(cfg)
    code = model.encode(photo, buffer)       # (B, 8)
    image = model(buffer, code)              # (B, 3, H, W) in [0, 1]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.nn import UNet
from neuralwrap.rerender.scene.inputs import (
    DEPTH_CHANNEL,
    VALID_CHANNEL,
    input_channels,
)

__all__ = [
    "MODEL_FORMAT_VERSION",
    "AppearanceEncoder",
    "FilmUNet",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "RerenderConfig",
    "Rerenderer",
]

#: version of :class:`RerenderConfig` / the weight layout; loaders refuse other versions
MODEL_FORMAT_VERSION: int = 1

#: values of config fields added after format 1 shipped, used when a saved config lacks them (old files)
_LEGACY_DEFAULTS: dict[str, Any] = {"code_film": False, "code_norm": False}


@dataclass
class RerenderConfig:
    """Architecture of a :class:`Rerenderer` (plain JSON via :meth:`to_dict`)."""

    width: int = 160
    """Image width (px) the model is trained and rendered at (any size works, this one is native)."""
    height: int = 120
    """Image height (px)."""
    gen_enc: tuple[int, ...] = (16, 32, 64, 96, 128)
    """Generator U-Net encoder widths, one per 2× downsampling (paper: 6 stages; 5 suit 160×120)."""
    gen_dec: tuple[int, ...] = (128, 96, 64, 48, 32, 16)
    """Generator bottleneck width then one width per decoder stage (``len = len(gen_enc) + 1``)."""
    enc_widths: tuple[int, ...] = (16, 32, 64, 64)
    """Appearance-encoder widths, one stride-2 conv each, then global average pooling."""
    code_dim: int = 8
    """Appearance code size (paper: 8)."""
    use_appearance: bool = True
    """Condition the generator on an appearance code from the encoder."""
    use_semantics: bool = True
    """The input has the transient-mask channel (see :func:`~neuralwrap.rerender.scene.inputs.input_channels`)."""
    depth_scale: float = 1.0
    """Scene depth scale (SfM units): the depth channel is divided by it (set by training: median depth)."""
    color_skip: bool = False
    """Add the point colour (as a logit, where a point was splatted) to the generator's output logits, with the
    last conv zero-initialised, so training starts from the point render (not in the paper; it makes short CPU
    runs converge much faster; ``rerender train`` and the shipped demo use True). False = the paper's U-Net."""
    code_bias: bool = False
    """Also add a linear function of the code to the output logits (a global, code-driven colour shift; not in
    the paper; experimental: tried against short CPU runs ignoring the bottleneck code, it gave a small code
    effect but a worse held-out PSNR, so the shipped demo does not use it)."""
    code_film: bool = True
    """Also inject the code at the bottleneck output and after every decoder stage as FiLM (per-channel
    ``x·(1+γ(code)) + β(code)``, linear in the code, zero-initialised so an untrained model equals the plain
    U-Net). Not in the paper: with only the bottleneck tiling, short runs of a ``color_skip`` generator learned
    to ignore the code. Files written before this field existed load with False."""
    code_norm: bool = True
    """Standardise the encoder output per dimension, ``(code − center) / scale``, with ``center``/``scale``
    buffers of the encoder set by training to the mean/std of the training photos' codes after stage 1 (the
    raw triplet-trained codes share a large common offset and vary by only ~0.04, which the generator found
    easier to ignore; standardised codes vary by ~1 per dimension). An L2-normalised (sphere) code was tried
    and collapsed in stage 1 on the demo scene. Files written before this field existed load with False."""
    disc_widths: tuple[int, ...] = (32, 64, 128)
    """PatchGAN widths (first two stride 2, last stride 1); used in training only."""
    disc_scales: int = 3
    """Number of discriminator scales (paper: 3)."""
    format_version: int = MODEL_FORMAT_VERSION
    """Layout version; :func:`~neuralwrap.rerender.checkpoint.load_rerenderer` refuses others."""
    notes: dict[str, Any] = field(default_factory=dict)
    """Free-form JSON (e.g. training scene, holdout names); not used by the model."""

    def __post_init__(self) -> None:
        for name in ("gen_enc", "gen_dec", "enc_widths", "disc_widths"):
            setattr(self, name, tuple(int(c) for c in getattr(self, name)))
        bad = [
            msg
            for msg, ok in {
                "width and height must be >= 8": min(self.width, self.height) >= 8,
                "len(gen_dec) must be len(gen_enc) + 1": len(self.gen_dec) == len(self.gen_enc) + 1,
                "code_dim must be >= 1": self.code_dim >= 1,
                "depth_scale must be > 0": self.depth_scale > 0,
                "disc_scales must be >= 1": self.disc_scales >= 1,
                "enc_widths and disc_widths must not be empty": bool(self.enc_widths) and bool(self.disc_widths),
            }.items()
            if not ok
        ]
        if bad:
            raise InputError("RerenderConfig: " + "; ".join(bad))

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.width, self.height

    @property
    def in_channels(self) -> int:
        """Generator input channels."""
        return input_channels(self.use_semantics)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RerenderConfig:
        """Inverse of :meth:`to_dict`; raises :class:`InputError` on unknown keys or another format_version."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"RerenderConfig: unknown keys {unknown}")
        if d.get("format_version", MODEL_FORMAT_VERSION) != MODEL_FORMAT_VERSION:
            raise InputError(
                f"RerenderConfig format_version {d.get('format_version')!r}, this neuralwrap reads "
                f"{MODEL_FORMAT_VERSION}"
            )
        return cls(**{**_LEGACY_DEFAULTS, **d})


class AppearanceEncoder(nn.Module):
    """``(B, in_ch, H, W)`` (photo ⊕ buffer) → ``(B, code_dim)``: stride-2 3×3 convs, global average pool, linear."""

    def __init__(self, in_ch: int, widths: tuple[int, ...], code_dim: int, normalize: bool = False) -> None:
        super().__init__()
        self.normalize = normalize
        if normalize:  # identity until :meth:`calibrate` (training sets them after stage 1; saved with the weights)
            self.register_buffer("center", torch.zeros(code_dim))
            self.register_buffer("scale", torch.ones(code_dim))
        layers: list[nn.Module] = []
        c = in_ch
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, code_dim)

    def forward(self, x: Tensor) -> Tensor:
        code = self.head(self.features(x).mean(dim=(2, 3)))
        if self.normalize:
            code = (code - self.center) / self.scale
        return code

    @torch.no_grad()
    def calibrate(self, raw_codes: Tensor) -> None:
        """Set ``center``/``scale`` to the per-dimension mean/std of ``raw_codes`` ``(N, code_dim)`` (codes computed
        with the identity calibration), so those codes become zero-mean, unit-std per dimension."""
        if not self.normalize:
            raise InputError("calibrate() needs an encoder built with normalize=True (RerenderConfig.code_norm)")
        self.center.copy_(raw_codes.mean(dim=0))
        self.scale.copy_(raw_codes.std(dim=0).clamp_min(1e-6) if len(raw_codes) > 1 else torch.ones_like(self.scale))


class _ZeroLinear(nn.Module):
    """``nn.Linear``-compatible layer (same ``weight``/``bias`` keys) created at zero without drawing random
    numbers, so adding it leaves the seeded initialisation of every other layer unchanged."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


class FilmUNet(UNet):
    """:class:`~neuralwrap.nn.UNet` with the conditioning vector also applied as FiLM after the bottleneck
    and after every decoder stage: ``x ← x·(1 + γ_l(cond)) + β_l(cond)``, ``γ_l, β_l`` linear and zero-initialised
    (a fresh model computes exactly what the plain U-Net computes). ``forward(x, cond)`` as :class:`UNet`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.cond_ch:
            raise InputError("FilmUNet needs cond_ch > 0")
        self.film = nn.ModuleList(_ZeroLinear(self.cond_ch, 2 * c) for c in self.dec)

    def _stage_out(self, x: Tensor, stage: int, cond: Tensor | None) -> Tensor:
        assert cond is not None  # UNet.forward checked it (cond_ch > 0)
        gamma, beta = self.film[stage](cond.to(x.dtype)).chunk(2, dim=1)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class Rerenderer(nn.Module):
    """Generator + appearance encoder of Neural Rerendering (block diagram in the module docstring).

    ``forward(buffer (B,C,H,W), code (B,code_dim) | None) -> (B,3,H,W)`` in [0, 1];
    ``encode(photo (B,3,H,W) in [0,1], buffer) -> (B,code_dim)``.
    """

    def __init__(self, config: RerenderConfig) -> None:
        super().__init__()
        self.config = config
        c = config.in_channels
        cond = config.code_dim if config.use_appearance else 0
        unet = FilmUNet if cond and config.code_film else UNet
        self.generator = unet(
            c, 3, config.gen_enc, config.gen_dec, norm="pixel", cond_ch=cond, zero_init_last=config.color_skip
        )
        self.encoder = (
            AppearanceEncoder(3 + c, config.enc_widths, config.code_dim, normalize=config.code_norm)
            if config.use_appearance
            else None
        )
        self.code_to_rgb = nn.Linear(config.code_dim, 3) if config.use_appearance and config.code_bias else None
        if self.code_to_rgb is not None:
            nn.init.zeros_(self.code_to_rgb.weight)
            nn.init.zeros_(self.code_to_rgb.bias)

    def prepare(self, buffer: Tensor) -> Tensor:
        """Check ``(B, C, H, W)`` and divide the depth channel by ``config.depth_scale``."""
        c = self.config.in_channels
        if buffer.ndim != 4 or buffer.shape[1] != c:
            raise InputError(
                f"buffer must be (B,{c},H,W) (use_semantics={self.config.use_semantics}), got {tuple(buffer.shape)}"
            )
        scale = torch.ones(c, dtype=buffer.dtype, device=buffer.device)
        scale[DEPTH_CHANNEL] = 1.0 / self.config.depth_scale
        return buffer * scale[None, :, None, None]

    def encode(self, photo: Tensor, buffer: Tensor) -> Tensor:
        """Appearance code ``(B, code_dim)`` of ``photo`` ``(B,3,H,W)`` in [0,1] seen with its ``buffer``."""
        if self.encoder is None:
            raise InputError("this Rerenderer was built with use_appearance=False (no encoder)")
        if (
            photo.ndim != 4
            or photo.shape[1] != 3
            or photo.shape[0] != buffer.shape[0]
            or photo.shape[-2:] != buffer.shape[-2:]
        ):
            raise InputError(f"photo must be (B,3,H,W) matching buffer {tuple(buffer.shape)}, got {tuple(photo.shape)}")
        return self.encoder(torch.cat([photo, self.prepare(buffer)], dim=1))

    def forward(self, buffer: Tensor, code: Tensor | None = None) -> Tensor:
        """Render ``(B, 3, H, W)`` in [0, 1]; ``code`` ``(B, code_dim)`` (or ``(code_dim,)``, broadcast) is
        required when ``use_appearance``."""
        x = self.prepare(buffer)
        if self.config.use_appearance:
            if code is None:
                raise InputError("an appearance code is required (use_appearance=True)")
            if code.ndim == 1:
                code = code[None].expand(x.shape[0], -1)
        else:
            code = None
        logits = self.generator(x, code)
        if self.code_to_rgb is not None:
            logits = logits + self.code_to_rgb(code)[:, :, None, None]
        if self.config.color_skip:
            valid = x[:, VALID_CHANNEL : VALID_CHANNEL + 1]
            logits = logits + torch.logit(x[:, :3].clamp(0.02, 0.98)) * valid
        return torch.sigmoid(logits)


class PatchDiscriminator(nn.Module):
    """PatchGAN: 4×4 convs (stride 2, 2, then 1) with leaky ReLU, then a 4×4 conv to one score map."""

    def __init__(self, in_ch: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_ch
        for i, w in enumerate(widths):
            stride = 2 if i < 2 else 1
            layers += [
                nn.Conv2d(c, w, 4, stride=stride, padding=1 if stride == 2 else 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c = w
        layers.append(nn.Conv2d(c, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class MultiScaleDiscriminator(nn.Module):
    """``scales`` PatchGANs on the (buffer ⊕ image) pair at full, 1/2, 1/4 … resolution (average-pool ×2).

    ``forward(buffer (B,C,H,W) already prepared, image (B,3,H,W)) -> [score map per scale]``.
    """

    def __init__(self, buffer_ch: int, widths: tuple[int, ...] = (32, 64, 128), scales: int = 3) -> None:
        super().__init__()
        self.nets = nn.ModuleList(PatchDiscriminator(buffer_ch + 3, widths) for _ in range(scales))

    def forward(self, buffer: Tensor, image: Tensor) -> list[Tensor]:
        x = torch.cat([buffer, image], dim=1)
        outs = []
        for i, net in enumerate(self.nets):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outs.append(net(x))
        return outs
