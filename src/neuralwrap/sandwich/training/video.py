"""``sandwich video train``: pre/post processors trained THROUGH the x265 video proxy, for real x265.

The networks are the image sandwich's :class:`~neuralwrap.sandwich.models.image.Processor` s, applied to every frame;
between them the clip goes through :func:`~neuralwrap.proxies.video.video_proxy` (I frame, then motion-compensated
P frames, rate calibrated on x265), with the motion estimated once on the SOURCE clip::

    clip (T,3,H,W) ─► pre (per frame, q) ─► code clip ─► video_proxy(QP, pix_fmt, flow(source)) ─► post (per frame, q) ─► x̂
                                                         └─► bits (whole clip, × calibrated real/proxy ratio)

Per clip ``i`` with its QP drawn uniformly from ``qp_range`` (integers)::

    loss_i = [MSE_i + λ(QP_i) · bpp_i + P_i] / MSE_plain(QP_i)

as :class:`~neuralwrap.sandwich.training.image.SandwichObjective`: MSE in 8-bit units² over all frames, bpp =
proxy bits of the clip / (H·W·T), ``P`` the squared excursion of the raw pre-processor output outside [0,1],
``λ(QP) = −dMSE/dbpp`` and ``MSE_plain(QP)`` of the plain REAL x265 (constant QP, same pix_fmt, packet payload
bits) on training clips (:func:`fit_video_rd_slope`). For ``gray`` (RGB over 4:0:0) the plain anchor is x265
gray of the BT.601 luma, its MSE measured against the RGB source (gray shown as R = G = B).

Conditioning: the processors take a "quality" in 1..100; a video model is told ``q = 100 − 2·QP``
(:func:`qp_to_quality`; QP 22..42 → q 56..16), and its ``SandwichConfig.quality_range`` holds that range in
quality units. ``SandwichConfig.codec == "hevc"`` marks a model trained through the video proxy
(:func:`is_video_model`); ``neuralwrap.sandwich.inference.video.encode_video`` then conditions on ``qp_to_quality(QP)``
(``QP = crf_to_qp(CRF)`` for a CRF encode).

The model's ``rate_log_corr`` bins (over ``quality_range``) are set once, before training, to the median
``log(real / proxy)`` bits of the plain training clips at each QP: the loss prices the proxy's bits at the real
encoder's level (x265 4:4:4 costs about 27 % less than the proxy predicts on real video).

``SandwichConfig.scale == 2`` (2× resolution over a half-resolution encode): the pre-processor makes half-resolution
code frames, the proxy (and x265) code them at half resolution with the source flow halved (2×2 mean, vectors / 2),
the post-processor restores full resolution. The plain anchor is then bicubic down → x265 → bicubic up (Pillow),
its MSE measured at full resolution; ``bpp`` is always per FULL-resolution pixel.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError
from neuralwrap.io.images import resize_bicubic
from neuralwrap.proxies.video import video_proxy
from neuralwrap.sandwich.config import (
    ProcessorConfig,
    SandwichConfig,
    VideoTrainConfig,
    is_video_model,
    qp_to_quality,
)
from neuralwrap.sandwich.inference.codec import save_model_file
from neuralwrap.sandwich.losses import get_distortion
from neuralwrap.sandwich.models.image import Processor, load_processors
from neuralwrap.sandwich.training.calibration import RDSlope
from neuralwrap.sandwich.training.data import load_photos
from neuralwrap.sandwich.training.video_data import ClipDataset, fixed_clips, gray_clip
from neuralwrap.train import TrainConfig, Trainer, lr_schedule_hooks, seed_everything
from neuralwrap.train.checkpoint import load_weights

__all__ = [
    "VIDEO_TRAIN_PIX_FMTS",
    "VideoSandwich",
    "VideoSandwichObjective",
    "downscale_flow",
    "export_video_model",
    "fit_video_rd_slope",
    "train_video_sandwich",
    "video_sandwich_config",
]

log = logging.getLogger(__name__)

#: pixel format → (subsampling, code channels) of a video sandwich
VIDEO_TRAIN_PIX_FMTS: dict[str, tuple[str, int]] = {"yuv444p": ("444", 3), "yuv420p": ("420", 3), "gray": ("400", 1)}
_SUB_TO_PIX_FMT = {v[0]: k for k, v in VIDEO_TRAIN_PIX_FMTS.items()}


# -- conditioning ----------------------------------------------------------------------------------------
def video_sandwich_config(
    pix_fmt: str, qp_range: tuple[int, int] = (22, 42), *, gray_carriers: int = 4, scale: int = 1
) -> SandwichConfig:
    """The shipped preset of a video sandwich at ``pix_fmt``: the paper's slim pre/post processors; for
    ``gray`` (RGB over 4:0:0) with ``gray_carriers`` carriers started as an analogue colour-TV scheme
    (``carrier_depth`` 0.3, as the JPEG ``rgb-over-gray`` model); for ``scale`` 2 (half-resolution code frames)
    the processors of the image ``lowres-2x`` app (so its weights can start the run)."""
    if pix_fmt not in VIDEO_TRAIN_PIX_FMTS:
        raise InputError(f"pix_fmt must be one of {tuple(VIDEO_TRAIN_PIX_FMTS)}, got {pix_fmt!r}")
    lo, hi = _check_qp_range(qp_range)
    sub, code_ch = VIDEO_TRAIN_PIX_FMTS[pix_fmt]
    pre, post = ProcessorConfig(), ProcessorConfig()
    if scale not in (1, 2):
        raise InputError(f"scale must be 1 or 2, got {scale}")
    if scale == 2:
        post = ProcessorConfig(unet_enc=(16, 32), unet_dec=(64, 32, 16))
    if code_ch == 1 and gray_carriers:
        pre = ProcessorConfig(carriers=gray_carriers, carrier_depth=0.3)
        post = ProcessorConfig(unet_enc=(16, 32), unet_dec=(64, 32, 16), carriers=gray_carriers, carrier_depth=0.3)
    q = (round(qp_to_quality(hi)), round(qp_to_quality(lo)))
    return SandwichConfig(
        codec="hevc", subsampling=sub, code_channels=code_ch, pre=pre, post=post, quality_range=q, scale=scale
    )


def _check_qp_range(qp_range: Sequence[int]) -> tuple[int, int]:
    lo, hi = (int(v) for v in qp_range)
    if not 0 <= lo < hi <= 49:
        raise InputError(f"qp_range must be two integers 0 <= lo < hi <= 49, got {tuple(qp_range)}")
    return lo, hi


def _pix_fmt_of(cfg: SandwichConfig) -> str:
    if cfg.subsampling not in _SUB_TO_PIX_FMT:
        raise InputError(f"no video pixel format for subsampling {cfg.subsampling!r}")
    return _SUB_TO_PIX_FMT[cfg.subsampling]


# -- the model -------------------------------------------------------------------------------------------
@dataclass
class VideoSandwichOutput:
    """One differentiable pass of a clip."""

    x_hat: Tensor
    """Reconstruction ``(T,out_ch,H,W)`` in [0,1]."""
    code_raw: Tensor
    """Pre-processor output ``(T,code_ch,H,W)`` before clipping."""
    bits: Tensor
    """Proxy bits of the whole clip (packet payload, no container), after the real-x265 correction; 0-d."""


class VideoSandwich(nn.Module):
    """Per-frame pre/post :class:`Processor` s around the x265 video proxy (``cfg.codec == "hevc"``, ``scale`` 1
    or 2: half-resolution code frames).

    Its state dict has the keys of a :class:`~neuralwrap.sandwich.models.image.Sandwich` of the same config
    (``pre.*``, ``post.*``, ``rate_log_corr``), so the exported file is a standard sandwich model file.
    ``preprocess`` / ``postprocess`` have the Sandwich signatures, so a
    :class:`~neuralwrap.sandwich.inference.codec.SandwichCodec` can wrap it.
    """

    def __init__(self, cfg: SandwichConfig) -> None:
        super().__init__()
        if cfg.scale not in (1, 2) or cfg.in_channels != 3 or cfg.out_channels != 3:
            raise InputError("a video sandwich takes RGB in and out at scale 1 or 2")
        if not is_video_model(cfg):
            raise InputError(f"a video sandwich needs codec 'hevc', got {cfg.codec!r}")
        self.cfg, self.pix_fmt = cfg, _pix_fmt_of(cfg)
        if cfg.pre is None:
            raise InputError("a video sandwich needs a pre-processor")
        self.pre = Processor(cfg.in_channels, cfg.code_channels, cfg.pre, down=cfg.scale)
        self.post = Processor(cfg.code_channels, cfg.out_channels, cfg.post, up=cfg.scale)
        self.register_buffer("rate_log_corr", torch.zeros(cfg.rate_bins))

    def check_input(self, x: Tensor) -> None:
        """Raise :class:`InputError` unless ``x`` is ``(B,3,H,W)`` float (H, W multiples of ``scale``)."""
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels or not x.is_floating_point():
            raise InputError(
                f"video sandwich input must be float (T,{self.cfg.in_channels},H,W), got {tuple(x.shape)} {x.dtype}"
            )
        if x.shape[-1] % self.cfg.scale or x.shape[-2] % self.cfg.scale:
            raise InputError(f"frame size {x.shape[-1]}×{x.shape[-2]} must be a multiple of the scale {self.cfg.scale}")

    def preprocess_raw(self, x: Tensor, quality: Tensor) -> Tensor:
        """Frames ``(T,3,H,W)`` in [0,1], quality ``(T,)`` or ``(1,)`` → unclipped code frames."""
        self.check_input(x)
        assert self.pre is not None
        return self.pre(x, quality.expand(x.shape[0]))

    def preprocess(self, x: Tensor, quality: Tensor) -> Tensor:
        """Frames → code frames in [0,1] (true clamp)."""
        return self.preprocess_raw(x, quality).clamp(0, 1)

    def postprocess(self, decoded: Tensor, quality: Tensor) -> Tensor:
        """Decoded code frames ``(T,code_ch,h,w)`` → reconstruction ``(T,3,h·scale,w·scale)`` in [0,1]."""
        return self.post(decoded, quality.expand(decoded.shape[0])).clamp(0, 1)

    def rate_correction(self, quality: Tensor) -> Tensor:
        """Multiplicative real/proxy rate correction at ``quality`` (linear over the bins, as Sandwich)."""
        lo, hi = self.cfg.quality_range
        pos = ((quality.float() - lo) / max(hi - lo, 1) * (self.cfg.rate_bins - 1)).clamp(0, self.cfg.rate_bins - 1)
        i0 = pos.floor().long()
        i1 = (i0 + 1).clamp(max=self.cfg.rate_bins - 1)
        t = pos - i0.float()
        return (self.rate_log_corr[i0] * (1 - t) + self.rate_log_corr[i1] * t).exp()

    def forward_clip(self, clip: Tensor, flow: Tensor, qp: int) -> VideoSandwichOutput:
        """One clip ``(T,3,H,W)`` in [0,1] with its source flow ``(T,2,H,W)`` at constant ``qp``."""
        q = torch.tensor([qp_to_quality(qp)], device=clip.device)
        raw = self.preprocess_raw(clip, q)
        out = video_proxy(raw.clamp(0, 1), float(qp), pix_fmt=self.pix_fmt, flow=downscale_flow(flow, self.cfg.scale))
        x_hat = self.postprocess(out.frames, q)
        return VideoSandwichOutput(x_hat, raw, out.bits.sum() * self.rate_correction(q)[0])


def downscale_flow(flow: Tensor, scale: int) -> Tensor:
    """Flow ``(T,2,H,W)`` in pixels → the flow of the ``scale``× smaller frames (``scale×scale`` mean, vectors / scale)."""
    return flow if scale == 1 else torch.nn.functional.avg_pool2d(flow, scale) / scale


# -- calibration with the real encoder -------------------------------------------------------------------
def _uint8_clip(clip: Tensor) -> np.ndarray:
    return (clip.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _payload_bits(data: bytes) -> float:
    """Sum of the video packets' sizes in bits (the container left out, as the proxy's ``bits``)."""
    import io

    import av

    with av.open(io.BytesIO(data)) as c:
        return 8.0 * sum(p.size for p in c.demux(c.streams.video[0]) if p.size)


def _resize_clip(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bicubic (Pillow, antialiased when shrinking) resize of ``(T,H,W,C)`` uint8 frames."""
    return np.stack([resize_bicubic(f, width, height) for f in frames])


def _plain_code(frames: np.ndarray, pix_fmt: str, scale: int = 1) -> np.ndarray:
    """What the plain anchor codes: the frames (gray: their BT.601 luma), bicubic-halved for ``scale`` 2."""
    if scale != 1:
        frames = _resize_clip(frames, frames.shape[2] // scale, frames.shape[1] // scale)
    if pix_fmt != "gray":
        return frames

    return gray_clip(frames)


def _real_point(clip: Tensor, pix_fmt: str, qp: int, preset: str | None, scale: int = 1) -> tuple[float, float]:
    """(MSE vs the full-resolution RGB source in 8-bit units², payload bits) of a plain constant-QP x265 encode
    of ``clip`` (for ``scale`` 2: of its bicubic half, decoded frames bicubic-upsampled)."""
    src = _uint8_clip(clip)
    settings: dict[str, Any] = {"pix_fmt": pix_fmt, "qp": int(qp)}
    if preset is not None:
        settings["preset"] = preset
    codec = get_codec("hevc")
    data = codec.encode(list(_plain_code(src, pix_fmt, scale)), **settings)
    dec8 = np.stack(codec.decode(data))
    if scale != 1:
        dec8 = _resize_clip(dec8, src.shape[2], src.shape[1])
    dec = dec8.astype(np.float64)
    if dec.shape[-1] == 1:
        dec = np.repeat(dec, 3, axis=-1)
    return float(np.mean((dec - src.astype(np.float64)) ** 2)), _payload_bits(data)


def _plain_proxy_bits(clip: Tensor, flow: Tensor, pix_fmt: str, qp: int, scale: int = 1) -> float:
    x = clip
    if pix_fmt == "gray" or scale != 1:
        x = (
            torch.from_numpy(_plain_code(_uint8_clip(clip), pix_fmt, scale).transpose(0, 3, 1, 2).copy()).float()
            / 255.0
        )
    with torch.no_grad():
        return float(video_proxy(x, float(qp), pix_fmt=pix_fmt, flow=downscale_flow(flow, scale)).bits.sum())


@dataclass
class VideoCalibration:
    """Plain x265 on the calibration clips: the RD slope (in quality units) and the real/proxy bit ratios."""

    slope: RDSlope
    qps: list[int]
    log_ratio: list[float]
    """Median ``log(real payload bits / proxy bits)`` of the plain clips at each QP."""


def fit_video_rd_slope(
    clips: Sequence[dict[str, Tensor]], qps: Sequence[int], pix_fmt: str, preset: str | None = None, scale: int = 1
) -> VideoCalibration:
    """Encode every clip (``{"clip": (T,3,H,W), "flow": ...}``) with REAL x265 at each constant QP (``scale`` 2:
    its bicubic half, see :func:`_real_point`; bpp per full-resolution pixel); fit ``ln MSE``
    as a quadratic in ``ln bpp`` (as :func:`~neuralwrap.sandwich.training.calibration.fit_rd_slope`) and return
    ``λ = −dMSE/dbpp`` and ``MSE_plain`` per QP as an :class:`RDSlope` over ``qp_to_quality(qp)`` (ascending),
    plus the real/proxy bit ratios of the plain clips."""
    if not clips:
        raise InputError("fit_video_rd_slope needs at least one clip")
    qps = sorted({int(q) for q in qps}, reverse=True)  # ascending quality
    if len(qps) < 3:
        raise InputError("fit_video_rd_slope needs at least 3 distinct QPs")
    mse, bpp, ratio = [], [], []
    for qp in qps:
        m, b, r = [], [], []
        for item in clips:
            c = item["clip"]
            d, bits = _real_point(c, pix_fmt, qp, preset, scale)
            m.append(d)
            b.append(bits / (c.shape[0] * c.shape[-1] * c.shape[-2]))
            r.append(math.log(max(bits, 1.0) / max(_plain_proxy_bits(c, item["flow"], pix_fmt, qp, scale), 1.0)))
        mse.append(max(float(np.mean(m)), 1e-6))
        bpp.append(float(np.mean(b)))
        ratio.append(float(np.median(r)))
    lb, lm = np.log(bpp), np.log(mse)
    dlog = np.polyval(np.polyder(np.polyfit(lb, lm, 2)), lb)
    slope = [max(float(-d * mm / bb), 1e-6) for d, mm, bb in zip(dlog, mse, bpp)]
    quals = [round(qp_to_quality(q)) for q in qps]
    return VideoCalibration(RDSlope(quals, mse, bpp, slope), qps, ratio)


def _set_rate_correction(model: VideoSandwich, cal: VideoCalibration) -> None:
    lo, hi = model.cfg.quality_range
    centres = np.linspace(lo, hi, model.cfg.rate_bins)
    quals = [qp_to_quality(q) for q in cal.qps]
    with torch.no_grad():
        model.rate_log_corr.copy_(torch.as_tensor(np.interp(centres, quals, cal.log_ratio), dtype=torch.float32))


# -- the objective ---------------------------------------------------------------------------------------
class VideoSandwichObjective:
    """``loss = mean_i [D_i + γ λ(QP_i) · bpp_i + P_i] / MSE_plain(QP_i)`` over the clips of a batch
    (``{"clip": (B,T,3,H,W), "flow": (B,T,2,H,W)}``), QP_i uniform integers in ``qp_range`` drawn from
    (seed, step) so a resumed run draws what the uninterrupted one would have. ``D`` is the registered
    distortion ``distortion`` (:mod:`neuralwrap.sandwich.losses`, MSE-like units) averaged over the frames;
    λ and ``MSE_plain`` stay those of the plain x265 in MSE (as the image perceptual apps)."""

    def __init__(
        self, slope: RDSlope, qp_range: tuple[int, int], gamma: float = 1.0, seed: int = 0, distortion: str = "mse"
    ) -> None:
        self.slope, self.qp_range, self.gamma, self.seed = slope, _check_qp_range(qp_range), float(gamma), int(seed)
        self.distortion, self._dist = distortion, get_distortion(distortion)

    def sample_qp(self, n: int, step: int) -> list[int]:
        """``n`` QPs for ``step``."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return torch.randint(self.qp_range[0], self.qp_range[1] + 1, (n,), generator=gen).tolist()

    def loss_at(
        self, model: nn.Module, batch: dict[str, Tensor], qps: Sequence[int]
    ) -> tuple[Tensor, dict[str, float]]:
        """Loss of the batch at the given QPs (one per clip)."""
        m = model.module if hasattr(model, "module") else model
        clips, flows = batch["clip"], batch["flow"]
        terms, mses, dists, bpps = [], [], [], []
        for i, qp in enumerate(qps):
            out = m.forward_clip(clips[i], flows[i], int(qp))
            lam, mse_plain = (float(t[0]) for t in self.slope.at(torch.tensor([qp_to_quality(qp)])))
            mse = ((out.x_hat - clips[i]) * 255.0).pow(2).mean()
            dist = mse if self.distortion == "mse" else self._dist(out.x_hat, clips[i]).mean()
            bpp = out.bits / float(clips[i].shape[0] * clips[i].shape[-1] * clips[i].shape[-2])
            excess = ((out.code_raw - out.code_raw.clamp(0, 1)) * 255.0).pow(2).mean()
            terms.append((dist + self.gamma * lam * bpp + excess) / mse_plain)
            mses.append(float(mse.detach()))
            dists.append(float(dist.detach()))
            bpps.append(float(bpp.detach()))
        loss = torch.stack(terms).mean()
        psnr = float(np.mean([10 * math.log10(255.0**2 / max(v, 1e-6)) for v in mses]))
        logs = {"loss": float(loss.detach()), "mse": float(np.mean(mses)), "bpp": float(np.mean(bpps)), "psnr": psnr}
        if self.distortion != "mse":
            logs[self.distortion] = float(np.mean(dists))
        return loss, logs

    def __call__(self, model: nn.Module, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        return self.loss_at(model, batch, self.sample_qp(batch["clip"].shape[0], step))


# -- training --------------------------------------------------------------------------------------------
def train_video_sandwich(
    cfg: SandwichConfig,
    train_cfg: TrainConfig,
    vt: VideoTrainConfig,
    hooks: Sequence[Callable[[Trainer, int], None]] = (),
) -> tuple[VideoSandwich, dict[str, Any]]:
    """Calibrate on real x265, then train ``cfg`` (codec "hevc") through the video proxy. Returns the model
    and the final logs (plus the calibration); checkpoints and logs go to ``train_cfg.out_dir``.
    ``train_cfg.max_seconds`` counts from this call's start (the x265 calibration included)."""
    t0 = time.monotonic()

    if _pix_fmt_of(cfg) != vt.pix_fmt:
        raise InputError(f"config subsampling {cfg.subsampling!r} does not code pix_fmt {vt.pix_fmt!r}")
    photos = load_photos(vt.data)
    cal = fit_video_rd_slope(
        fixed_clips(photos, vt.calib_clips, vt.frames, vt.size, seed=train_cfg.seed + 1, scale_range=vt.scale_range),
        vt.calib_qps,
        vt.pix_fmt,
        vt.preset,
        cfg.scale,
    )
    log.info("plain x265 %s RD slope: %s; log real/proxy: %s", vt.pix_fmt, cal.slope, cal.log_ratio)
    seed_everything(train_cfg.seed)
    model = VideoSandwich(cfg)
    if vt.init:
        load_processors(model, load_weights(vt.init).state_dict, vt.init)
    _set_rate_correction(model, cal)
    ds = ClipDataset(photos, frames=vt.frames, size=vt.size, seed=train_cfg.seed, scale_range=vt.scale_range)
    objective = VideoSandwichObjective(cal.slope, vt.qp_range, vt.gamma, seed=train_cfg.seed, distortion=vt.distortion)
    extra = {
        "sandwich": cfg.to_dict(),
        "video_train": {**vars(vt)},
        "rd_slope": vars(cal.slope),
        "rate_log_ratio": dict(zip(map(str, cal.qps), cal.log_ratio)),
    }
    schedule = lr_schedule_hooks(vt.lr_schedule, train_cfg.lr, train_cfg.steps, max_warmup=100)
    trainer = Trainer(model, objective, ds, train_cfg, hooks=[*schedule, *hooks], model_config=extra, started_at=t0)
    result = trainer.fit()
    return model, {**result, "calibration": {"qps": cal.qps, "rd_slope": vars(cal.slope), "log_ratio": cal.log_ratio}}


# -- files -----------------------------------------------------------------------------------------------
def export_video_model(
    model: VideoSandwich,
    path: str | os.PathLike[str],
    name: str,
    version: str = "1",
    extra: dict[str, Any] | None = None,
) -> Any:
    """Write the inference model file pair (a standard sandwich model file: ``load_model_file`` builds it,
    the sandwich proxy of codec "hevc" being the video proxy)."""
    info = {"video": {"pix_fmt": model.pix_fmt, "conditioning": "quality = 100 - 2*QP"}, **(extra or {})}
    return save_model_file(path, model, name, version, extra=info)  # type: ignore[arg-type]
