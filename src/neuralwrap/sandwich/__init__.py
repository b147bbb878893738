"""Sandwiched compression: a pre-processor before a standard codec and a post-processor after it.

::

    x ──► pre ──► code image ──► standard codec (JPEG, …) ──► decoded ──► post ──► x̂

Trained jointly through a differentiable codec proxy on D + λ·R; used with the real codec, so the
bitstream stays standard. Main entry points: :func:`load_pretrained` (``.encode`` / ``.decode``),
:func:`train_sandwich`, :func:`evaluate`; applications (colour over gray, 2× resolution, HDR, perceptual,
more channels) via :func:`get_app`; video via :func:`encode_video` / :func:`decode_video`.
"""

from neuralwrap.sandwich.apps import AppSpec, get_app, list_apps, register_app
from neuralwrap.sandwich.codec import (
    SandwichCodec,
    decode_file,
    load_model_file,
    load_pretrained,
    save_model_file,
)
from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig
from neuralwrap.sandwich.evaluate import EvalSpec, evaluate, evaluate_app
from neuralwrap.sandwich.models import Processor, Sandwich
from neuralwrap.sandwich.training import SandwichTrainConfig, train_sandwich
from neuralwrap.sandwich.video import decode_video, encode_video
from neuralwrap.sandwich.zoo import list_models

__all__ = [
    "AppSpec",
    "EvalSpec",
    "Processor",
    "ProcessorConfig",
    "Sandwich",
    "SandwichCodec",
    "SandwichConfig",
    "SandwichTrainConfig",
    "decode_file",
    "decode_video",
    "encode_video",
    "evaluate",
    "evaluate_app",
    "get_app",
    "list_apps",
    "list_models",
    "load_model_file",
    "load_pretrained",
    "register_app",
    "save_model_file",
    "train_sandwich",
]
