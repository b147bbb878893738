"""neuralwrap: neural networks wrapped around classical, non-differentiable imaging pipelines.

Subpackages (data flows left to right, nothing imports upward)::

    io, metrics ─► codecs ─► proxies ─► nn ─► train ─► sandwich
                                          └──────────► rerender
"""

from neuralwrap.errors import (
    CheckpointError,
    CodecError,
    InputError,
    NeuralwrapError,
    UnsupportedOptionError,
)

__version__ = "0.1.0"

__all__ = ["CheckpointError", "CodecError", "InputError", "NeuralwrapError", "UnsupportedOptionError", "__version__"]
