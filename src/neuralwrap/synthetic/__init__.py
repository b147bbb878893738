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
from neuralwrap.synthetic.wild import WildOptions, make_wild_landmark

__all__ = [
    "MC_CHANNELS",
    "Appearance",
    "MultiChannelCrops",
    "SyntheticLandmark",
    "SyntheticView",
    "WildOptions",
    "look_at",
    "make_landmark",
    "make_multichannel",
    "make_wild_landmark",
    "render_gbuffer_view",
    "write_landmark",
]
