"""The codec proxy a sandwich trains through: decoded image and rate for a registered codec name."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from neuralwrap.errors import UnsupportedOptionError
from neuralwrap.proxies._ste import clip_ste, round_ste
from neuralwrap.proxies.intra import intra_proxy, intra_rate
from neuralwrap.proxies.jpeg import jpeg_proxy
from neuralwrap.proxies.rate import JpegRate
from neuralwrap.proxies.video import video_proxy
from neuralwrap.sandwich.config import quality_to_qp

__all__ = ["PROXIES", "PROXY_CODECS", "CodecProxy"]

_HEVC_PIX_FMT = {"444": "yuv444p", "420": "yuv420p", "400": "gray"}
#: ``forward(proxy, code8, quality) -> (decoded, bits (B,))`` of one codec family
ProxyForward = Callable[["CodecProxy", Tensor, Tensor], tuple[Tensor, Tensor]]


def _jpeg(proxy: CodecProxy, code8: Tensor, quality: Tensor) -> tuple[Tensor, Tensor]:
    """The libjpeg-turbo proxy with the rate model fitted to real JPEG bytes."""
    out = jpeg_proxy(code8, quality, proxy.subsampling)
    return out.image, proxy.rate(out)


def _hevc(proxy: CodecProxy, code8: Tensor, quality: Tensor) -> tuple[Tensor, Tensor]:
    """Each image through the x265 proxy as a one-frame clip at ``QP = quality_to_qp(quality)``."""
    frames, bits = [], []
    for i in range(code8.shape[0]):
        out = video_proxy(code8[i : i + 1], quality_to_qp(float(quality[i])), pix_fmt=_HEVC_PIX_FMT[proxy.subsampling])
        frames.append(out.frames)
        bits.append(out.bits.sum())
    return torch.cat(frames), torch.stack(bits)


def _intra(proxy: CodecProxy, code8: Tensor, quality: Tensor) -> tuple[Tensor, Tensor]:
    """The intra-frame DCT proxy with the rate fitted to real HEIF / AVIF bytes (:mod:`neuralwrap.proxies.intra`)."""
    out = intra_proxy(code8, quality, codec=proxy.codec, subsampling=proxy.subsampling)
    return out.image, intra_rate(out, proxy.codec)


#: codec name → its differentiable proxy: the one table a config's ``codec`` is looked up in ("hevc": the x265
#: video proxy, each image one intra frame; video sandwiches train on clips in :mod:`neuralwrap.sandwich.training.video`)
PROXIES: dict[str, ProxyForward] = {"jpeg": _jpeg, "hevc": _hevc, "heif": _intra, "avif": _intra}
#: codecs a sandwich can be trained through
PROXY_CODECS = tuple(PROXIES)


class CodecProxy(nn.Module):
    """``code (B,C,H,W) in [0,1], quality (B,) → (decoded, bits (B,), code8)``.

    ``code8`` is the code image as the real encoder would receive it (clipped, rounded to 8 bits,
    straight-through gradients); ``bits`` the rate model's estimate of the real file size. The codec's proxy
    comes from :data:`PROXIES`.
    """

    def __init__(self, codec: str, subsampling: str) -> None:
        super().__init__()
        if codec not in PROXIES:
            raise UnsupportedOptionError(
                f"no differentiable proxy for codec {codec!r}; trainable codecs: {PROXY_CODECS}"
            )
        self.codec, self.subsampling = codec, subsampling
        # only the JPEG rate model has state; the video and intra proxies' parameters ship as JSON
        self.rate = JpegRate(subsampling) if codec == "jpeg" else None

    def forward(self, code: Tensor, quality: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        code8 = round_ste(clip_ste(code, 0.0, 1.0) * 255.0) / 255.0
        return (*PROXIES[self.codec](self, code8, quality), code8)
