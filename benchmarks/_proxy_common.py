"""Helpers shared by the proxy benchmark/fit scripts: real-codec calls, image perturbations, metrics."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

__all__ = ["encode_decode", "unsharp_mask", "blur", "add_noise", "psnr", "list_images", "load_rgb"]

_SUBSAMPLING_PIL = {"420": 2, "444": 0}


def _registry_codec(name: str):  # the registry codec if codecs/image.py exists, else None
    try:
        from neuralwrap.codecs import get_codec

        return get_codec(name)
    except Exception:
        return None


def encode_decode(
    img: np.ndarray, codec: str, quality: int, subsampling: str, decode: bool = True
) -> tuple[bytes, np.ndarray | None]:
    """Real codec round trip of an ``HxWx3`` (or ``HxW`` gray for "400") uint8 image -> (bytes, decoded)."""
    c = _registry_codec(codec)
    if c is not None:
        kw = {"quality": int(quality), "subsampling": subsampling}
        if codec == "jpeg":
            kw["optimize"] = True
        data = c.encode(img if img.ndim == 3 else img[:, :, None], **kw)
        if not decode:
            return data, None
        dec = np.asarray(c.decode(data))
        if img.ndim == 2 and dec.ndim == 3:
            dec = dec[:, :, 0]
        return data, dec
    if codec != "jpeg":
        raise RuntimeError(f"codec {codec!r} needs neuralwrap.codecs.image")
    buf = io.BytesIO()
    pil = Image.fromarray(img)
    if img.ndim == 2:
        pil.save(buf, "JPEG", quality=int(quality), optimize=True)
    else:
        pil.save(buf, "JPEG", quality=int(quality), subsampling=_SUBSAMPLING_PIL[subsampling], optimize=True)
    data = buf.getvalue()
    if not decode:
        return data, None
    return data, np.asarray(Image.open(io.BytesIO(data)))


def unsharp_mask(img: np.ndarray, amount: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """Unsharp mask of a uint8 image: ``x + amount * (x - gauss(x, sigma))``, clipped, uint8."""
    x = img.astype(np.float32)
    s = (sigma, sigma, 0) if x.ndim == 3 else sigma
    y = x + amount * (x - gaussian_filter(x, s))
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a uint8 image (spatial axes only)."""
    s = (sigma, sigma, 0) if img.ndim == 3 else sigma
    return np.clip(np.rint(gaussian_filter(img.astype(np.float32), s)), 0, 255).astype(np.uint8)


def add_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise (std in 8-bit levels), clipped, uint8."""
    return np.clip(np.rint(img + rng.normal(0, std, img.shape)), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (peak 255, MSE over all pixels and channels)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def list_images(folder: Path) -> list[Path]:
    """Sorted PNG files under ``folder`` (recursive)."""
    return sorted(p for p in Path(folder).rglob("*.png"))


def load_rgb(path: Path) -> np.ndarray:
    """An image file as ``HxWx3`` uint8."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
