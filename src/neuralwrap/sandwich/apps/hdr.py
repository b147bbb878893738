"""The ``hdr`` application: 16-bit / float HDR images through an 8-bit JPEG.

::

    linear HDR ─► display map (max → 4000 cd/m²) ─► PU21 / PU21(4000) = rep ∈ [0,1]   (float, > 8 bits)
    rep ─► pre ─► 8-bit code ─► JPEG 4:2:0 (real) ─► post ─► rep̂ ─► PU21⁻¹ ─► cd/m²

The source representation and the training data are described in :mod:`neuralwrap.sandwich.apps.hdr_data`;
the metrics (PU21-PSNR, HDR-FLIP) in :mod:`neuralwrap.metrics.hdr`. Training minimises the MSE on ``rep``,
which is PU-MSE up to the constant ``(255 / PU(4000))²``.

Codec setting: JPEG 4:2:0 with optimised Huffman tables, the configuration every consumer decoder meets and
the one the plain-codec work here is measured on; its chroma loss is what both the sandwich and the baselines
live with (the same holds for the 10-bit HEIF anchor, 4:2:0 too).

Baselines (each ``roundtrip(rep, q) -> (real bytes, rep̂)``):

* ``pu8-jpeg`` (anchor, defines λ(q)): the representation quantised to 8 bits → JPEG → back (the issue's
  "tone-map/quantise to 8 bit + codec + inverse" with the PU21 curve as tone curve);
* ``gamma8-jpeg``: a simple global tone curve instead: ``(L / 4000)^(1/2.2)`` quantised to 8 bits → JPEG →
  inverse curve → rep;
* ``pu10-heif``: the representation quantised to 16 bits → HEIF (x265) 10-bit 4:2:0 → back (a codec with
  more bits; the second anchor).

Extra metrics (on absolute light decoded from rep): ``pu_psnr`` (dB, peak 256, PU21 ``banding_glare``) and
``hdr_flip`` (mean HDR-FLIP, lower is better).
"""

from __future__ import annotations

import numpy as np

from neuralwrap.codecs import get_codec
from neuralwrap.metrics.hdr import L_PEAK, hdr_flip, pu21_encode, pu_psnr
from neuralwrap.sandwich.apps.hdr_data import (
    PU_PEAK,
    hdr_eval_data,
    hdr_train_data,
    rep_to_luminance,
)
from neuralwrap.sandwich.apps.registry import AppRoundtrip, AppSpec
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig

__all__ = [
    "GAMMA",
    "HDR_APP",
    "HDR_CONFIG",
    "gamma8_roundtrip",
    "pu8_roundtrip",
    "pu10_heif_roundtrip",
    "rep_hdr_flip",
    "rep_pu_psnr",
]

#: the slim processor (the paper's): U-Net [32] / [32, 32] + 16-wide sine MLP, for pre and post
_SLIM = ProcessorConfig(unet_enc=(32,), unet_dec=(32, 32))
#: the app's sandwich: 3-channel rep → 3-channel 8-bit code → JPEG 4:2:0 → 3-channel rep
HDR_CONFIG = SandwichConfig(codec="jpeg", subsampling="420", pre=_SLIM, post=_SLIM, quality_range=(5, 95))
#: exponent of the ``gamma8-jpeg`` tone curve
GAMMA = 2.2

_JPEG = {"subsampling": "420", "optimize": True}


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x, np.float32) * 255.0), 0, 255).astype(np.uint8)


def pu8_roundtrip(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
    """Anchor: rep ``HxWx3`` float [0,1] → 8 bits → JPEG 4:2:0 → float rep."""
    c = get_codec("jpeg")
    data = c.encode(_u8(image), quality=int(quality), **_JPEG)
    return data, c.decode(data).astype(np.float32) / 255.0


def gamma8_roundtrip(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
    """Simple global tone curve: rep → cd/m² → ``(L/4000)^(1/2.2)`` → 8 bits → JPEG → inverse → rep."""
    c = get_codec("jpeg")
    lum = np.asarray(rep_to_luminance(np.asarray(image, np.float32)), np.float64)
    tone = np.clip(lum / L_PEAK, 0.0, 1.0) ** (1.0 / GAMMA)
    data = c.encode(_u8(tone), quality=int(quality), **_JPEG)
    back = (c.decode(data).astype(np.float64) / 255.0) ** GAMMA * L_PEAK
    return data, np.clip(pu21_encode(back) / PU_PEAK, 0.0, 1.0).astype(np.float32)


def pu10_heif_roundtrip(image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
    """Second anchor: rep → 16 bits → HEIF 10-bit 4:2:0 (x265) → float rep."""
    c = get_codec("heif")
    img16 = np.clip(np.rint(np.asarray(image, np.float32) * 65535.0), 0, 65535).astype(np.uint16)
    data = c.encode(img16, quality=int(quality), subsampling="420")
    return data, c.decode(data).astype(np.float32) / 65535.0


def rep_pu_psnr(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    """PU21-PSNR (dB, peak 256) of two reps, on the absolute light they decode to."""
    return pu_psnr(rep_to_luminance(reference), rep_to_luminance(reconstruction))  # type: ignore[arg-type]


def rep_hdr_flip(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean HDR-FLIP of two reps, on the absolute light they decode to (lower = better)."""
    return hdr_flip(rep_to_luminance(reference), rep_to_luminance(reconstruction))  # type: ignore[arg-type]


_BASELINES: dict[str, AppRoundtrip] = {
    "pu8-jpeg": pu8_roundtrip,
    "gamma8-jpeg": gamma8_roundtrip,
    "pu10-heif": pu10_heif_roundtrip,
}

HDR_APP = AppSpec(
    name="hdr",
    summary="HDR (OpenEXR / Radiance, PU21-encoded, > 8 bits) through 8-bit JPEG 4:2:0; vs 8-bit PU + JPEG and 10-bit HEIF",
    config=HDR_CONFIG,
    train_data=hdr_train_data,
    eval_data=hdr_eval_data,
    distortion="mse",
    baselines=_BASELINES,
    metrics={"pu_psnr": rep_pu_psnr, "hdr_flip": rep_hdr_flip},
    anchor="pu8-jpeg",
    qualities=(10, 20, 35, 50, 70, 90),
    comparison_bpp=0.6,
    output_bits=0,
    codec_settings={"optimize": True},
)

#: the apps of this module (collected by :mod:`neuralwrap.sandwich.apps.registry`)
APPS = (HDR_APP,)
