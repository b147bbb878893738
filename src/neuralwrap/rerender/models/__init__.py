"""The rerendering networks (networks.py: generator, appearance encoder, PatchGAN) and their losses (losses.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "AppearanceEncoder": "neuralwrap.rerender.models.networks",
    "FilmUNet": "neuralwrap.rerender.models.networks",
    "MODEL_FORMAT_VERSION": "neuralwrap.rerender.models.networks",
    "MultiScaleDiscriminator": "neuralwrap.rerender.models.networks",
    "PatchDiscriminator": "neuralwrap.rerender.models.networks",
    "PerceptualLoss": "neuralwrap.rerender.models.losses",
    "RerenderConfig": "neuralwrap.rerender.models.networks",
    "Rerenderer": "neuralwrap.rerender.models.networks",
    "gram_features": "neuralwrap.rerender.models.losses",
    "gram_matrix": "neuralwrap.rerender.models.losses",
    "lsgan_d_loss": "neuralwrap.rerender.models.losses",
    "lsgan_g_loss": "neuralwrap.rerender.models.losses",
    "style_distances": "neuralwrap.rerender.models.losses",
    "triplet_loss": "neuralwrap.rerender.models.losses",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
