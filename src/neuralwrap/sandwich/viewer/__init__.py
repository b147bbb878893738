"""``sandwich viewer``: a static web site that decodes sandwich JPEGs in the browser (site.py; serve.py serves one on 127.0.0.1), and the files it
is made of (``static/``: the page, the JavaScript decoder copied from ``web/src`` and onnxruntime-web). Names
load lazily: importing the package loads neither torch nor the exporter."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "STATIC_DIR": "neuralwrap.sandwich.viewer.site",
    "serve_site": "neuralwrap.sandwich.viewer.serve",
    "viewer_models": "neuralwrap.sandwich.viewer.site",
    "write_site": "neuralwrap.sandwich.viewer.site",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
