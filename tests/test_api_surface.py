"""Public API guard: every subpackage's ``__all__`` resolves, and the set of public names matches the
snapshot in ``tests/expected/api.json`` (regenerate deliberately with ``NEURALWRAP_UPDATE_API=1``)."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

PACKAGES = [
    "neuralwrap",
    "neuralwrap.io",
    "neuralwrap.metrics",
    "neuralwrap.codecs",
    "neuralwrap.rd",
    "neuralwrap.proxies",
    "neuralwrap.synthetic",
    "neuralwrap.nn",
    "neuralwrap.train",
    "neuralwrap.sandwich",
    "neuralwrap.sandwich.models",
    "neuralwrap.sandwich.inference",
    "neuralwrap.sandwich.training",
    "neuralwrap.sandwich.apps",
    "neuralwrap.sandwich.evaluation",
    "neuralwrap.sandwich.batch",
    "neuralwrap.sandwich.onnx",
    "neuralwrap.sandwich.cli",
    "neuralwrap.rerender",
    "neuralwrap.rerender.capture",
    "neuralwrap.rerender.scene",
    "neuralwrap.rerender.models",
    "neuralwrap.rerender.render",
]
SNAPSHOT = Path(__file__).with_name("expected") / "api.json"


def _surface() -> dict[str, list[str]]:
    return {name: sorted(importlib.import_module(name).__all__) for name in PACKAGES}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_resolve(name: str) -> None:
    mod = importlib.import_module(name)
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ lists missing names {missing}"


def test_public_api_matches_snapshot() -> None:
    current = _surface()
    if os.environ.get("NEURALWRAP_UPDATE_API") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    for name in PACKAGES:
        assert current[name] == expected.get(name), f"public API of {name} changed; update tests/expected/api.json"
