"""Every shipped image model writes byte-identical files for a fixed input: the SHA-256 of one encode per model is
pinned in ``tests/expected/encode_sha256.json`` (regenerate deliberately with ``NEURALWRAP_UPDATE_PINS=1`` after a
change that is meant to alter the bitstream, e.g. a retrained model). Guards refactors that must keep behaviour."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from neuralwrap.sandwich import load_pretrained
from neuralwrap.sandwich.inference.zoo import list_models

PINS = Path(__file__).with_name("expected") / "encode_sha256.json"


def _image() -> np.ndarray:
    """A fixed 64×48 RGB test image: gradients, a sharp edge and seeded texture."""
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    rng = np.random.default_rng(2026)
    img = np.stack([x * 3.5, y * 4.5, 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)], axis=2)
    img[:, 32:] += 40.0
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def _image_models() -> list[str]:
    out = []
    for name in sorted(list_models()):
        cfg = load_pretrained(name).config
        if cfg.codec != "hevc" and cfg.code_channels in (1, 3):
            out.append(name)
    return out


def test_shipped_encodes_are_byte_identical() -> None:
    digests = {}
    for name in _image_models():
        sc = load_pretrained(name)
        lo, hi = sc.config.quality_range
        digests[name] = hashlib.sha256(sc.encode(_image(), (lo + hi) // 2)).hexdigest()
    if os.environ.get("NEURALWRAP_UPDATE_PINS") == "1":
        PINS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    expected = json.loads(PINS.read_text())
    changed = sorted(k for k in set(digests) | set(expected) if digests.get(k) != expected.get(k))
    if changed:
        pytest.fail(f"encodes changed for {changed}; if intended, regenerate with NEURALWRAP_UPDATE_PINS=1")
