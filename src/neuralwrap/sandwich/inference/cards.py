"""Model cards: what each shipped model measured against the plain codec a user would otherwise run.

The cards live in the package (``neuralwrap/sandwich/pretrained/cards.json``, read with importlib.resources) so
``sandwich models`` works from a wheel. ``benchmarks/model_cards.py`` writes them from real encodes; nothing here
measures. The file is checked on load (a wrong field raises :class:`~neuralwrap.errors.CheckpointError` naming
it). One record per shipped model::

    {"format_version": 1, "models": {"jpeg420": {
        "sha256": "<sha256 of the safetensors file measured>",
        "status": "recommended" | "experimental" | "retired",
        "reason": "why not recommended (the measured loss), or ''",
        "anchor": "Huffman-optimised JPEG 4:2:0 + the same lossless pass",
        "metric": "PSNR" | "LPIPS" | "MS-SSIM" | "PU21-PSNR" | ...,
        "sets": {"validation": SET, "kodak": SET},     # validation first; SET is null when not measured
        "encode_ms_per_mp": float | null, "decode_ms_per_mp": float | null,
        "params": int, "bytes": int, "date": "YYYY-MM-DD", "command": "how it was measured"}}}

    SET = {"name": "what the set is", "items": int, "bd_rate_pct": float | null, "bd_psnr_db": float | null,
           "bd_rate_spread": [min, median, max] | null, "bd_psnr_spread": [min, median, max] | null}

BD-rate is in percent (negative = fewer bytes than the anchor at equal quality), BD-PSNR in dB of the card's
metric axis (positive = better); both are means over the set's items, the spreads are over items.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from neuralwrap.errors import CheckpointError
from neuralwrap.resources import read_package_text

__all__ = [
    "CARDS_FILE",
    "STATUSES",
    "CardSet",
    "ModelCard",
    "card_warning",
    "load_cards",
    "parse_cards",
    "warn_if_not_recommended",
]

#: the card file, in ``neuralwrap.sandwich``'s package data
CARDS_FILE = "pretrained/cards.json"
#: recommended: beats its anchor on both sets; experimental: does not (or is not measured yet); retired: loses on
#: both, hidden from ``sandwich models`` (``--all`` shows it), still decodes the files it wrote
STATUSES = ("recommended", "experimental", "retired")

_SHA = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CardSet:
    """A model's figures on one test set (None where the curves did not overlap)."""

    name: str
    """What the set is, e.g. ``"Kodak, 12 images"``."""
    items: int
    """Images or clips measured."""
    bd_rate_pct: float | None
    """Mean BD-rate over items vs the anchor, percent (negative = smaller files)."""
    bd_psnr_db: float | None
    """Mean BD on the metric axis vs the anchor, dB (positive = better)."""
    bd_rate_spread: tuple[float, float, float] | None = None
    """(min, median, max) of the per-item BD-rate."""
    bd_psnr_spread: tuple[float, float, float] | None = None
    """(min, median, max) of the per-item BD-PSNR."""

    def figure(self) -> str:
        """``-12.3% BD-rate / +0.45 dB`` (whichever exist), or ``no overlap``."""
        parts = []
        if self.bd_rate_pct is not None:
            parts.append(f"{self.bd_rate_pct:+.1f}% BD-rate")
        if self.bd_psnr_db is not None:
            parts.append(f"{self.bd_psnr_db:+.2f} dB")
        return " / ".join(parts) or "no overlap"


@dataclass(frozen=True)
class ModelCard:
    """One shipped model's measured behaviour (see the module docstring for the fields)."""

    name: str
    sha256: str
    status: str
    reason: str
    anchor: str
    metric: str
    sets: Mapping[str, CardSet | None]
    encode_ms_per_mp: float | None
    decode_ms_per_mp: float | None
    params: int
    bytes: int
    date: str
    command: str

    @property
    def measured(self) -> bool:
        """True when at least one set has figures."""
        return any(s is not None for s in self.sets.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (as in ``cards.json``)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _FIELDS}
        out["sets"] = {
            k: None
            if s is None
            else {
                "name": s.name,
                "items": s.items,
                "bd_rate_pct": s.bd_rate_pct,
                "bd_psnr_db": s.bd_psnr_db,
                "bd_rate_spread": None if s.bd_rate_spread is None else list(s.bd_rate_spread),
                "bd_psnr_spread": None if s.bd_psnr_spread is None else list(s.bd_psnr_spread),
            }
            for k, s in self.sets.items()
        }
        return out


_FIELDS: dict[str, tuple[type, ...]] = {
    "sha256": (str,),
    "status": (str,),
    "reason": (str,),
    "anchor": (str,),
    "metric": (str,),
    "encode_ms_per_mp": (float, int, type(None)),
    "decode_ms_per_mp": (float, int, type(None)),
    "params": (int,),
    "bytes": (int,),
    "date": (str,),
    "command": (str,),
}


def _number(value: Any, where: str, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(
            f"model cards: {where} must be a finite number{' or null' if optional else ''}, got {value!r}"
        )
    return float(value)


def _spread(value: Any, where: str) -> tuple[float, float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise CheckpointError(f"model cards: {where} must be [min, median, max] or null, got {value!r}")
    lo, mid, hi = (float(_number(v, where, optional=False)) for v in value)  # type: ignore[arg-type]
    if not lo <= mid <= hi:
        raise CheckpointError(f"model cards: {where} must be ordered min <= median <= max, got {value!r}")
    return lo, mid, hi


def _set(raw: Any, where: str) -> CardSet | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CheckpointError(f"model cards: {where} must be an object or null")
    name, items = raw.get("name"), raw.get("items")
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"model cards: {where}.name must be a non-empty string")
    if isinstance(items, bool) or not isinstance(items, int) or items < 1:
        raise CheckpointError(f"model cards: {where}.items must be a positive integer, got {items!r}")
    return CardSet(
        name=name,
        items=items,
        bd_rate_pct=_number(raw.get("bd_rate_pct"), f"{where}.bd_rate_pct"),
        bd_psnr_db=_number(raw.get("bd_psnr_db"), f"{where}.bd_psnr_db"),
        bd_rate_spread=_spread(raw.get("bd_rate_spread"), f"{where}.bd_rate_spread"),
        bd_psnr_spread=_spread(raw.get("bd_psnr_spread"), f"{where}.bd_psnr_spread"),
    )


def _card(name: str, raw: Any) -> ModelCard:
    if not isinstance(raw, dict):
        raise CheckpointError(f"model cards: {name} must be an object")
    for key, types in _FIELDS.items():
        if key not in raw:
            raise CheckpointError(f"model cards: {name} lacks field {key!r}")
        if isinstance(raw[key], bool) or not isinstance(raw[key], types):
            raise CheckpointError(f"model cards: {name}.{key} has type {type(raw[key]).__name__}")
    if not _SHA.fullmatch(raw["sha256"]):
        raise CheckpointError(f"model cards: {name}.sha256 must be 64 lowercase hex digits")
    if raw["status"] not in STATUSES:
        raise CheckpointError(f"model cards: {name}.status must be one of {STATUSES}, got {raw['status']!r}")
    if raw["status"] != "recommended" and not raw["reason"].strip():
        raise CheckpointError(f"model cards: {name} is {raw['status']} but gives no reason (the measured loss)")
    if not _DATE.fullmatch(raw["date"]):
        raise CheckpointError(f"model cards: {name}.date must be YYYY-MM-DD, got {raw['date']!r}")
    sets = raw.get("sets")
    if not isinstance(sets, dict) or not sets:
        raise CheckpointError(f"model cards: {name}.sets must be a non-empty object")
    return ModelCard(
        name=name,
        sets={str(k): _set(v, f"{name}.sets.{k}") for k, v in sets.items()},
        **{k: raw[k] for k in _FIELDS},
    )


def parse_cards(text: str) -> dict[str, ModelCard]:
    """The cards of a ``cards.json`` text, checked (:class:`CheckpointError` names a bad field)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"model cards: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format_version") != 1 or not isinstance(raw.get("models"), dict):
        raise CheckpointError("model cards: expected {'format_version': 1, 'models': {...}}")
    return {name: _card(name, rec) for name, rec in raw["models"].items()}


@cache
def load_cards() -> dict[str, ModelCard]:
    """The shipped cards, by model name (read once per process)."""
    return parse_cards(read_package_text("neuralwrap.sandwich", CARDS_FILE))


def card_warning(name: str) -> str | None:
    """The one-line warning for using the shipped model ``name`` when its card is not ``recommended``; None for a
    recommended model or a name without a card (a user's own model file)."""
    card = load_cards().get(name)
    if card is None or card.status == "recommended":
        return None
    if card.status == "retired":
        return f"model {name} is retired: {card.reason} (plain {card.anchor} without a model does better)"
    return f"model {name} is experimental: {card.reason} (see `sandwich models`)"


def warn_if_not_recommended(ref: str) -> None:
    """Warn once (a :class:`UserWarning`) when ``ref`` names a shipped model that is not recommended; model files
    (``*.safetensors`` paths) have no card and never warn."""
    if ref.endswith(".safetensors") or Path(ref).is_file():
        return
    message = card_warning(ref)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=2)
