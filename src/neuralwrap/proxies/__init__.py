"""Differentiable stand-ins for real codecs: distortion (decoded image) and rate (bits).

* :func:`jpeg_proxy` / :class:`JpegProxy`: libjpeg-turbo baseline JPEG (4:2:0, 4:4:4, 4:0:0), straight-through
  rounding; :func:`jpeg_rate` / :class:`JpegRate`: Huffman-aware rate model fitted to real files.
* :func:`intra_proxy` / :class:`IntraProxy`: uniform-step DCT proxy of HEVC/AV1 intra coding (heif, avif)
  with a quality -> step table and a rate model fitted to the real codec.
* Building blocks: colour conversion and chroma resampling (:mod:`.color`), blockwise DCT (:mod:`.dct`).

Example::

    out = jpeg_proxy(x, quality=50)              # x: (B,3,H,W) float in [0,1]
    loss = mse(out.image, x) + lam * jpeg_rate(out).mean() / out.num_pixels
"""

from neuralwrap.proxies.color import (
    RgbToYCbCr,
    YCbCrToRgb,
    chroma_downsample,
    chroma_upsample,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from neuralwrap.proxies.dct import BlockDCT, BlockIDCT, block_dct, block_idct, dct_matrix
from neuralwrap.proxies.intra import IntraProxy, IntraProxyOutput, intra_proxy, intra_rate, intra_step
from neuralwrap.proxies.jpeg import (
    IJG_CHROMA_TABLE,
    IJG_LUMA_TABLE,
    JpegProxy,
    JpegProxyOutput,
    jpeg_proxy,
    quality_scaled_table,
    quant_tables,
)
from neuralwrap.proxies.rate import (
    JpegRate,
    RateParams,
    fit_rate_model,
    jpeg_rate,
    load_rate_params,
    naive_rate,
    rate_features,
    refit_scale,
)
from neuralwrap.proxies.video import (
    VideoProxy,
    VideoProxyOutput,
    crf_to_qp,
    estimate_flow,
    load_video_params,
    video_proxy,
    video_step,
)

__all__ = [
    "BlockDCT",
    "BlockIDCT",
    "IJG_CHROMA_TABLE",
    "IJG_LUMA_TABLE",
    "IntraProxy",
    "IntraProxyOutput",
    "JpegProxy",
    "JpegProxyOutput",
    "JpegRate",
    "RateParams",
    "RgbToYCbCr",
    "VideoProxy",
    "VideoProxyOutput",
    "YCbCrToRgb",
    "block_dct",
    "block_idct",
    "chroma_downsample",
    "chroma_upsample",
    "crf_to_qp",
    "dct_matrix",
    "estimate_flow",
    "fit_rate_model",
    "intra_proxy",
    "intra_rate",
    "intra_step",
    "jpeg_proxy",
    "jpeg_rate",
    "load_rate_params",
    "load_video_params",
    "naive_rate",
    "quality_scaled_table",
    "quant_tables",
    "rate_features",
    "refit_scale",
    "rgb_to_ycbcr",
    "video_proxy",
    "video_step",
    "ycbcr_to_rgb",
]
