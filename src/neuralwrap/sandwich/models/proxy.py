"""The codec proxy a sandwich trains through: decoded image and rate for a registered codec name."""

from __future__ import annotations

from torch import Tensor, nn

from neuralwrap.errors import UnsupportedOptionError
from neuralwrap.proxies._ste import clip_ste, round_ste
from neuralwrap.proxies.jpeg import jpeg_proxy
from neuralwrap.proxies.rate import JpegRate

__all__ = ["PROXY_CODECS", "CodecProxy"]

#: codecs with a differentiable proxy a sandwich can be trained through ("hevc": the x265 video proxy, each
#: image coded as one intra frame; video sandwiches train on clips in :mod:`neuralwrap.sandwich.training.video`)
PROXY_CODECS = ("jpeg", "hevc")
_HEVC_PIX_FMT = {"444": "yuv444p", "420": "yuv420p", "400": "gray"}


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
        # the video proxy has no state: its parameters ship in proxies/video_params.json
        self.rate = JpegRate(subsampling) if codec == "jpeg" else None

    def forward(self, code: Tensor, quality: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        code8 = round_ste(clip_ste(code, 0.0, 1.0) * 255.0) / 255.0
        if self.rate is None:
            return (*self._hevc(code8, quality), code8)
        out = jpeg_proxy(code8, quality, self.subsampling)
        return out.image, self.rate(out), code8

    def _hevc(self, code8: Tensor, quality: Tensor) -> tuple[Tensor, Tensor]:
        """Each image through the x265 proxy as a one-frame clip at ``QP = quality_to_qp(quality)``."""
        import torch

        from neuralwrap.proxies.video import video_proxy
        from neuralwrap.sandwich.training.video import quality_to_qp

        frames, bits = [], []
        for i in range(code8.shape[0]):
            out = video_proxy(code8[i:i + 1], quality_to_qp(float(quality[i])), pix_fmt=_HEVC_PIX_FMT[self.subsampling])
            frames.append(out.frames)
            bits.append(out.bits.sum())
        return torch.cat(frames), torch.stack(bits)
