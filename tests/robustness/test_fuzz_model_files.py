"""Crafted model files (safetensors + JSON sidecar) given to every command that loads a model: absurd or
ill-typed config fields, non-finite or misshapen tensors, truncated or missing files, JSON that is no object.
A model file is untrusted input: each must be refused before any work, cleanly."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from fuzz_inputs import assert_refused

from conftest import smooth_image
from neuralwrap.io.images import write_image
from neuralwrap.io.video import open_frames
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.inference.codec import load_pretrained
from neuralwrap.sandwich.inference.video import encode_video
from neuralwrap.sandwich.inference.zoo import zoo_path

pytestmark = pytest.mark.timeout(120)

BASE = "jpeg420"
Meta = dict[str, Any]
Tensors = dict[str, torch.Tensor]


def _cfg(**fields: Any) -> Callable[[Meta, Tensors], None]:
    """Set ``config.sandwich`` fields (dotted names reach into ``pre`` / ``post``)."""

    def edit(meta: Meta, tensors: Tensors) -> None:
        for key, value in fields.items():
            node = meta["config"]["sandwich"]
            *path, last = key.split("__")
            for part in path:
                node = node[part]
            node[last] = value

    return edit


def _meta(key: str, value: Any) -> Callable[[Meta, Tensors], None]:
    def edit(meta: Meta, tensors: Tensors) -> None:
        meta[key] = value

    return edit


def _tensor(fn: Callable[[torch.Tensor], torch.Tensor | None]) -> Callable[[Meta, Tensors], None]:
    """Replace (or, when ``fn`` returns None, drop) the first 3x3 convolution weight."""

    def edit(meta: Meta, tensors: Tensors) -> None:
        key = next(k for k in sorted(tensors) if tensors[k].ndim == 4 and tensors[k].shape[-1] == 3)
        new = fn(tensors[key].clone())
        if new is None:
            del tensors[key]
        else:
            tensors[key] = new

    return edit


def _nan(t: torch.Tensor) -> torch.Tensor:
    t.view(-1)[t.numel() // 2] = float("nan")
    return t


def _inf(t: torch.Tensor) -> torch.Tensor:
    t.view(-1)[0] = float("-inf")
    return t


def _extra(meta: Meta, tensors: Tensors) -> None:
    tensors["pre.body.injected"] = torch.zeros(4)


#: config / tensor edits; the pair is rewritten with a matching sha256, so only the edit itself is wrong
EDITS: dict[str, Callable[[Meta, Tensors], None]] = {
    "negative-channels": _cfg(in_channels=-3),
    "zero-code-channels": _cfg(code_channels=0),
    "width-200000": _cfg(pre__unet_enc=[200000]),
    "mlp-layers-1e9": _cfg(post__mlp_layers=10**9),
    "unknown-codec": _cfg(codec="nosuchcodec"),
    "unknown-subsampling": _cfg(subsampling="422"),
    "channels-as-string": _cfg(in_channels="3"),
    "width-as-float": _cfg(post__unet_enc=[16.5, 32, 64]),
    "rate-bins-as-bool": _cfg(rate_bins=True),
    "quality-range-string": _cfg(quality_range="5..95"),
    "quality-range-inverted": _cfg(quality_range=[95, 5]),
    "quality-range-1000": _cfg(quality_range=[5, 1000]),
    "processor-as-list": _cfg(post=[16, 32]),
    "unknown-field": _cfg(evil=1),
    "sandwich-null": lambda m, t: m["config"].update(sandwich=None),
    "config-is-list": _meta("config", [1, 2]),
    "name-with-newline": lambda m, t: m["config"].update(name="jpeg420\nq=5"),
    "name-is-list": lambda m, t: m["config"].update(name=[BASE]),
    "version-is-float": lambda m, t: m["config"].update(version=1.5),
    "format-version-999": _meta("format_version", 999),
    "kind-checkpoint": _meta("kind", "checkpoint"),
    "nan-weight": _tensor(_nan),
    "inf-weight": _tensor(_inf),
    "wrong-shape": _tensor(lambda t: t[:, :, :2, :2].contiguous()),
    "missing-tensor": _tensor(lambda t: None),
    "extra-tensor": _extra,
}
#: damage to the files themselves: ``(safetensors bytes, json text) -> (safetensors bytes, json text)``
FILE_DAMAGE: dict[str, Callable[[bytes, str], tuple[bytes | None, str | None]]] = {
    "truncated-safetensors": lambda st, js: _resealed(st[: len(st) // 2], js),
    "truncated-safetensors-stale-sha": lambda st, js: (st[: len(st) // 2], js),
    "empty-safetensors": lambda st, js: _resealed(b"", js),
    "garbage-safetensors": lambda st, js: _resealed(b"\xff" * 64 + st[64:], js),
    "truncated-json": lambda st, js: (st, js[: len(js) // 2]),
    "empty-json": lambda st, js: (st, ""),
    "json-is-list": lambda st, js: (st, "[1, 2, 3]"),
    "json-is-string": lambda st, js: (st, '"jpeg420"'),
    "missing-json": lambda st, js: (st, None),
    "missing-safetensors": lambda st, js: (None, js),
}


def _resealed(data: bytes, text: str) -> tuple[bytes, str]:
    """``data`` with the JSON sidecar's sha256 updated to match it (so the damage itself is what is tested)."""
    meta = json.loads(text)
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    return data, json.dumps(meta)


def _write_pair(folder: Path, data: bytes | None, text: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if data is not None:
        (folder / "crafted.safetensors").write_bytes(data)
    if text is not None:
        (folder / "crafted.json").write_text(text)
    return folder / "crafted.safetensors"


def _craft(case: str, folder: Path) -> Path:
    base = zoo_path(BASE)
    data, text = base.read_bytes(), base.with_suffix(".json").read_text()
    if case in FILE_DAMAGE:
        return _write_pair(folder, *FILE_DAMAGE[case](data, text))
    meta, tensors = json.loads(text), safetensors.torch.load(data)
    EDITS[case](meta, tensors)
    return _write_pair(folder, *_resealed(safetensors.torch.save(tensors), json.dumps(meta)))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``photo.png``, ``kodak/``, ``clip/`` (4 PNG frames) and ``sandwich.jpg`` / ``sandwich.mp4`` (made by the
    shipped model the crafted files derive from, so only the crafted damage can make a decode fail)."""
    d = tmp_path_factory.mktemp("pristine")
    img = smooth_image(64, 64, seed=5)
    write_image(d / "photo.png", img)
    write_image(d / "kodak" / "k.png", img)
    for i in range(4):
        write_image(d / "clip" / f"f{i}.png", smooth_image(64, 64, seed=i))
    sc = load_pretrained(BASE)
    (d / "sandwich.jpg").write_bytes(sc.encode(img, 30))
    encode_video(sc, open_frames(d / "clip"), d / "sandwich.mp4", codec="hevc", cond_quality=30, progress=False)
    return d


COMMANDS: dict[str, Callable[[Path, Path, Path], list[str]]] = {
    "encode --model-file": lambda src, model, out: [
        "encode",
        src / "photo.png",
        out / "x.jpg",
        "--model-file",
        model,
        "--quality",
        "30",
    ],
    "encode --model": lambda src, model, out: [
        "encode",
        src / "photo.png",
        out / "x.jpg",
        "--model",
        model,
        "--quality",
        "30",
    ],
    "decode --model-file": lambda src, model, out: [
        "decode",
        src / "sandwich.jpg",
        out / "x.png",
        "--model-file",
        model,
    ],
    "eval --model": lambda src, model, out: [
        "eval",
        "--model",
        model,
        "--data",
        src / "kodak",
        "--qualities",
        "30",
        "--out",
        out / "eval",
    ],
    "video encode --model": lambda src, model, out: [
        "video",
        "encode",
        src / "clip",
        out / "x.mp4",
        "--model",
        model,
        "--cond-quality",
        "30",
    ],
    "video decode --model-file": lambda src, model, out: [
        "video",
        "decode",
        src / "sandwich.mp4",
        out / "frames",
        "--model-file",
        model,
    ],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", [*EDITS, *FILE_DAMAGE])
def test_crafted_model_is_refused(
    case: str, command: str, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(pristine, src)
    out.mkdir()
    model = _craft(case, src / "model")
    assert_refused(main, [str(a) for a in COMMANDS[command](src, model, out)], capsys, [src], out)


@pytest.mark.parametrize("command", COMMANDS)
def test_untouched_copy_is_accepted(command: str, pristine: Path, tmp_path: Path) -> None:
    """The crafting itself is sound: a resealed, unedited copy of the shipped model works with every command."""
    meta_text = zoo_path(BASE).with_suffix(".json").read_text()
    data = safetensors.torch.save(safetensors.torch.load(zoo_path(BASE).read_bytes()))
    model = _write_pair(tmp_path / "model", *_resealed(data, meta_text))
    out = tmp_path / "out"
    assert main([str(a) for a in COMMANDS[command](pristine, model, out)]) == 0
    assert any(out.iterdir())
