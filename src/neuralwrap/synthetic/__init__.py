"""Procedural test scenes with ground truth (used by tests and benchmarks, never shipped data)."""

from neuralwrap.synthetic.landmark import (
    Appearance,
    SyntheticLandmark,
    SyntheticView,
    look_at,
    make_landmark,
    write_landmark,
)

__all__ = ["Appearance", "SyntheticLandmark", "SyntheticView", "look_at", "make_landmark", "write_landmark"]
