"""The ``sandwich`` command line: parsing in main.py (light: no torch), the commands in commands.py, files.py
(encode/decode) and video.py, each loaded only when its command runs."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {"entry": "neuralwrap.sandwich.cli.main", "main": "neuralwrap.sandwich.cli.main"}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
