"""Typed exceptions shared by every subpackage.

Library code raises these (never prints or exits); the CLI layer turns them into one-line messages.
"""

from __future__ import annotations

__all__ = ["NeuralwrapError", "InputError", "CodecError", "UnsupportedOptionError", "CheckpointError"]


class NeuralwrapError(Exception):
    """Base class of every error neuralwrap raises on purpose."""


class InputError(NeuralwrapError, ValueError):
    """Bad user input: wrong shape, dtype or range, unreadable or missing file."""


class CodecError(NeuralwrapError):
    """A codec failed: corrupt or truncated bitstream, or the underlying library refused the data."""


class UnsupportedOptionError(NeuralwrapError, ValueError):
    """A codec was asked for a setting or input it does not support (message names codec and option)."""


class CheckpointError(NeuralwrapError):
    """A checkpoint is missing, corrupt, or from an incompatible format version or architecture."""
