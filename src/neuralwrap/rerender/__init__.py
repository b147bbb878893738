"""Neural rerendering in the wild: capture (SfM → deep framebuffers) → scene → models → training → render → evaluate.

Folders: ``capture/`` (photos → dataset), ``scene/`` (cameras, dataset, network inputs), ``models/`` (networks,
losses), ``render/`` (paths, appearance, frames); ``training.py``, ``checkpoint.py``, ``evaluate.py``, ``cli.py``.
Names below load lazily.
"""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "FORMAT_VERSION": "neuralwrap.rerender.scene.dataset",
    "Frame": "neuralwrap.rerender.scene.dataset",
    "PinholeCamera": "neuralwrap.rerender.scene.camera",
    "RerenderDataset": "neuralwrap.rerender.scene.dataset",
    "write_frame": "neuralwrap.rerender.scene.dataset",
    "write_index": "neuralwrap.rerender.scene.dataset",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
