"""A trained sandwich with the REAL codec: encode/decode (codec.py), the file tag (fileformat.py), the shipped zoo (zoo.py), transfer to other codecs (transfer.py), per-frame video (video.py). Never imports training."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "MIN_SIDE": "neuralwrap.sandwich.inference.codec",
    "MODEL_ID_RE": "neuralwrap.sandwich.inference.codec",
    "PRETRAINED_DIR": "neuralwrap.sandwich.inference.zoo",
    "SandwichCodec": "neuralwrap.sandwich.inference.codec",
    "SandwichTag": "neuralwrap.sandwich.inference.fileformat",
    "VIDEO_TAG_KEY": "neuralwrap.sandwich.inference.video",
    "VideoReport": "neuralwrap.sandwich.inference.video",
    "ZOO": "neuralwrap.sandwich.inference.zoo",
    "ZooEntry": "neuralwrap.sandwich.inference.zoo",
    "code_pix_fmt": "neuralwrap.sandwich.inference.video",
    "decode_file": "neuralwrap.sandwich.inference.codec",
    "decode_video": "neuralwrap.sandwich.inference.video",
    "encode_video": "neuralwrap.sandwich.inference.video",
    "iter_decode_video": "neuralwrap.sandwich.inference.video",
    "list_models": "neuralwrap.sandwich.inference.zoo",
    "load_any": "neuralwrap.sandwich.inference.codec",
    "load_model_file": "neuralwrap.sandwich.inference.codec",
    "load_pretrained": "neuralwrap.sandwich.inference.codec",
    "match_conditioning": "neuralwrap.sandwich.inference.transfer",
    "matched_video_quality": "neuralwrap.sandwich.inference.video",
    "metadata_settings": "neuralwrap.sandwich.inference.fileformat",
    "parse_tag": "neuralwrap.sandwich.inference.fileformat",
    "plain_psnr_curve": "neuralwrap.sandwich.inference.transfer",
    "read_tag": "neuralwrap.sandwich.inference.fileformat",
    "read_video_tag": "neuralwrap.sandwich.inference.video",
    "save_model_file": "neuralwrap.sandwich.inference.codec",
    "temporal_flicker": "neuralwrap.sandwich.inference.video",
    "video_cond_quality": "neuralwrap.sandwich.inference.video",
    "zoo_path": "neuralwrap.sandwich.inference.zoo",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
