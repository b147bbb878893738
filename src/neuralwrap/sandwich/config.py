"""Configuration dataclasses of a sandwich (JSON-serialisable, one docstring per field)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from neuralwrap.errors import CheckpointError, InputError

__all__ = ["ProcessorConfig", "SandwichConfig"]


@dataclass
class ProcessorConfig:
    """One pre- or post-processor: ``y = linear(x) + mlp(x, q) + scale · unet(x, q)``."""

    unet_enc: tuple[int, ...] = (32,)
    """U-Net encoder widths (one per 2× downsampling stage); the paper's "slim" preset is (32,)."""
    unet_dec: tuple[int, ...] = (32, 32)
    """U-Net bottleneck width then one width per decoder stage (``len(enc)+1`` entries)."""
    mlp_hidden: int = 16
    """Hidden width of the pointwise (1×1) sine MLP."""
    mlp_layers: int = 2
    """Hidden layers of the pointwise MLP."""
    condition_on_quality: bool = True
    """Feed the codec quality (q/100 as a constant channel) to the MLP and the U-Net."""
    carriers: int = 0
    """Number of fixed carrier patterns (8×8-block-aligned DCT basis functions, see
    :data:`neuralwrap.sandwich.models.CARRIERS`) the processor also sees, each as itself and multiplied
    with every input channel and that product 4×4-box-filtered (``[x, c_k, x·c_k, box(x·c_k)]``): a linear
    map of those can modulate a signal onto a carrier (a colour-over-gray pre-processor hiding chroma in
    texture) or demodulate it (the post).
    0 = none (the input is ``x`` alone)."""
    remodulate: bool = False
    """With carriers: also feed the demodulated signal put back on its carrier, ``box(x·c_k)·c_k`` (what a
    modulated input carries on ``c_k``), so a linear map can remove the carrier texture from the gray
    (a 1 → 3 post with ``carrier_depth`` starts by subtracting it)."""
    carrier_depth: float = 0.0
    """Initial modulation depth of a colour-over-gray pair with ``carriers >= 2``: a 3 → 1 pre-processor starts
    as ``luma + depth·(Cb − ½)·c_1 + depth·(Cr − ½)·c_2`` (JFIF chroma on the first two carriers) and a 1 → 3
    post-processor as the gray replicated plus the chroma demodulated from ``box(d·c_{1,2}) / depth`` (like
    analogue colour TV). With both sides at zero the modulation path has no gradient; this start gives
    the networks a working scheme to improve. 0 = no modulation at the start."""


@dataclass
class SandwichConfig:
    """A pre-processor → standard codec → post-processor sandwich.

    ::

        x ──► pre ──► code image ──► codec (real, or proxy in training) ──► decoded ──► post ──► x̂
    """

    codec: str = "jpeg"
    """Registered codec name the model was trained for (``neuralwrap.codecs``)."""
    subsampling: str = "420"
    """Chroma subsampling of the codec: "420", "444" or "400" (grayscale)."""
    in_channels: int = 3
    """Channels of the source image."""
    code_channels: int = 3
    """Channels of the code image the codec carries (1 for a 4:0:0 codec)."""
    out_channels: int = 3
    """Channels of the reconstruction."""
    pre: ProcessorConfig | None = field(default_factory=ProcessorConfig)
    """Pre-processor; ``None`` = identity (a post-processor-only model)."""
    post: ProcessorConfig = field(default_factory=ProcessorConfig)
    """Post-processor."""
    quality_range: tuple[int, int] = (5, 95)
    """Codec qualities the model is trained over (it is conditioned on the quality)."""
    rate_bins: int = 10
    """Number of quality bins of the rate-proxy correction refitted against the real codec."""
    scale: int = 1
    """Resolution factor between source and code image: the code image (what the codec carries and the
    file stores) is ``H/scale × W/scale``; the post-processor restores full resolution (1 or 2)."""

    def __post_init__(self) -> None:
        if self.scale not in (1, 2):
            raise InputError(f"SandwichConfig.scale must be 1 or 2, got {self.scale!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandwichConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`CheckpointError`; keys added later
        (e.g. ``scale``) take their defaults, so files written before them still load."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise CheckpointError(f"unknown SandwichConfig keys: {sorted(unknown)}")
        d = dict(data)
        for key in ("pre", "post"):
            if d.get(key) is not None:
                sub = d[key]
                d[key] = ProcessorConfig(
                    **{k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()}
                )
        if "quality_range" in d:
            d["quality_range"] = tuple(d["quality_range"])
        return cls(**d)
