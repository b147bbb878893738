"""Training a sandwich through the proxy: image (image.py), video through the x265 proxy (video.py), real-codec calibration (calibration.py), training photos and clips (data.py, video_data.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "ClipDataset": "neuralwrap.sandwich.training.video_data",
    "CropDataset": "neuralwrap.sandwich.training.data",
    "IMAGE_SUFFIXES": "neuralwrap.sandwich.training.data",
    "RDSlope": "neuralwrap.sandwich.training.calibration",
    "RateRefitHook": "neuralwrap.sandwich.training.image",
    "SandwichObjective": "neuralwrap.sandwich.training.image",
    "VIDEO_TRAIN_PIX_FMTS": "neuralwrap.sandwich.training.video",
    "VideoSandwich": "neuralwrap.sandwich.training.video",
    "VideoSandwichObjective": "neuralwrap.sandwich.training.video",
    "app_crops": "neuralwrap.sandwich.training.image",
    "downscale_flow": "neuralwrap.sandwich.training.video",
    "export_video_model": "neuralwrap.sandwich.training.video",
    "fit_rd_slope": "neuralwrap.sandwich.training.calibration",
    "fit_video_rd_slope": "neuralwrap.sandwich.training.video",
    "fixed_clips": "neuralwrap.sandwich.training.video_data",
    "fixed_training_crops": "neuralwrap.sandwich.training.data",
    "gray_clip": "neuralwrap.sandwich.training.video_data",
    "list_images": "neuralwrap.sandwich.training.data",
    "load_photos": "neuralwrap.sandwich.training.data",
    "make_clip": "neuralwrap.sandwich.training.video_data",
    "real_bits": "neuralwrap.sandwich.training.calibration",
    "refit_rate_correction": "neuralwrap.sandwich.training.calibration",
    "VALIDATION_FOLDERS": "neuralwrap.sandwich.training.split",
    "is_validation": "neuralwrap.sandwich.training.split",
    "validation_files": "neuralwrap.sandwich.training.split",
    "train_sandwich": "neuralwrap.sandwich.training.image",
    "train_video_sandwich": "neuralwrap.sandwich.training.video",
    "video_sandwich_config": "neuralwrap.sandwich.training.video",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
