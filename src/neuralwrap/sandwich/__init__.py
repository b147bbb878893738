"""Sandwiched compression: a pre-processor before a standard codec and a post-processor after it.

::

    x ──► pre ──► code image ──► standard codec (JPEG, …) ──► decoded ──► post ──► x̂

Trained jointly through a differentiable codec proxy on D + λ·R; used with the real codec, so the
bitstream stays standard. Main entry points: :func:`load_pretrained` (``.encode`` / ``.decode``),
:func:`train_sandwich`, :func:`evaluate`.
"""

from neuralwrap.sandwich.codec import SandwichCodec, decode_file, load_model_file, load_pretrained, save_model_file
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig
from neuralwrap.sandwich.evaluate import EvalSpec, evaluate
from neuralwrap.sandwich.models import Processor, Sandwich
from neuralwrap.sandwich.training import SandwichTrainConfig, train_sandwich
from neuralwrap.sandwich.zoo import list_models

__all__ = [
    "EvalSpec",
    "Processor",
    "ProcessorConfig",
    "Sandwich",
    "SandwichCodec",
    "SandwichConfig",
    "SandwichTrainConfig",
    "decode_file",
    "evaluate",
    "list_models",
    "load_model_file",
    "load_pretrained",
    "save_model_file",
    "train_sandwich",
]
