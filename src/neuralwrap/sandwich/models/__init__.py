"""Networks of a sandwich: pre/post processors and the Sandwich (image.py), the differentiable codec proxy with its rate correction (proxy.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "CARRIERS": "neuralwrap.sandwich.models.image",
    "CodecProxy": "neuralwrap.sandwich.models.proxy",
    "LUMA_WEIGHTS": "neuralwrap.sandwich.models.image",
    "PROXIES": "neuralwrap.sandwich.models.proxy",
    "PROXY_CODECS": "neuralwrap.sandwich.models.proxy",
    "Processor": "neuralwrap.sandwich.models.image",
    "Sandwich": "neuralwrap.sandwich.models.image",
    "SandwichOutput": "neuralwrap.sandwich.models.image",
    "carrier_maps": "neuralwrap.sandwich.models.image",
    "fixed_preprocess": "neuralwrap.sandwich.models.image",
    "load_processors": "neuralwrap.sandwich.models.image",
    "quality_map": "neuralwrap.sandwich.models.image",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
