"""Throughput of pre + codec + post against the plain codec (``sandwich bench``)."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.sandwich.inference.codec import SandwichCodec

__all__ = ["bench", "bench_image"]


def bench_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A deterministic natural-looking test image (smooth gradients + texture), ``HxWx3`` uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(6 * xx + 1), np.cos(5 * yy), np.sin(4 * (xx + yy))], -1) * 0.3 + 0.5
    return np.clip((base + 0.05 * rng.standard_normal((h, w, 3))) * 255, 0, 255).astype(np.uint8)


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up
    best, out = float("inf"), None
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench(
    sc: SandwichCodec, size: tuple[int, int], quality: int = 50, repeat: int = 5, image: np.ndarray | None = None
) -> dict[str, Any]:
    """Best-of-``repeat`` seconds and MP/s for each stage on an ``size=(H, W)`` image."""
    h, w = size
    img = image if image is not None else bench_image(h, w)
    codec = get_codec(sc.config.codec)
    settings = {"subsampling": sc.config.subsampling} if sc.config.codec == "jpeg" else {}
    t_enc, plain = _best(lambda: codec.encode(img, quality=quality, **settings), repeat)
    t_dec, _ = _best(lambda: codec.decode(plain), repeat)
    t_pre, code = _best(lambda: sc.code_image(img, quality), repeat)
    data = sc.encode(img, quality)
    decoded = codec.decode(data)
    t_post, _ = _best(lambda: sc.postprocess(decoded, quality), repeat)
    t_senc, _ = _best(lambda: sc.encode(img, quality), repeat)
    t_sdec, _ = _best(lambda: sc.decode(data), repeat)
    mp = h * w / 1e6
    stages = {
        "plain_encode": t_enc,
        "plain_decode": t_dec,
        "pre": t_pre,
        "post": t_post,
        "sandwich_encode": t_senc,
        "sandwich_decode": t_sdec,
    }
    return {
        "model": sc.name,
        "size": f"{w}x{h}",
        "quality": quality,
        "device": str(sc.device),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "seconds": stages,
        "mp_per_s": {k: mp / v for k, v in stages.items()},
    }
