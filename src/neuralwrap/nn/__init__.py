"""Neural-network building blocks shared by sandwich and rerender (U-Net, pointwise MLP, norms)."""

from neuralwrap.nn.mlp import PointwiseMLP, Sine, make_activation
from neuralwrap.nn.norms import PixelNorm, make_norm, pixel_norm
from neuralwrap.nn.residual import ScaledResidual
from neuralwrap.nn.stats import count_parameters, macs_per_pixel
from neuralwrap.nn.unet import UNET_PRESETS, ConvBlock, UNet, unet_preset

__all__ = [
    "ConvBlock",
    "PixelNorm",
    "PointwiseMLP",
    "ScaledResidual",
    "Sine",
    "UNET_PRESETS",
    "UNet",
    "count_parameters",
    "macs_per_pixel",
    "make_activation",
    "make_norm",
    "pixel_norm",
    "unet_preset",
]
