"""HDR image metrics: the PU21 perceptually uniform encoding, PSNR in PU21 units, and HDR-FLIP.

**PU21** (Mantiuk & Azimi, "PU21: A novel perceptually uniform encoding for adapting existing quality metrics
for HDR", PCS 2021), ``banding_glare`` variant: absolute luminance ``L`` in cd/m², clamped to
``[0.005, 10000]``, maps to ``V = p7 · (((p1 + p2·L^p4) / (1 + p3·L^p4))^p5 − p6)`` (clamped at 0). About one unit
per just-noticeable step; ``PU(100 cd/m²) ≈ 256`` so the 0–100 cd/m² range of an SDR display spans roughly
what 8-bit sRGB spans. ``PU(4000) ≈ 527.5``, ``PU(10000) ≈ 595.4``. It is applied to each RGB channel, as the
reference ``pu21_metric.m`` does.

**Display mapping.** PU21 needs *absolute* light. HDR files hold relative (scene-referred) values, so
:func:`display_luminance` maps each image the way the PU21 authors' examples do: the image's largest value
(over all pixels and channels, negatives clipped to 0) goes to the peak of an HDR display,
``L_PEAK = 4000 cd/m²``; everything scales linearly with it. So a result depends on the image's dynamic range,
not on its arbitrary file units.

**PU-PSNR** (:func:`pu_psnr`): ``10·log10(256² / MSE)`` with the MSE of PU21 values over all pixels and channels,
the convention of the reference ``pu21_metric(…, 'PSNR')`` (peak 256 = PU of 100 cd/m², not PU(10000)).
Inputs are absolute linear RGB in cd/m² (e.g. outputs of :func:`display_luminance`).

**HDR-FLIP** (:func:`hdr_flip`): mean of NVIDIA's FLIP error map in its HDR mode (``flip_evaluator`` PyPI
package; ``0`` = identical, higher = worse). HDR-FLIP tone-maps both images at a range of exposures chosen
from the *reference* and takes the per-pixel maximum of LDR-FLIP, so it does not depend on the overall scale
of the inputs (linear RGB, negatives clipped to 0). Default viewing: 67 pixels per degree.

Example::

    >>> L_ref = display_luminance(read_hdr("Desk.exr"))        # cd/m², max = 4000
    >>> pu_psnr(L_ref, L_ref * 1.01)                             # ≈ 53 dB
    >>> hdr_flip(L_ref, L_ref * 1.01)                            # ≈ 0.01
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from neuralwrap.errors import InputError

__all__ = [
    "L_PEAK",
    "PU21_L_MAX",
    "PU21_L_MIN",
    "PU21_PARAMS",
    "PU_PSNR_PEAK",
    "PU21Decode",
    "PU21Encode",
    "display_luminance",
    "hdr_flip",
    "pu21_decode",
    "pu21_encode",
    "pu_psnr",
]

#: PU21 ``banding_glare`` parameters p1…p7 (Mantiuk & Azimi 2021)
PU21_PARAMS: tuple[float, ...] = (
    0.353487901,
    0.3734658629,
    8.277049286e-05,
    0.9062562627,
    0.09150303166,
    0.9099517204,
    596.3148142,
)
#: luminance range (cd/m²) PU21 is defined on; inputs are clamped to it
PU21_L_MIN, PU21_L_MAX = 0.005, 10000.0
#: peak luminance (cd/m²) of the assumed HDR display (see :func:`display_luminance`)
L_PEAK = 4000.0
#: PSNR peak in PU21 units (the reference ``pu21_metric.m`` convention)
PU_PSNR_PEAK = 256.0


def _as_tensor(x: Tensor | np.ndarray | float) -> tuple[Tensor, bool]:
    if isinstance(x, Tensor):
        if not x.is_floating_point():
            raise InputError(f"PU21 needs a float tensor, got {x.dtype}")
        return x, False
    if isinstance(x, (np.ndarray, np.generic, float, int)) and not isinstance(x, bool):
        return torch.from_numpy(np.asarray(x, dtype=np.float64)), True
    raise InputError(f"expected a torch tensor or numpy array, got {type(x).__name__}")


def _back(y: Tensor, was_numpy: bool, like: Tensor | np.ndarray | float) -> Tensor | np.ndarray:
    if not was_numpy:
        return y
    dtype = like.dtype if isinstance(like, (np.ndarray, np.generic)) and like.dtype.kind == "f" else np.float64
    return y.numpy().astype(dtype, copy=False)


def pu21_encode(luminance: Tensor | np.ndarray | float) -> Tensor | np.ndarray:
    """Absolute luminance (cd/m², any shape) → PU21 units (``banding_glare``), elementwise; differentiable.

    Values are clamped to ``[0.005, 10000]`` first (no gradient outside). A tensor in gives a tensor on the
    same device/dtype; a numpy array or number in gives a numpy array (float dtype kept, else float64).

    Example:
        >>> pu21_encode(torch.tensor([100.0, 4000.0]))
        tensor([256.3839, 527.4939])
    """
    x, was_np = _as_tensor(luminance)
    p1, p2, p3, p4, p5, p6, p7 = PU21_PARAMS
    lp = x.clamp(PU21_L_MIN, PU21_L_MAX).pow(p4)
    v = p7 * (((p1 + p2 * lp) / (1.0 + p3 * lp)).pow(p5) - p6)
    return _back(v.clamp_min(0.0), was_np, luminance)


def pu21_decode(pu: Tensor | np.ndarray | float) -> Tensor | np.ndarray:
    """PU21 units → absolute luminance (cd/m²), the inverse of :func:`pu21_encode` on its range; differentiable.

    Inputs are clamped to ``[0, PU(10000)]``, so the output lies in about ``[0.005, 10000]``.
    """
    v, was_np = _as_tensor(pu)
    p1, p2, p3, p4, p5, p6, p7 = PU21_PARAMS
    v = v.clamp(0.0, _PU_MAX)
    vp = (v / p7 + p6).clamp_min(0.0).pow(1.0 / p5)
    y = ((vp - p1).clamp_min(0.0) / (p2 - p3 * vp)).pow(1.0 / p4)
    return _back(y, was_np, pu)


_PU_MAX = float(pu21_encode(torch.tensor(PU21_L_MAX, dtype=torch.float64)))


class PU21Encode(nn.Module):
    """Module form of :func:`pu21_encode`: ``(…) cd/m² → (…) PU21 units``."""

    def forward(self, luminance: Tensor) -> Tensor:
        return pu21_encode(luminance)  # type: ignore[return-value]


class PU21Decode(nn.Module):
    """Module form of :func:`pu21_decode`: ``(…) PU21 units → (…) cd/m²``."""

    def forward(self, pu: Tensor) -> Tensor:
        return pu21_decode(pu)  # type: ignore[return-value]


def _check_hdr(image: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (1, 3) or image.size == 0:
        raise InputError(
            f"{name} must be an (H,W,3) or (H,W,1) numpy array, got {getattr(image, 'shape', type(image))}"
        )
    if image.dtype.kind != "f" or not np.all(np.isfinite(image)):
        raise InputError(f"{name} must be finite float linear values, got dtype {image.dtype}")
    return image


def display_luminance(linear: np.ndarray, peak: float = L_PEAK) -> np.ndarray:
    """Relative linear RGB ``(H,W,C)`` float → absolute display light in cd/m² (float32): negatives are clipped
    to 0, then the image's largest value maps to ``peak`` (default :data:`L_PEAK` = 4000 cd/m²)."""
    img = np.clip(_check_hdr(linear, "linear image"), 0.0, None)
    top = float(img.max())
    if not top > 0:
        raise InputError("display_luminance: the image is black (max <= 0)")
    return (img * (peak / top)).astype(np.float32)


def pu_psnr(reference: np.ndarray, test: np.ndarray, peak: float = PU_PSNR_PEAK) -> float:
    """PSNR in dB between two images of absolute linear RGB (cd/m², ``(H,W,C)`` float), computed on PU21 values
    with the MSE over all pixels and channels and ``peak`` 256 (``pu21_metric.m``); ``inf`` when identical."""
    ref, tst = _check_hdr(reference, "reference"), _check_hdr(test, "test")
    if ref.shape != tst.shape:
        raise InputError(f"shape mismatch: {ref.shape} vs {tst.shape}")
    err = float(np.mean((pu21_encode(ref.astype(np.float64)) - pu21_encode(tst.astype(np.float64))) ** 2))
    return math.inf if err == 0.0 else 10.0 * math.log10(peak * peak / err)


def hdr_flip(reference: np.ndarray, test: np.ndarray, *, ppd: float | None = None) -> float:
    """Mean HDR-FLIP error (``flip_evaluator``, HDR mode) of ``test`` against ``reference``, both linear RGB
    ``(H,W,3)`` float in the same units (any overall scale); 0 = identical. ``ppd``: pixels per degree
    (default: FLIP's 67)."""
    import flip_evaluator

    ref, tst = _check_hdr(reference, "reference"), _check_hdr(test, "test")
    if ref.shape != tst.shape or ref.shape[2] != 3:
        raise InputError(f"hdr_flip needs two (H,W,3) images of one shape, got {ref.shape} and {tst.shape}")
    a = np.ascontiguousarray(np.clip(ref, 0.0, None), dtype=np.float32)
    b = np.ascontiguousarray(np.clip(tst, 0.0, None), dtype=np.float32)
    params = {} if ppd is None else {"ppd": float(ppd)}
    _, mean, _ = flip_evaluator.evaluate(a, b, "HDR", applyMagma=False, parameters=params)
    return float(mean)
