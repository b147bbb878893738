"""``sandwich models [--all] [--json]``: the shipped models with their status and measured figures, read from the
model cards (:mod:`neuralwrap.sandwich.inference.cards`; no torch, nothing is measured here)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from neuralwrap.sandwich.inference.cards import CardSet, ModelCard, load_cards
from neuralwrap.sandwich.inference.zoo import ZooEntry, list_models

__all__ = ["cmd_models", "model_line", "models_table"]


def _set_text(label: str, s: CardSet | None) -> str:
    return f"{label} not measured yet" if s is None else f"{label} {s.figure()}"


def model_line(name: str, card: ModelCard | None) -> str:
    """One line: name, status, the validation-suite figure first, then the other sets, and the anchor."""
    if card is None:
        return f"{name:22s} {'no card':13s} not measured yet"
    first = [k for k in card.sets if k == "validation"]  # a model the suite cannot hold (framebuffers) has none
    parts = [_set_text(k, card.sets[k]) for k in [*first, *(k for k in card.sets if k != "validation")]]
    return f"{name:22s} {card.status:13s} {'; '.join(parts)} ({card.metric} vs {card.anchor})"


def models_table(zoo: Mapping[str, ZooEntry], cards: Mapping[str, ModelCard]) -> dict[str, dict[str, Any]]:
    """The whole table of ``--json``: every shipped model's card (null if none) with its zoo description and app."""
    return {
        name: {
            "description": entry.description,
            "app": entry.app,
            "card": cards[name].to_dict() if name in cards else None,
        }
        for name, entry in sorted(zoo.items())
    }


def cmd_models(args: argparse.Namespace) -> int:
    """List the shipped models (retired ones only with ``--all``), or dump the whole table with ``--json``."""
    zoo, cards = list_models(), load_cards()
    if getattr(args, "json", False):
        print(json.dumps({"format_version": 1, "models": models_table(zoo, cards)}, indent=1))
        return 0
    if not zoo:
        print("no shipped models")
    show_all = getattr(args, "all", False)
    hidden = 0
    for name in sorted(zoo):
        card = cards.get(name)
        if card is not None and card.status == "retired" and not show_all:
            hidden += 1
            continue
        print(model_line(name, card))
    if hidden:
        print(f"({hidden} retired model(s) hidden; `sandwich models --all` lists them; cards: docs/models/README.md)")
    return 0
