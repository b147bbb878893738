"""Built-in applications: colour over a grayscale codec, 2× resolution over a low-resolution codec.

* ``rgb-over-gray``: an RGB image through JPEG 4:0:0 (one luma plane). The pre-processor writes a
  1-channel code image (it starts as the BT.601 luma and learns to hide colour in it), the
  post-processor turns the decoded gray image back into colour. Baselines: ``gray-jpeg`` (the luma
  through grayscale JPEG, PSNR against the colour original; the anchor) and ``gray-jpeg+colorize`` (the
  same plus a learned post-processor only, the shipped ``rgb-over-gray-postonly``).
* ``lowres-2x``: the code image is half the resolution (``scale = 2``), JPEG 4:2:0 carries it, the
  post-processor restores the full resolution. Baselines: ``bicubic-jpeg`` (bicubic down → JPEG →
  bicubic up; the anchor) and ``plain-jpeg`` (full-resolution JPEG).
* ``lowres-2x-444``: the same over a half-resolution JPEG 4:4:4 (full-resolution chroma planes in the code
  image: twice the samples of 4:2:0, room for the pre-processor to carry detail); baselines in 4:4:4 too.
* ``rgb-over-gray-heif`` / ``lowres-2x-heif`` / ``lowres-2x-444-heif``: evaluation-only variants over HEIF (x265, real bytes) with
  the same baselines over HEIF; the JPEG-trained models run over HEIF unchanged (transfer).

All images here are ``HxWx3`` float32 in [0,1] made from 8-bit RGB; every codec runs on 8-bit data and
all JPEG files use optimised Huffman tables (the codec's default), sandwich and baselines alike.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from neuralwrap.codecs import get_codec
from neuralwrap.io.images import resize_bicubic, to_float, to_uint8
from neuralwrap.resources import require_data
from neuralwrap.sandwich.apps.registry import AppRoundtrip, AppSpec, get_app
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig
from neuralwrap.sandwich.evaluation.image import app_transfer_conditioning
from neuralwrap.sandwich.inference.codec import load_pretrained
from neuralwrap.sandwich.training.data import CropDataset, list_images, load_photos

__all__ = [
    "COLORIZE_BASELINE_MODEL",
    "LOWRES_2X",
    "LOWRES_2X_444",
    "RGB_OVER_GRAY",
    "bicubic_roundtrip",
    "gray_roundtrip",
    "kodak_eval_data",
    "luma",
    "model_roundtrip",
    "plain_roundtrip",
    "rgb_train_data",
]  # fmt: skip

#: shipped post-only model of the ``gray-jpeg+colorize`` baseline
COLORIZE_BASELINE_MODEL = "rgb-over-gray-postonly"
#: sandwich pre-processor of both built-in apps (the paper's slim U-Net, 16-wide sine MLP)
_PRE = ProcessorConfig(unet_enc=(32,), unet_dec=(32, 32))
#: post-processor of both built-in apps
_POST = ProcessorConfig(unet_enc=(16, 32), unet_dec=(64, 32, 16))
#: rgb-over-gray: 4 block-aligned carriers, starting as a colour-TV-like modulation of depth 0.3
_GRAY_PRE = dataclasses.replace(_PRE, carriers=4, carrier_depth=0.3)
_GRAY_POST = dataclasses.replace(_POST, carriers=4, carrier_depth=0.3)
#: post-processor of the colourisation baseline (no carriers: its luma carries no modulation), about the
#: parameters of the sandwich's pre + post
COLORIZE_POST = ProcessorConfig(unet_enc=(16, 40), unet_dec=(84, 40, 16))


@lru_cache(maxsize=4)
def _photos(folder: str) -> tuple[np.ndarray, ...]:
    return tuple(load_photos(folder))


def rgb_train_data(cfg: object, seed: int) -> Dataset:
    """Random RGB crops ``(3, crop, crop)`` float32 in [0,1] of the photos in ``cfg.data`` (decoded once per
    folder and process); ``cfg`` is a :class:`~neuralwrap.sandwich.training.image.SandwichTrainConfig`."""
    return CropDataset(list(_photos(str(cfg.data))), crop=int(cfg.crop), seed=seed)


def kodak_eval_data(folder: str | None = None) -> list[tuple[str, np.ndarray]]:
    """The images of ``folder`` (default: the ``kodak`` folder of :func:`neuralwrap.resources.default_data`) as
    ``(stem, HxWx3 float32 [0,1])``, sorted."""
    root = Path(folder) if folder else require_data("kodak")
    return [(p.stem, to_float(img)) for p, img in zip(list_images(root), load_photos(root))]


def _u8(image: np.ndarray) -> np.ndarray:
    return to_uint8(np.asarray(image))


def luma(image: np.ndarray) -> np.ndarray:
    """``HxWx3`` image → ``HxWx1`` uint8 BT.601 luma (Pillow's ``convert("L")``, what JPEG codes as Y)."""
    return np.asarray(Image.fromarray(_u8(image)).convert("L"))[:, :, None]


def _settings(codec: str, subsampling: str) -> dict[str, object]:
    return {"subsampling": subsampling, "optimize": True} if codec == "jpeg" else {"subsampling": subsampling}


def gray_roundtrip(codec: str = "jpeg") -> AppRoundtrip:
    """Baseline: the luma through a 4:0:0 ``codec``, replicated to RGB (PSNR against the colour original)."""
    c = get_codec(codec)

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        data = c.encode(luma(image), quality=int(quality), **_settings(codec, "400"))
        return data, np.repeat(to_float(c.decode(data)), 3, axis=2)

    return run


def gray_reference(image: np.ndarray) -> np.ndarray:
    """The luma replicated to RGB (float [0,1]): what :func:`gray_roundtrip` gives with a lossless codec."""
    return np.repeat(to_float(luma(image)), 3, axis=2)


def bicubic_reference(image: np.ndarray, factor: int = 2) -> np.ndarray:
    """Bicubic down and up without coding (float [0,1]): what :func:`bicubic_roundtrip` gives losslessly."""
    img = _u8(image)
    h, w = img.shape[:2]
    return to_float(resize_bicubic(resize_bicubic(img, max(1, w // factor), max(1, h // factor)), w, h))


def bicubic_roundtrip(codec: str = "jpeg", subsampling: str = "420", factor: int = 2) -> AppRoundtrip:
    """Baseline: bicubic down by ``factor`` → ``codec`` → bicubic up to the original size."""
    c = get_codec(codec)

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        img = _u8(image)
        h, w = img.shape[:2]
        small = resize_bicubic(img, max(1, w // factor), max(1, h // factor))
        data = c.encode(small, quality=int(quality), **_settings(codec, subsampling))
        return data, to_float(resize_bicubic(c.decode(data), w, h))

    return run


def plain_roundtrip(codec: str = "jpeg", subsampling: str = "420") -> AppRoundtrip:
    """Baseline: the plain codec at full resolution."""
    c = get_codec(codec)

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        data = c.encode(_u8(image), quality=int(quality), **_settings(codec, subsampling))
        return data, to_float(c.decode(data))

    return run


def model_roundtrip(name: str, codec: str | None = None, transfer_from: str | None = None) -> AppRoundtrip:
    """Baseline made of a shipped model (loaded on first use), e.g. the colourisation post-processor.

    Over another codec than the model's (``codec``), the networks are told the JPEG quality whose anchor
    distortion matches (``transfer_from``: the app the model was trained for; see
    :func:`neuralwrap.sandwich.evaluation.image.app_transfer_conditioning`)."""
    state: dict[str, object] = {}

    def run(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        if "sc" not in state:
            state["sc"] = sc = load_pretrained(name)
            state["cond"] = {}
            if codec is not None and codec != sc.config.codec and transfer_from is not None:  # type: ignore[attr-defined]
                state["cond"] = _transfer_table(transfer_from, codec)
        sc, cond = state["sc"], state["cond"]
        cq = _lookup(cond, int(quality))  # type: ignore[arg-type]
        data = sc.encode(image, int(quality), codec=codec, cond_quality=cq)  # type: ignore[attr-defined]
        return data, sc.decode_float(data)  # type: ignore[attr-defined]

    return run


def _transfer_table(src_app: str, codec: str) -> dict[int, int]:
    return app_transfer_conditioning(get_app(src_app), get_app(f"{src_app}-{codec}"), list(range(0, 101, 5)))


def _lookup(table: dict[int, int], q: int) -> int:
    if not table:
        return q
    keys = np.asarray(sorted(table), dtype=float)
    return round(float(np.interp(q, keys, [table[int(k)] for k in keys])))


def _app_configs() -> tuple[SandwichConfig, SandwichConfig]:
    gray = SandwichConfig(
        codec="jpeg",
        subsampling="400",
        in_channels=3,
        code_channels=1,
        out_channels=3,
        pre=_GRAY_PRE,
        post=_GRAY_POST,
        quality_range=(5, 95),
    )
    lowres = SandwichConfig(codec="jpeg", subsampling="420", pre=_PRE, post=_POST, quality_range=(5, 95), scale=2)
    return gray, lowres


_GRAY_CFG, _LOWRES_CFG = _app_configs()

RGB_OVER_GRAY = AppSpec(
    name="rgb-over-gray",
    summary="RGB through grayscale JPEG 4:0:0: the pre-processor hides colour in the luma, the post restores it",
    config=_GRAY_CFG,
    train_data=rgb_train_data,
    eval_data=kodak_eval_data,
    baselines={"gray-jpeg": gray_roundtrip("jpeg"), "gray-jpeg+colorize": model_roundtrip(COLORIZE_BASELINE_MODEL)},
    anchor="gray-jpeg",
    anchor_reference=gray_reference,
    qualities=(10, 20, 30, 50, 70, 90),
    comparison_bpp=0.5,
)


def _lowres_app(name: str, summary: str, codec: str, subsampling: str, suffix: str, **kw: object) -> AppSpec:
    """A 2x-resolution app over ``codec``/``subsampling``: baselines ``bicubic-SUFFIX`` (the anchor) and
    ``plain-SUFFIX``, both in the same codec setting; ``kw`` overrides the remaining AppSpec fields."""
    fields: dict = {"qualities": (10, 20, 30, 50, 70, 90), "comparison_bpp": 0.3, **kw}
    return AppSpec(
        name=name,
        summary=summary,
        config=dataclasses.replace(_LOWRES_CFG, codec=codec, subsampling=subsampling),
        train_data=rgb_train_data,
        eval_data=kodak_eval_data,
        baselines={
            f"bicubic-{suffix}": bicubic_roundtrip(codec, subsampling),
            f"plain-{suffix}": plain_roundtrip(codec, subsampling),
        },
        anchor=f"bicubic-{suffix}",
        anchor_reference=bicubic_reference,
        **fields,
    )


LOWRES_2X = _lowres_app(
    "lowres-2x", "2x resolution over a half-resolution JPEG 4:2:0: the code image is H/2 x W/2", "jpeg", "420", "jpeg"
)
LOWRES_2X_444 = _lowres_app(
    "lowres-2x-444",
    "2x resolution over a half-resolution JPEG 4:4:4 (chroma at the code image's resolution)",
    "jpeg",
    "444",
    "jpeg444",
)
RGB_OVER_GRAY_HEIF = AppSpec(
    name="rgb-over-gray-heif",
    summary="evaluation only: rgb-over-gray over monochrome HEIF (x265 4:0:0), JPEG-trained models transferred",
    config=dataclasses.replace(_GRAY_CFG, codec="heif"),
    train_data=rgb_train_data,
    eval_data=kodak_eval_data,
    baselines={
        "gray-heif": gray_roundtrip("heif"),
        "gray-heif+colorize": model_roundtrip(COLORIZE_BASELINE_MODEL, "heif", "rgb-over-gray"),
    },
    anchor="gray-heif",
    anchor_reference=gray_reference,
    qualities=(10, 25, 40, 55, 70, 85),
    comparison_bpp=0.3,
    trainable=False,
    transfer_from="rgb-over-gray",
)
LOWRES_2X_HEIF = _lowres_app(
    "lowres-2x-heif",
    "evaluation only: lowres-2x over half-resolution HEIF (x265 4:2:0), JPEG-trained models transferred",
    "heif",
    "420",
    "heif",
    qualities=(10, 25, 40, 55, 70, 85),
    comparison_bpp=0.15,
    trainable=False,
    transfer_from="lowres-2x",
)
LOWRES_2X_444_HEIF = _lowres_app(
    "lowres-2x-444-heif",
    "evaluation only: lowres-2x-444 over half-resolution HEIF (x265 4:4:4), JPEG-trained models transferred",
    "heif",
    "444",
    "heif444",
    qualities=(10, 25, 40, 55, 70, 85),
    comparison_bpp=0.15,
    trainable=False,
    transfer_from="lowres-2x-444",
)

#: the apps of this module (collected by :mod:`neuralwrap.sandwich.apps.registry`)
APPS = (RGB_OVER_GRAY, LOWRES_2X, LOWRES_2X_444, RGB_OVER_GRAY_HEIF, LOWRES_2X_HEIF, LOWRES_2X_444_HEIF)
