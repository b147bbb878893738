"""Measuring sandwiches with the REAL codec and real bytes: image RD sweeps (image.py), video (video.py), speed (bench.py), the demo (demo.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "EvalSpec": "neuralwrap.sandwich.evaluation.image",
    "PlainVideo": "neuralwrap.sandwich.evaluation.video",
    "SandwichVideo": "neuralwrap.sandwich.evaluation.video",
    "VideoEvalSpec": "neuralwrap.sandwich.evaluation.video",
    "app_transfer_conditioning": "neuralwrap.sandwich.evaluation.image",
    "bench": "neuralwrap.sandwich.evaluation.bench",
    "bench_image": "neuralwrap.sandwich.evaluation.bench",
    "demo_images_dir": "neuralwrap.sandwich.evaluation.demo",
    "evaluate": "neuralwrap.sandwich.evaluation.image",
    "evaluate_app": "neuralwrap.sandwich.evaluation.image",
    "evaluate_video": "neuralwrap.sandwich.evaluation.video",
    "model_complexity": "neuralwrap.sandwich.evaluation.image",
    "parse_anchor": "neuralwrap.sandwich.evaluation.video",
    "plot_comparison": "neuralwrap.sandwich.evaluation.image",
    "rate_honesty_by_quality": "neuralwrap.sandwich.evaluation.image",
    "run_demo": "neuralwrap.sandwich.evaluation.demo",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
