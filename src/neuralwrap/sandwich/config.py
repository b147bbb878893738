"""Configuration dataclasses of a sandwich (JSON-serialisable, one docstring per field)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from neuralwrap.codecs import list_codecs
from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.resources import default_data
from neuralwrap.train.config import TrainConfig

__all__ = [
    "BOTTLENECK_WEIGHT_MAX",
    "IMAGE_TRAIN",
    "LIMITS",
    "VIDEO_TRAIN",
    "ProcessorConfig",
    "SandwichConfig",
    "SandwichTrainConfig",
    "VideoTrainConfig",
    "is_video_model",
    "processor_widths",
    "qp_to_quality",
    "quality_to_qp",
]

#: bounds of every numeric config field (inclusive): a model file is untrusted input, and a width of
#: 200000 would try to allocate terabytes. The shipped models stay far inside them.
LIMITS: dict[str, tuple[int, int]] = {
    "channels": (1, 16),
    "width": (1, 1024),
    "stages": (0, 6),
    "mlp_hidden": (1, 1024),
    "mlp_layers": (0, 8),
    "carriers": (0, 8),
    "rate_bins": (1, 100),
    "quality": (0, 100),
}
SUBSAMPLINGS = ("420", "444", "400")
#: largest accepted :attr:`SandwichTrainConfig.bottleneck_weight` (beyond it the post-processor is irrelevant)
BOTTLENECK_WEIGHT_MAX = 1000.0


def _int_in(value: Any, field_name: str, bounds: str) -> int:
    """``value`` if it is an int (not a bool) within ``LIMITS[bounds]``, else :class:`InputError` naming the field."""
    lo, hi = LIMITS[bounds]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"config field {field_name!r} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _widths(value: Any, field_name: str, n_min: int) -> None:
    lo, hi = LIMITS["stages"]
    if not isinstance(value, tuple) or not n_min <= len(value) <= hi + 1:
        raise InputError(f"config field {field_name!r} must be a list of {n_min}..{hi + 1} widths, got {value!r}")
    for i, w in enumerate(value):
        _int_in(w, f"{field_name}[{i}]", "width")


def _flag(value: Any, field_name: str) -> None:
    if not isinstance(value, bool):
        raise InputError(f"config field {field_name!r} must be true or false, got {value!r}")


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
    :data:`neuralwrap.sandwich.models.image.CARRIERS`) the processor also sees, each as itself and multiplied
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

    def validate(self, where: str = "processor") -> None:
        """Raise :class:`InputError` naming the first field outside its type or :data:`LIMITS`."""
        _widths(self.unet_enc, f"{where}.unet_enc", 0)
        _widths(self.unet_dec, f"{where}.unet_dec", 1)
        if len(self.unet_dec) != len(self.unet_enc) + 1:
            raise InputError(
                f"config field {where + '.unet_dec'!r} needs one more width than unet_enc "
                f"({len(self.unet_enc)} + 1), got {len(self.unet_dec)}"
            )
        _int_in(self.mlp_hidden, f"{where}.mlp_hidden", "mlp_hidden")
        _int_in(self.mlp_layers, f"{where}.mlp_layers", "mlp_layers")
        _int_in(self.carriers, f"{where}.carriers", "carriers")
        _flag(self.condition_on_quality, f"{where}.condition_on_quality")
        _flag(self.remodulate, f"{where}.remodulate")
        depth = self.carrier_depth
        if isinstance(depth, bool) or not isinstance(depth, int | float) or not 0.0 <= depth <= 10.0:
            raise InputError(f"config field {where + '.carrier_depth'!r} must be a number in 0..10, got {depth!r}")


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
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first field outside its type, its known values or :data:`LIMITS`."""
        if self.codec not in list_codecs():
            raise InputError(f"config field 'codec' must be one of {', '.join(list_codecs())}, got {self.codec!r}")
        if self.subsampling not in SUBSAMPLINGS:
            raise InputError(
                f"config field 'subsampling' must be one of {', '.join(SUBSAMPLINGS)}, got {self.subsampling!r}"
            )
        for name in ("in_channels", "code_channels", "out_channels"):
            _int_in(getattr(self, name), name, "channels")
        if self.scale not in (1, 2) or isinstance(self.scale, bool):
            raise InputError(f"config field 'scale' must be 1 or 2, got {self.scale!r}")
        _int_in(self.rate_bins, "rate_bins", "rate_bins")
        qr = self.quality_range
        if not isinstance(qr, tuple) or len(qr) != 2:
            raise InputError(f"config field 'quality_range' must be [low, high], got {qr!r}")
        lo, hi = (_int_in(q, "quality_range", "quality") for q in qr)
        if lo > hi:
            raise InputError(f"config field 'quality_range' must have low <= high, got {list(qr)}")
        for name in ("pre", "post"):
            proc = getattr(self, name)
            if proc is None and name == "pre":
                continue
            if not isinstance(proc, ProcessorConfig):
                raise InputError(f"config field {name!r} must be a processor config object, got {type(proc).__name__}")
            proc.validate(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandwichConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`CheckpointError`; keys added later
        (e.g. ``scale``) take their defaults, so files written before them still load."""
        try:
            d = _known_keys(cls, data, "sandwich")
            for key in ("pre", "post"):
                if d.get(key) is not None:
                    d[key] = _processor_from_dict(d[key], key)
            if isinstance(d.get("quality_range"), list):
                d["quality_range"] = tuple(d["quality_range"])
            return cls(**d)
        except InputError as exc:
            raise CheckpointError(f"invalid model config: {exc}") from exc


def _known_keys(cls: type, data: Any, where: str) -> dict[str, Any]:
    """``data`` as a dict after checking it is a JSON object holding only fields of dataclass ``cls``."""
    if not isinstance(data, dict):
        raise InputError(f"config field {where!r} must be an object, got {type(data).__name__}")
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise InputError(f"config field {where!r} has unknown keys {sorted(unknown)}")
    return dict(data)


def _processor_from_dict(sub: Any, where: str) -> ProcessorConfig:
    """A :class:`ProcessorConfig` from its JSON dict; unknown keys and non-objects raise :class:`InputError`."""
    sub = _known_keys(ProcessorConfig, sub, where)
    proc = ProcessorConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()})
    proc.validate(where)
    return proc


# -- conditioning of video sandwiches (trained through the x265 proxy): q = 100 - 2 QP ------------------------
def qp_to_quality(qp: float) -> float:
    """The processors' conditioning quality of an x265 QP: ``100 − 2·QP`` clamped to [1, 100]."""
    return float(min(100.0, max(1.0, 100.0 - 2.0 * float(qp))))


def quality_to_qp(quality: float) -> float:
    """Inverse of :func:`qp_to_quality` (inside its unclamped range)."""
    return (100.0 - float(quality)) / 2.0


def is_video_model(cfg: SandwichConfig) -> bool:
    """True for a sandwich trained through the video proxy (``codec == "hevc"``): conditioned on ``qp_to_quality(QP)``."""
    return cfg.codec == "hevc"


# -- training settings (torch-free, so the command line shows these defaults without loading torch) ----------------
def _train_photos() -> str:
    """``train/`` of the data folder, or its usual place beside the checkout when none is found."""
    return str(default_data("train") or "../shared/data/train")


@dataclass
class SandwichTrainConfig:
    """Sandwich-specific training settings (the generic ones live in :class:`TrainConfig`)."""

    data: str = field(default_factory=lambda: _train_photos())
    """Folder of training photos (never the Kodak test set); default ``train/`` of the data folder
    (:func:`neuralwrap.resources.default_data`)."""
    crop: int = 128
    """Square crop size in pixels (a multiple of 16 keeps JPEG blocks aligned with the 4:2:0 grid)."""
    gamma: float = 1.0
    """Multiplier of the codec's RD slope: λ(q) = gamma · (−dMSE/dbpp)_plain(q)."""
    refit_every: int = 100
    """Steps between refits of the rate-proxy correction against the real codec (0 = never)."""
    refit_crops: int = 16
    """Number of fixed training crops encoded with the real codec at each refit."""
    refit_crop: int = 256
    """Size in pixels of those crops: larger than the training crops, since the file-size overheads of a
    128-pixel crop bias the correction (smaller when no training photo is that large)."""
    calib_crops: int = 24
    """Number of training crops used to measure the plain codec's RD slope."""
    calib_crop: int = 256
    """Size in pixels of those crops (smaller when no training photo is that large)."""
    lr_schedule: str = "cosine"
    """"cosine" (warm-up then cosine decay to 5% over the run's steps) or "constant"."""
    init: str | None = None
    """Shipped model name or model file whose ``pre.*`` / ``post.*`` weights start the run (same processor
    configs; a warm start, ignored when the run resumes from its own checkpoint)."""
    bottleneck_weight: float = 0.0
    """μ ≥ 0, weight of the bottleneck-fidelity term ``μ · MSE(decoded code image, source)`` added to the
    loss, the MSE in 8-bit units² like the distortion (so μ = 1 weighs what an ordinary viewer shows, the
    decoded JPEG without post-processor, as much as the post-processed reconstruction). Keeps the code
    image a good picture by itself (a viewer-compatible sandwich); 0 = off (the plain sandwich loss).
    Needs a code image of the source's shape (``code_channels == in_channels``, ``scale == 1``)."""

    def __post_init__(self) -> None:
        mu = self.bottleneck_weight
        if isinstance(mu, bool) or not isinstance(mu, int | float) or not 0.0 <= mu <= BOTTLENECK_WEIGHT_MAX:
            raise InputError(f"bottleneck_weight must be a number in 0..{BOTTLENECK_WEIGHT_MAX:g}, got {mu!r}")


@dataclass
class VideoTrainConfig:
    """Video-sandwich settings (the generic ones live in :class:`TrainConfig`)."""

    pix_fmt: str = "yuv444p"
    """Coded pixel format: "yuv444p", "yuv420p" or "gray" (RGB over 4:0:0)."""
    data: str = field(default_factory=lambda: _train_photos())
    """Folder of training photos (never Kodak, never the evaluation clips); default as :class:`SandwichTrainConfig`."""
    frames: int = 4
    """Frames per training clip (I + P frames)."""
    size: int = 96
    """Square clip size in pixels."""
    scale_range: tuple[float, float] | None = None
    """Resampling factors of the photos (see :func:`~neuralwrap.sandwich.training.video_data.make_clip`); e.g. (0.5, 1.0)
    gives detail densities closer to 320×240 video; None = whole photos shrunk to the clip (dense detail)."""
    qp_range: tuple[int, int] = (22, 42)
    """QPs trained over (uniform integers)."""
    gamma: float = 1.0
    """Multiplier of the plain x265 RD slope."""
    calib_clips: int = 8
    """Training clips encoded with real x265 for λ(QP) and the real/proxy rate ratio."""
    calib_qps: tuple[int, ...] = (22, 26, 30, 34, 38, 42)
    """Constant QPs of the calibration encodes."""
    preset: str | None = None
    """x265 preset of the calibration encodes (None: the codec's default, medium)."""
    init: str | None = None
    """Optional model file whose ``pre.*`` / ``post.*`` weights start the run (same processor configs)."""
    lr_schedule: str = "cosine"
    """"cosine" or "constant"."""
    distortion: str = "mse"
    """Registered distortion trained on ("mse", "lpips", "msssim"; see :class:`VideoSandwichObjective`)."""


#: the generic settings ``sandwich train`` starts from (its flags' defaults)
IMAGE_TRAIN = TrainConfig(steps=2000, batch_size=16, lr=3e-4, ckpt_every=500, out_dir="runs/sandwich", grad_clip=1.0)
#: the generic settings ``sandwich video train`` starts from (its flags' defaults; ckpt_every = max(50, steps/10))
VIDEO_TRAIN = TrainConfig(steps=1000, batch_size=2, lr=1e-3, grad_clip=1.0, log_every=10)


def processor_widths(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``ENC/DEC`` widths (e.g. ``16,32/64,32,16``) → ``(unet_enc, unet_dec)``; :class:`InputError` on bad form."""
    try:
        enc_s, dec_s = text.split("/")
        enc = tuple(int(v) for v in enc_s.split(",") if v)
        dec = tuple(int(v) for v in dec_s.split(","))
    except ValueError as exc:
        raise InputError(f"processor must be none/tiny/slim/default or ENC/DEC widths, got {text!r}") from exc
    if len(dec) != len(enc) + 1:
        raise InputError(f"{text!r}: DEC needs one more width than ENC")
    return enc, dec
