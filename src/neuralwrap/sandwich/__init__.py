"""Sandwiched compression: a pre-processor before a standard codec and a post-processor after it.

::

    x ──► pre ──► code image ──► standard codec (JPEG, …) ──► decoded ──► post ──► x̂

Trained jointly through a differentiable codec proxy on D + λ·R; used with the real codec, so the
bitstream stays standard. Main entry points: :func:`load_pretrained` (``.encode`` / ``.decode``),
:func:`train_sandwich`, :func:`evaluate`; applications (colour over gray, 2× resolution, HDR, perceptual,
more channels) via :func:`get_app`; video via :func:`encode_video` / :func:`decode_video`.

Folders: ``models/`` (networks and the codec proxy), ``inference/`` (real-codec encode/decode, file tag, zoo,
video), ``training/``, ``apps/`` (the application registry), ``evaluation/``, ``cli/``. Names below load lazily.
"""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "AppSpec": "neuralwrap.sandwich.apps.registry",
    "get_app": "neuralwrap.sandwich.apps.registry",
    "list_apps": "neuralwrap.sandwich.apps.registry",
    "register_app": "neuralwrap.sandwich.apps.registry",
    "SandwichCodec": "neuralwrap.sandwich.inference.codec",
    "decode_file": "neuralwrap.sandwich.inference.codec",
    "load_model_file": "neuralwrap.sandwich.inference.codec",
    "load_pretrained": "neuralwrap.sandwich.inference.codec",
    "save_model_file": "neuralwrap.sandwich.inference.codec",
    "ProcessorConfig": "neuralwrap.sandwich.config",
    "SandwichConfig": "neuralwrap.sandwich.config",
    "EvalSpec": "neuralwrap.sandwich.evaluation.image",
    "evaluate": "neuralwrap.sandwich.evaluation.image",
    "evaluate_app": "neuralwrap.sandwich.evaluation.image",
    "Processor": "neuralwrap.sandwich.models.image",
    "Sandwich": "neuralwrap.sandwich.models.image",
    "SandwichTrainConfig": "neuralwrap.sandwich.config",
    "train_sandwich": "neuralwrap.sandwich.training.image",
    "decode_video": "neuralwrap.sandwich.inference.video",
    "encode_video": "neuralwrap.sandwich.inference.video",
    "list_models": "neuralwrap.sandwich.inference.zoo",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
