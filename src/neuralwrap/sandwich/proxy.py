"""The codec proxy a sandwich trains through: decoded image and rate for a registered codec name."""

from __future__ import annotations

from torch import Tensor, nn

from neuralwrap.errors import UnsupportedOptionError
from neuralwrap.proxies._ste import clip_ste, round_ste
from neuralwrap.proxies.jpeg import jpeg_proxy
from neuralwrap.proxies.rate import JpegRate

__all__ = ["PROXY_CODECS", "CodecProxy"]

#: codecs with a differentiable proxy a sandwich can be trained through
PROXY_CODECS = ("jpeg",)


class CodecProxy(nn.Module):
    """``code (B,C,H,W) in [0,1], quality (B,) → (decoded, bits (B,), code8)``.

    ``code8`` is the code image as the real encoder would receive it (clipped, rounded to 8 bits,
    straight-through gradients); ``bits`` the rate model's estimate of the real file size.
    """

    def __init__(self, codec: str, subsampling: str) -> None:
        super().__init__()
        if codec not in PROXY_CODECS:
            raise UnsupportedOptionError(f"no differentiable proxy for codec {codec!r}; trainable codecs: {PROXY_CODECS}")
        self.codec, self.subsampling = codec, subsampling
        self.rate = JpegRate(subsampling)

    def forward(self, code: Tensor, quality: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        code8 = round_ste(clip_ste(code, 0.0, 1.0) * 255.0) / 255.0
        out = jpeg_proxy(code8, quality, self.subsampling)
        return out.image, self.rate(out), code8
