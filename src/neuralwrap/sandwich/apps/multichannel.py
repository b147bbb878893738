"""More channels than the codec: 6- and 8-channel deep framebuffers through a 3-channel codec (JPEG 4:2:0).

* ``mc6-jpeg``: RGB + camera-space normals (6 channels) → pre → a 6-channel code image, coded as two
  3-channel JPEG 4:2:0 files → post → 6 channels;
* ``mc8-jpeg``: RGB + normals + disparity + transient (people) mask (8 channels) → 9-channel code → three
  JPEG files → 8 channels.

The code image has as many 3-channel groups as the baseline has files (the paper's "channels coded three
at a time"), so an untrained sandwich IS the baseline (identity pre/post; the 9th code channel of ``mc8``
starts at a constant 0.5 instead of the baseline's zero padding) and every gain comes from the networks
moving information between channels and groups. :class:`GroupedSandwich` is a :class:`Sandwich` whose
codec proxy (:class:`GroupedCodecProxy`) runs the JPEG proxy on each group and adds the bits; it has the
same weights (state-dict keys) as a plain ``Sandwich`` of the same config. ``sandwich train --app mc6-jpeg``
trains it with :func:`train_grouped` (the exported file is marked ``grouped``) and ``sandwich eval --app
mc6-jpeg --model mc6-jpeg`` runs the real codec with :func:`grouped_model_roundtrip` (one JPEG file per group,
bytes summed); ``benchmarks/app_multichannel.py`` adds the per-channel-group picture and complexity table.
A single-file ``sandwich encode`` is not offered: the bitstream is g standard JPEG files.

Data: :mod:`neuralwrap.synthetic.multichannel` (procedural landmark views rendered as deep framebuffers —
the representation of the rerendering system; training scenes and test scenes differ, see there).

Baselines (real bytes, all JPEG files with optimised Huffman tables, the codec's default):

* ``jpeg-groups3`` (the anchor): the channels coded three at a time with plain JPEG 4:2:0, the last group
  zero-padded (6 → RGB file + normals file; 8 → RGB, normals, [disparity, mask, 0]); bytes summed;
* ``jpeg444-groups3``: the same with JPEG 4:4:4 (no chroma subsampling of normals / disparity).

PSNR is over all channels (8-bit levels, peak 1); λ(q) is the anchor's RD slope in MSE over all channels.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError
from neuralwrap.io.images import to_float, to_uint8
from neuralwrap.sandwich.apps.registry import AppRoundtrip, AppSpec
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig
from neuralwrap.sandwich.inference.codec import (
    SandwichCodec,
    load_model_file,
    load_pretrained,
)
from neuralwrap.sandwich.models.image import Sandwich
from neuralwrap.sandwich.models.proxy import CodecProxy
from neuralwrap.sandwich.training.calibration import (
    fit_rd_slope,
    real_bits,
    refit_rate_correction,
)
from neuralwrap.sandwich.training.image import (
    RateRefitHook,
    SandwichObjective,
    SandwichTrainConfig,
    app_crops,
)
from neuralwrap.synthetic.multichannel import MultiChannelCrops, make_multichannel
from neuralwrap.train import TrainConfig, Trainer, lr_schedule_hooks, seed_everything

if TYPE_CHECKING:
    from neuralwrap.sandwich.inference.codec import SandwichCodec

__all__ = [
    "MC6_JPEG",
    "MC8_JPEG",
    "MC_POST",
    "MC_PRE",
    "GroupedCodecProxy",
    "GroupedRateRefitHook",
    "GroupedSandwich",
    "grouped_model_roundtrip",
    "groups_roundtrip",
    "load_grouped",
    "mc_eval_data",
    "mc_train_data",
    "train_grouped",
]

log = logging.getLogger(__name__)

#: pre-processor of the multichannel apps (the paper's slim U-Net)
MC_PRE = ProcessorConfig(unet_enc=(32,), unet_dec=(32, 32))
#: post-processor of the multichannel apps
MC_POST = ProcessorConfig(unet_enc=(16, 32), unet_dec=(64, 32, 16))

#: training set: 48 views (12 scenes × 4) of 256×192; test set: 12 views (6 scenes × 2) of 512×384
_TRAIN = {"num_images": 48, "width": 256, "height": 192, "views_per_scene": 4}
_TEST = {"num_images": 12, "width": 512, "height": 384, "views_per_scene": 2}


def _cache_dir() -> Path:
    return Path(os.environ.get("NEURALWRAP_CACHE", tempfile.gettempdir())) / "neuralwrap_multichannel"


def mc_train_data(channels: int):
    """``(train cfg, seed) -> Dataset`` of ``(channels, crop, crop)`` crops of the training framebuffers
    (rendered once, cached in ``$NEURALWRAP_CACHE`` or the temp folder; ``cfg.data`` is not used)."""

    def make(cfg: object, seed: int) -> Dataset:
        imgs = make_multichannel(channels=channels, split="train", cache_dir=_cache_dir(), **_TRAIN)  # type: ignore[arg-type]
        return MultiChannelCrops([im for _, im in imgs], crop=int(cfg.crop), seed=seed)

    return make


def mc_eval_data(channels: int):
    """``data -> [(name, HxWxC float32)]``: the synthetic test framebuffers (``data``: a cache folder, or None)."""

    def make(data: str | None) -> list[tuple[str, np.ndarray]]:
        return make_multichannel(channels=channels, split="test", cache_dir=data or _cache_dir(), **_TEST)  # type: ignore[arg-type]

    return make


def groups_roundtrip(subsampling: str = "420") -> AppRoundtrip:
    """Baseline: channels coded three at a time with plain JPEG (``subsampling``), the last group
    zero-padded; bytes = all files together, reconstruction = the decoded channels (padding dropped)."""
    c = get_codec("jpeg")

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        u8 = to_uint8(np.asarray(image))
        h, w, ch = u8.shape
        groups = -(-ch // 3)
        padded = np.concatenate([u8, np.zeros((h, w, 3 * groups - ch), np.uint8)], axis=2)
        datas, recs = [], []
        for g in range(groups):
            d = c.encode(
                np.ascontiguousarray(padded[:, :, 3 * g : 3 * g + 3]),
                quality=int(quality),
                subsampling=subsampling,
                optimize=True,
            )
            datas.append(d)
            recs.append(c.decode(d))
        return b"".join(datas), to_float(np.concatenate(recs, axis=2)[:, :, :ch])

    return run


class GroupedCodecProxy(CodecProxy):
    """:class:`CodecProxy` over a code image of ``3·g`` channels coded three at a time:
    ``code (B,3g,H,W), quality (B,) → (decoded (B,3g,H,W), bits (B,) summed over groups, code8)``."""

    def forward(self, code: Tensor, quality: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if code.shape[1] % 3:
            raise InputError(f"grouped code images need a multiple of 3 channels, got {code.shape[1]}")
        outs = [CodecProxy.forward(self, g, quality) for g in code.split(3, dim=1)]
        return torch.cat([o[0] for o in outs], 1), sum(o[1] for o in outs), torch.cat([o[2] for o in outs], 1)


class GroupedSandwich(Sandwich):
    """A :class:`Sandwich` whose code image (``cfg.code_channels``, a multiple of 3) is coded as one 3-channel
    codec image per group::

        x (C ch) ──► pre ──► code (3g ch) ──► g × proxy(JPEG, quality) ──► decoded (3g ch) ──► post ──► x̂ (C ch)
    """

    def __init__(self, cfg: SandwichConfig) -> None:
        if cfg.code_channels % 3 or cfg.scale != 1:
            raise InputError(
                f"GroupedSandwich needs code_channels = 3·g and scale 1, got {cfg.code_channels}, {cfg.scale}"
            )
        super().__init__(cfg)
        self.proxy = GroupedCodecProxy(cfg.codec, cfg.subsampling)


def _grouped_real_bits(
    code8: Tensor, qualities: list[int], codec: str, subsampling: str, **settings: Any
) -> np.ndarray:
    return sum(real_bits(g, qualities, codec, subsampling, **settings) for g in code8.split(3, dim=1))


class GroupedRateRefitHook(RateRefitHook):
    """:class:`RateRefitHook` for a :class:`GroupedSandwich`: the real bits are those of all groups' files."""

    @torch.no_grad()
    def refit(self, model: Sandwich, momentum: float = 0.5) -> dict[str, float]:
        cfg = model.cfg
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        qs = np.linspace(*cfg.quality_range, cfg.rate_bins).round().astype(int)
        crops = self.crops.to(device)
        qual = torch.cat([torch.full((crops.shape[0],), float(q), device=device) for q in qs])
        code = torch.cat([model.preprocess(crops, torch.full((crops.shape[0],), float(q), device=device)) for q in qs])
        _, bits, code8 = model.proxy(code, qual)
        real = _grouped_real_bits(code8, qual.int().tolist(), cfg.codec, cfg.subsampling, **self.codec_settings)
        err = float(np.median(np.abs((bits * model.rate_correction(qual)).cpu().numpy() - real) / real))
        model.rate_log_corr.copy_(
            refit_rate_correction(bits, real, model.rate_bin(qual), model.rate_log_corr, momentum=momentum)
        )
        model.train(was_training)
        return {"rate_rel_err": err}


def train_grouped(
    app: AppSpec, train_cfg: TrainConfig, sw: SandwichTrainConfig, cfg: SandwichConfig | None = None
) -> dict[str, Any]:
    """Train a :class:`GroupedSandwich` for ``app`` (what ``train_sandwich(app=...)`` does for a plain one):
    λ(q) from the anchor baseline on training crops (MSE over all channels), real-codec rate refits of all
    groups, cosine LR. Checkpoints and logs go to ``train_cfg.out_dir`` (resumable); ``train_cfg.max_seconds``
    counts from this call's start (the anchor calibration included)."""
    t0 = time.monotonic()
    cfg = cfg or app.config
    ds = app.train_data(sw, train_cfg.seed)
    calib = app_crops(app, sw, sw.calib_crop, sw.calib_crops, train_cfg.seed + 1)
    qualities = np.linspace(*cfg.quality_range, 12).round().astype(int).tolist()
    slope = fit_rd_slope(calib, qualities, roundtrip=app.baselines[app.anchor or ""])
    seed_everything(train_cfg.seed)
    model = GroupedSandwich(cfg)
    hook = GroupedRateRefitHook(
        app_crops(app, sw, sw.refit_crop, sw.refit_crops, train_cfg.seed + 2), sw.refit_every, {"optimize": True}
    )
    objective = SandwichObjective(cfg, slope, sw.gamma, seed=train_cfg.seed)
    hooks = [hook, *lr_schedule_hooks(sw.lr_schedule, train_cfg.lr, train_cfg.steps, max_warmup=200)]
    extra = {
        "sandwich": cfg.to_dict(),
        "sandwich_train": vars(sw),
        "rd_slope": vars(slope),
        "app": app.name,
        "grouped": True,
    }
    trainer = Trainer(model, objective, ds, train_cfg, hooks=hooks, model_config=extra, started_at=t0)
    return {**trainer.fit(), "rate_refits": hook.history}


def load_grouped(path: str | os.PathLike[str] | SandwichCodec) -> GroupedSandwich:
    """A :class:`GroupedSandwich` from a model file (``save_model_file``), a shipped model name, or an already
    loaded :class:`~neuralwrap.sandwich.inference.codec.SandwichCodec` of a grouped model (its weights are reused)."""
    if isinstance(path, SandwichCodec):
        sc = path
    else:
        p = str(path)
        sc = load_model_file(p) if p.endswith(".safetensors") else load_pretrained(p)
    model = GroupedSandwich(sc.config)
    model.load_state_dict(sc.model.state_dict(), strict=True)
    return model.eval()


def grouped_model_roundtrip(model: GroupedSandwich | str, subsampling: str | None = None) -> AppRoundtrip:
    """Real-codec roundtrip of a grouped sandwich: pre → one JPEG file per 3-channel group (optimised Huffman)
    → decode → post. Bytes = all files together; image and reconstruction ``HxWxC`` float [0,1]."""
    state: dict[str, GroupedSandwich] = {}
    c = get_codec("jpeg")

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        if "m" not in state:
            state["m"] = load_grouped(model) if isinstance(model, str) else model.eval()
        m = state["m"]
        sub = subsampling or m.cfg.subsampling
        x = torch.from_numpy(np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)))[None]
        q = torch.tensor([float(quality)])
        with torch.inference_mode():
            code = to_uint8(m.preprocess(x, q)[0].permute(1, 2, 0).numpy())
            datas = [
                c.encode(
                    np.ascontiguousarray(code[:, :, k : k + 3]), quality=int(quality), subsampling=sub, optimize=True
                )
                for k in range(0, code.shape[2], 3)
            ]
            dec = np.concatenate([c.decode(d) for d in datas], axis=2)
            dt = torch.from_numpy(to_float(dec).transpose(2, 0, 1).copy())[None]
            out = m.postprocess(dt, q)[0].permute(1, 2, 0).numpy()
        return b"".join(datas), out

    return run


def _spec(channels: int, what: str) -> AppSpec:
    groups = -(-channels // 3)
    cfg = SandwichConfig(
        codec="jpeg",
        subsampling="420",
        in_channels=channels,
        code_channels=3 * groups,
        out_channels=channels,
        pre=MC_PRE,
        post=MC_POST,
        quality_range=(5, 95),
    )
    return AppSpec(
        name=f"mc{channels}-jpeg",
        summary=f"{channels}-channel framebuffer ({what}) as {groups} JPEG 4:2:0 files of a learned "
        f"{3 * groups}-channel code; vs the channels coded 3 at a time",
        config=cfg,
        train_data=mc_train_data(channels),
        eval_data=mc_eval_data(channels),
        baselines={"jpeg-groups3": groups_roundtrip("420"), "jpeg444-groups3": groups_roundtrip("444")},
        anchor="jpeg-groups3",
        qualities=(10, 20, 30, 50, 70, 90),
        comparison_bpp=0.6,
    )


MC6_JPEG = _spec(6, "RGB + normals")
MC8_JPEG = _spec(8, "RGB + normals + disparity + transient mask")

#: the apps of this module (collected by :mod:`neuralwrap.sandwich.apps.registry`)
APPS = (MC6_JPEG, MC8_JPEG)
