"""Model cards keep `sandwich models` true (issue 25): every shipped model has a card, each card names the sha256 of
the weights it measured (a shipped file that differs fails here), `sandwich models` prints the figures of the card
data, `--json` gives the whole table, and a shipped model that is not recommended warns exactly once on encode.
Nothing is measured here (benchmarks/model_cards.py does that)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralwrap.errors import CheckpointError
from neuralwrap.resources import read_package_text
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.cli.models import model_line
from neuralwrap.sandwich.inference import cards as cards_module
from neuralwrap.sandwich.inference.cards import CARDS_FILE, load_cards, parse_cards
from neuralwrap.sandwich.inference.zoo import PRETRAINED_DIR, ZOO


def _raw() -> dict:
    return json.loads(read_package_text("neuralwrap.sandwich", CARDS_FILE))


def test_every_shipped_model_has_a_card_of_its_weights() -> None:
    cards = load_cards()
    assert sorted(cards) == sorted(ZOO), "every shipped model needs exactly one card (benchmarks/model_cards.py)"
    for name, entry in ZOO.items():
        path = PRETRAINED_DIR / f"{entry.file}.safetensors"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert cards[name].sha256 == digest, f"{name}: the shipped weights are not the ones its card measured"
        assert entry.sha256 == digest
        assert cards[name].bytes == path.stat().st_size


def test_models_prints_the_card_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--all"]) == 0
    out = capsys.readouterr().out
    for name, card in load_cards().items():
        assert model_line(name, card) in out.splitlines()
        for s in card.sets.values():
            assert (s.figure() if s is not None else "not measured yet") in model_line(name, card)
    # the figures come from the card data, nowhere else: a changed card changes the line
    raw = _raw()
    name = next(n for n, c in raw["models"].items() if c["sets"].get("validation"))
    raw["models"][name]["sets"]["validation"]["bd_rate_pct"] = -98.7
    assert "-98.7% BD-rate" in model_line(name, parse_cards(json.dumps(raw))[name])


def test_retired_models_hidden_unless_all(capsys: pytest.CaptureFixture[str]) -> None:
    retired = [n for n, c in load_cards().items() if c.status == "retired"]
    assert main(["models"]) == 0
    shown = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line and not line.startswith("(")}
    assert shown == set(ZOO) - set(retired)


def test_models_json_is_the_whole_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["models"]
    assert sorted(table) == sorted(ZOO)
    for name, row in table.items():
        assert row["card"] == load_cards()[name].to_dict()
        assert row["card"]["status"] in ("recommended", "experimental", "retired")


def test_models_loads_no_torch() -> None:
    code = (
        "import sys; from neuralwrap.sandwich.cli.main import main; main(['models']); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda c: c.update(sha256="abc"), "sha256"),
        (lambda c: c.update(status="great"), "status"),
        (lambda c: c.update(status="experimental", reason=""), "reason"),
        (lambda c: c.pop("anchor"), "anchor"),
        (lambda c: c["sets"].update(kodak={"name": "k", "items": 0}), "items"),
        (lambda c: c["sets"].update(kodak={"name": "k", "items": 3, "bd_rate_spread": [2, 1, 3]}), "ordered"),
    ],
)
def test_bad_cards_are_refused(edit, words: str) -> None:
    raw = _raw()
    edit(next(iter(raw["models"].values())))
    with pytest.raises(CheckpointError, match=words):
        parse_cards(json.dumps(raw))


def _as_experimental(monkeypatch: pytest.MonkeyPatch, name: str, status: str = "experimental") -> None:
    raw = _raw()
    raw["models"][name].update(status=status, reason="+9.9% BD-rate vs the anchor on the validation photos")
    monkeypatch.setattr(cards_module, "load_cards", lambda: parse_cards(json.dumps(raw)))


def test_experimental_model_warns_once_on_encode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)).save(src)
    _as_experimental(monkeypatch, "jpeg420")
    assert main(["-q", "encode", str(src), str(tmp_path / "o.jpg"), "--model", "jpeg420", "--quality", "40"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert lines == [
        "sandwich encode: warning: model jpeg420 is experimental: +9.9% BD-rate vs the anchor on the validation "
        "photos (see `sandwich models`)"
    ]
    # a recommended model, and any model file, is silent
    monkeypatch.setattr(cards_module, "load_cards", lambda: {})
    assert main(["-q", "encode", str(src), str(tmp_path / "o2.jpg"), "--model", "jpeg420", "--quality", "40"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_retired_video_model_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    base = np.random.default_rng(1).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    for i in range(3):
        Image.fromarray(np.roll(base, i, axis=1)).save(frames / f"f{i}.png")
    _as_experimental(monkeypatch, "hevc444-video", "retired")
    argv = ["-q", "video", "encode", str(frames), str(tmp_path / "o.mp4"), "--model", "hevc444-video", "--qp", "30"]
    assert main([*argv, "--fps", "10"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(lines) == 1 and "hevc444-video is retired" in lines[0] and "does better" in lines[0], lines
