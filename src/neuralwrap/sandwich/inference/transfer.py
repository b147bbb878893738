"""Running a model trained on one codec over another (e.g. the JPEG-trained model over HEIF or WebP).

The networks are conditioned on the JPEG quality they were trained at. Over another codec they are told
the JPEG quality whose plain-codec distortion on TRAINING photos matches the other codec's at its quality
(distortion-matched conditioning): the post-processor then expects about as much damage as there is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neuralwrap.codecs import get_codec
from neuralwrap.metrics.psnr import psnr

__all__ = ["plain_psnr_curve", "match_conditioning"]


def plain_psnr_curve(
    codec: str, crops: Sequence[np.ndarray], qualities: Sequence[int], settings: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Mean PSNR (dB) of the plain codec over ``crops`` (``HxWx3`` uint8) at each quality."""
    c = get_codec(codec)
    out = []
    for q in qualities:
        out.append(np.mean([psnr(im, c.decode(c.encode(im, quality=int(q), **dict(settings or {})))) for im in crops]))
    return np.asarray(out)


def match_conditioning(
    codec: str,
    qualities: Sequence[int],
    crops: Sequence[np.ndarray],
    jpeg_settings: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    jpeg_range: tuple[int, int] = (5, 95),
) -> dict[int, int]:
    """``{codec quality: JPEG quality with the same plain PSNR on crops}``, clipped to ``jpeg_range``."""
    jq = np.arange(jpeg_range[0], jpeg_range[1] + 1, 5)
    jp = plain_psnr_curve("jpeg", crops, jq.tolist(), jpeg_settings)
    target = plain_psnr_curve(codec, crops, qualities, settings)
    order = np.argsort(jp)
    matched = np.interp(target, jp[order], jq[order])
    return {int(q): int(round(float(m))) for q, m in zip(qualities, matched)}
