"""Procedural test scenes with ground truth (used by tests and benchmarks, never shipped data)."""

from neuralwrap.synthetic.landmark import (
    Appearance,
    SyntheticLandmark,
    SyntheticView,
    look_at,
    make_landmark,
    write_landmark,
)
from neuralwrap.synthetic.multichannel import (
    MC_CHANNELS,
    MultiChannelCrops,
    make_multichannel,
    render_gbuffer_view,
)

__all__ = [
    "MC_CHANNELS",
    "Appearance",
    "MultiChannelCrops",
    "SyntheticLandmark",
    "SyntheticView",
    "look_at",
    "make_landmark",
    "make_multichannel",
    "render_gbuffer_view",
    "write_landmark",
]
