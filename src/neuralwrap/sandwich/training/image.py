"""``sandwich train``: joint pre/post training through the codec proxy on D + λ(q)·R.

One rate-conditioned model covers the whole quality range (the quality is an input of both
networks), rather than one model per rate point: one shipped file serves every ``--quality``, and
the eval sweep uses the same weights at every point. λ(q) is the plain codec's own RD slope
``−dMSE/dbpp`` at q, measured with the real codec on training crops, times ``gamma``: at every
quality the networks trade distortion for bits at the codec's exchange rate, so a gain in
``D + λR`` is a move towards a better RD curve. Each sample's loss is divided by the plain codec's
MSE at its quality, so low and high qualities pull with similar weight.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError
from neuralwrap.errors import InputError as _InputError
from neuralwrap.sandwich.config import SandwichConfig, SandwichTrainConfig
from neuralwrap.sandwich.inference.codec import load_any
from neuralwrap.sandwich.losses import get_distortion, mse_distortion
from neuralwrap.sandwich.models.image import Sandwich, load_processors
from neuralwrap.sandwich.training.calibration import (
    RDSlope,
    fit_rd_slope,
    real_bits,
    refit_rate_correction,
)
from neuralwrap.sandwich.training.data import (
    CropDataset,
    fixed_training_crops,
    load_photos,
)
from neuralwrap.train import TrainConfig, Trainer, lr_schedule_hooks, seed_everything

if TYPE_CHECKING:  # pragma: no cover
    from neuralwrap.sandwich.apps.registry import AppSpec

__all__ = ["RateRefitHook", "SandwichObjective", "app_crops", "train_sandwich"]

log = logging.getLogger(__name__)


class SandwichObjective:
    """``loss = mean_i [D_i + γ λ(q_i) · bpp_i + P_i + μ B_i] / D_plain(q_i)`` with D the distortion ``distortion``
    (a key of :data:`~neuralwrap.sandwich.losses.DISTORTIONS`; default MSE in 8-bit units²), bpp over the
    source's pixels (full resolution), ``P_i`` the mean squared excursion (8-bit units²) of the raw
    pre-processor output outside [0, 1], and ``B_i`` the bottleneck-fidelity term: MSE (8-bit units²) of the
    proxy-decoded code image (what a plain viewer shows) vs the source, weighted by ``bottleneck_weight``
    μ ≥ 0 (0 = off, the term is then not computed). ``slope`` gives λ(q) and D_plain(q) of the plain codec
    (or of the app's anchor baseline) in the same units as D."""

    def __init__(
        self,
        cfg: SandwichConfig,
        slope: RDSlope,
        gamma: float,
        seed: int = 0,
        rank: int = 0,
        distortion: str = "mse",
        bottleneck_weight: float = 0.0,
    ) -> None:
        self.cfg, self.slope, self.gamma, self.seed, self.rank = cfg, slope, gamma, seed, rank
        self.distortion = distortion
        self._dist = get_distortion(distortion)
        self.bottleneck_weight = float(bottleneck_weight)
        if not self.bottleneck_weight >= 0.0:
            raise InputError(f"bottleneck_weight must be >= 0, got {bottleneck_weight!r}")
        if self.bottleneck_weight > 0 and (cfg.code_channels != cfg.in_channels or cfg.scale != 1):
            raise InputError(
                "bottleneck_weight > 0 needs a code image of the source's shape "
                f"(code_channels == in_channels, scale 1), got {cfg.code_channels} vs {cfg.in_channels}, "
                f"scale {cfg.scale}"
            )

    def sample_quality(self, n: int, step: int) -> Tensor:
        """``n`` integer qualities, uniform over the quality range; a function of (seed, step, rank) so
        a resumed run draws what the uninterrupted one would have."""
        lo, hi = self.cfg.quality_range
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + step) * 64 + self.rank)
        return torch.randint(lo, hi + 1, (n,), generator=gen).float()

    def loss_at(self, model: nn.Module, batch: Tensor, quality: Tensor) -> tuple[Tensor, dict[str, float]]:
        """The loss of ``batch`` ``(B,in_ch,H,W)`` at the given qualities ``(B,)`` (no sampling)."""
        out = model(batch, quality)
        lam, mse_plain = (t.to(batch.device) for t in self.slope.at(quality))
        mse = mse_distortion(out.x_hat, batch)
        dist = mse if self.distortion == "mse" else self._dist(out.x_hat, batch)
        bpp = out.bits / float(batch.shape[-1] * batch.shape[-2])
        excess = ((out.code_raw - out.code_raw.clamp(0, 1)) * 255.0).pow(2).flatten(1).mean(1)
        total = dist + self.gamma * lam * bpp + excess
        if self.bottleneck_weight > 0:
            bottleneck = mse_distortion(out.decoded, batch)
            total = total + self.bottleneck_weight * bottleneck
        loss = (total / mse_plain).mean()
        m = mse.detach()
        logs = {
            "loss": float(loss.detach()),
            "mse": float(m.mean()),
            "bpp": float(bpp.detach().mean()),
            "psnr": float((10 * torch.log10(255.0**2 / m.clamp_min(1e-6))).mean()),
        }
        if self.distortion != "mse":
            logs[self.distortion] = float(dist.detach().mean())
        if self.bottleneck_weight > 0:
            b = bottleneck.detach()
            logs["bottleneck_mse"] = float(b.mean())
            logs["bottleneck_psnr"] = float((10 * torch.log10(255.0**2 / b.clamp_min(1e-6))).mean())
            logs["bottleneck_term"] = float((self.bottleneck_weight * b / mse_plain).mean())
        return loss, logs

    def __call__(self, model: nn.Module, batch: Tensor, step: int) -> tuple[Tensor, dict[str, float]]:
        return self.loss_at(model, batch, self.sample_quality(batch.shape[0], step).to(batch.device))


class RateRefitHook:
    """Every ``every`` steps, encode the pre-processed fixed crops with the real codec at each bin's
    quality and move the model's per-bin rate correction toward ``log(real/proxy)`` (the paper's refit)."""

    def __init__(self, crops: Tensor, every: int, codec_settings: dict[str, Any] | None = None) -> None:
        self.crops, self.every = crops, every
        self.codec_settings = dict(codec_settings or {})
        self.history: list[dict[str, Any]] = []

    @torch.no_grad()
    def refit(self, model: Sandwich, momentum: float = 0.5) -> dict[str, float]:
        """One refit; returns the median relative error of the corrected proxy before the update.
        ``momentum`` 0 sets each bin straight to the measured median log-ratio."""
        cfg = model.cfg
        lo, hi = cfg.quality_range
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        qs = np.linspace(lo, hi, cfg.rate_bins).round().astype(int)
        crops = self.crops.to(device)
        codes, quals = [], []
        for q in qs:
            qt = torch.full((crops.shape[0],), float(q), device=device)
            codes.append(model.preprocess(crops, qt))
            quals.append(qt)
        code = torch.cat(codes)
        qual = torch.cat(quals)
        _, bits, code8 = model.proxy(code, qual)
        real = real_bits(code8, qual.int().tolist(), cfg.codec, cfg.subsampling, **self.codec_settings)
        corrected = (bits * model.rate_correction(qual)).cpu().numpy()
        err = float(np.median(np.abs(corrected - real) / real))
        model.rate_log_corr.copy_(
            refit_rate_correction(bits, real, model.rate_bin(qual), model.rate_log_corr, momentum=momentum)
        )
        model.train(was_training)
        return {"rate_rel_err": err}

    def __call__(self, trainer: Trainer, step: int) -> None:
        if self.every > 0 and step % self.every == 0:
            logs = self.refit(trainer.unwrapped)
            self.history.append({"step": step, **logs})
            for k, v in logs.items():
                trainer.log_scalar(f"rate/{k}", v)


def app_crops(app: AppSpec, sw: SandwichTrainConfig, size: int, n: int, seed: int) -> Tensor:
    """``(n, in_ch, s, s)`` reproducible crops of the app's training data: the first ``n`` items of
    ``app.train_data`` with crop ``s = size`` (halved until the data has images that large, not below
    ``sw.crop``)."""
    side = int(size)
    while True:
        try:
            ds = app.train_data(replace(sw, crop=side), seed)
            return torch.stack([torch.as_tensor(ds[i]) for i in range(n)])
        except _InputError:
            if side // 2 < min(sw.crop, size):
                raise
            side //= 2


def _plain_setup(cfg: SandwichConfig, train_cfg: TrainConfig, sw: SandwichTrainConfig) -> tuple[Any, RDSlope, Tensor]:
    """Dataset, plain-codec RD slope and refit crops of a plain RGB sandwich (no app)."""
    photos = load_photos(sw.data)  # decoded once, shared by the training, calibration and refit crops
    ds = CropDataset(photos, crop=sw.crop, seed=train_cfg.seed)
    calib = fixed_training_crops(photos, sw.calib_crop, sw.calib_crops, seed=train_cfg.seed + 1)
    slope = fit_rd_slope(
        calib, np.linspace(*cfg.quality_range, 12).round().astype(int).tolist(), cfg.codec, cfg.subsampling
    )
    # refit crops: fixed, disjoint from the calibration crops (other seed), larger than training crops
    return ds, slope, fixed_training_crops(photos, sw.refit_crop, sw.refit_crops, seed=train_cfg.seed + 2)


def _app_setup(
    app: AppSpec, cfg: SandwichConfig, train_cfg: TrainConfig, sw: SandwichTrainConfig
) -> tuple[Any, RDSlope, Tensor]:
    """Dataset, anchor-baseline RD slope (in the app's distortion) and refit crops of an app."""
    if not app.trainable:
        raise InputError(f"app {app.name!r} is evaluation-only (no training preset)")
    ds = app.train_data(sw, train_cfg.seed)
    calib = app_crops(app, sw, sw.calib_crop, sw.calib_crops, train_cfg.seed + 1)
    qualities = np.linspace(*cfg.quality_range, 12).round().astype(int).tolist()
    if app.anchor is None:
        if cfg.in_channels != 3 or cfg.scale != 1:
            raise InputError(f"app {app.name!r} has no anchor baseline to measure λ(q) with")
        slope = fit_rd_slope(calib, qualities, cfg.codec, cfg.subsampling)
    else:
        slope = fit_rd_slope(
            calib, qualities, roundtrip=app.baselines[app.anchor], distortion=get_distortion(app.distortion)
        )
    return ds, slope, app_crops(app, sw, sw.refit_crop, sw.refit_crops, train_cfg.seed + 2)


def train_sandwich(
    cfg: SandwichConfig,
    train_cfg: TrainConfig,
    sw: SandwichTrainConfig,
    hooks: Sequence[Callable[[Trainer, int], None]] = (),
    app: AppSpec | None = None,
) -> dict[str, Any]:
    """Train a sandwich; checkpoints and logs go to ``train_cfg.out_dir``. Returns the final logs.

    ``hooks`` are extra trainer hooks called after every step (after the rate refit and LR schedule).
    With ``app`` (:class:`~neuralwrap.sandwich.apps.registry.AppSpec`), the data come from ``app.train_data``,
    the distortion is ``app.distortion`` and λ(q) is the RD slope of the app's anchor baseline measured
    with the real codec on training crops; ``cfg`` is usually ``app.config`` (possibly with overrides).
    ``train_cfg.max_seconds`` counts from this call's start (data loading and calibration included).
    """
    t0 = time.monotonic()
    ds, slope, refit_crops = _plain_setup(cfg, train_cfg, sw) if app is None else _app_setup(app, cfg, train_cfg, sw)
    log.info("%s RD slope: %s", "plain " + cfg.codec if app is None else f"app {app.name} anchor {app.anchor}", slope)
    seed_everything(train_cfg.seed)  # the initial weights depend only on the seed
    model = Sandwich(cfg)
    if sw.init:
        init = load_any(sw.init)
        state = init.model.state_dict()
        if init.config.pre is None and cfg.pre is not None:  # a post-only model grown into a sandwich: its post,
            own = model.state_dict()  # and a fresh pre-processor, which starts as the identity
            state = {**state, **{k: v for k, v in own.items() if k.startswith("pre.")}}
        load_processors(model, state, sw.init)
    hook = RateRefitHook(refit_crops, sw.refit_every, dict(app.codec_settings) if app is not None else None)
    objective = SandwichObjective(
        cfg,
        slope,
        sw.gamma,
        seed=train_cfg.seed,
        rank=int(os.environ.get("RANK", "0")),
        distortion=app.distortion if app is not None else "mse",
        bottleneck_weight=sw.bottleneck_weight,
    )
    extra = {"sandwich": cfg.to_dict(), "sandwich_train": vars(sw), "rd_slope": vars(slope)}
    if app is not None:
        extra["app"] = app.name
    schedule = lr_schedule_hooks(sw.lr_schedule, train_cfg.lr, train_cfg.steps, max_warmup=200)
    trainer = Trainer(
        model, objective, ds, train_cfg, hooks=[hook, *schedule, *hooks], model_config=extra, started_at=t0
    )
    result = trainer.fit()
    return {**result, "rate_refits": hook.history}
