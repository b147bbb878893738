"""The browser decoder's JavaScript module (web/): its node tests, and its tag parser against Python's.

``web/test/fixtures/cases.json`` holds tag strings and small JPEG files with what
:func:`~neuralwrap.sandwich.inference.fileformat.parse_tag` / ``read_tag`` make of them;
``node --test web/test/*.test.js`` checks the JavaScript port against the same file, and this module checks that
Python still agrees with it. Regenerate it (after a deliberate change of the tag format) with
``NEURALWRAP_UPDATE_WEB_FIXTURES=1 .venv/bin/python -m pytest -q tests/test_web_module.py``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CodecError
from neuralwrap.sandwich.inference.fileformat import parse_tag, read_tag

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
CASES = WEB / "test" / "fixtures" / "cases.json"

#: tag texts, including the corners where Python's str.strip / \d / $ differ from JavaScript's defaults
TAG_TEXTS = [
    "neuralwrap:jpeg420@1;q=50",
    "neuralwrap:jpeg420-postonly@1;q=5",
    "neuralwrap:lowres-2x-444@2;q=100",
    "neuralwrap:a_b.c@v1.0-rc;q=007",
    "neuralwrap:jpeg420@1;q=50\n",
    "neuralwrap:jpeg420@1;q=50 \t\r\n",
    "neuralwrap:jpeg420@1;q=50\x1c",
    "neuralwrap:jpeg420@1;q=50\x85",
    "neuralwrap:jpeg420@1;q=50\xa0",
    "neuralwrap:jpeg420@1;q=50\u3000",
    "neuralwrap:jpeg420@1;q=50\ufeff",
    "neuralwrap:jpeg420@1;q=50\u200b",
    "neuralwrap:m@v;q=\u0665\u0660",
    "neuralwrap:m@v;q=\U0001d7d3\U0001d7ce",
    "neuralwrap:m@v;q=\u00b2",
    "neuralwrap:jpeg420@1;q=1000",
    "neuralwrap:jpeg420@1;q=",
    "neuralwrap:jpeg420@1;q=-5",
    "neuralwrap:jpeg420@1;q=5.0",
    "neuralwrap:jpeg420@1",
    "neuralwrap:jpeg420;q=50",
    "neuralwrap:",
    "neuralwrap:a b@1;q=5",
    "neuralwrap:\u00e9@1;q=5",
    "neuralwrap:jpeg420@1;q=50;x=1",
    "neuralwrap:jpeg420@1;q=50\nq=60",
    " neuralwrap:jpeg420@1;q=50",
    "NEURALWRAP:jpeg420@1;q=50",
    "neuralwrap",
    "hello",
    "",
]


def _expect_tag(text: str) -> dict | str | None:
    try:
        tag = parse_tag(text)
    except CodecError:
        return "error"
    return None if tag is None else {"model": tag.model, "version": tag.version, "quality": tag.quality}


def _expect_file(data: bytes) -> dict | str | None:
    try:
        _, tag = read_tag(data)
    except CodecError:
        return "error"
    return None if tag is None else {"model": tag.model, "version": tag.version, "quality": tag.quality}


def _make_files() -> dict[str, bytes]:
    """Small JPEGs: real sandwich files of two shipped models, plus tagged and damaged variants."""
    from neuralwrap.codecs.image import xmp_packet
    from neuralwrap.io.images import read_image
    from neuralwrap.sandwich.inference.codec import load_pretrained

    photo = read_image(ROOT / "src/neuralwrap/sandwich/demo_images/coffee.png")[100:132, 200:248]
    jpeg = get_codec("jpeg")
    sandwich = load_pretrained("jpeg420").encode(photo, 40)
    gray = load_pretrained("rgb-over-gray").encode(photo, 40)
    plain = jpeg.encode(photo, quality=40)
    xmp = jpeg.encode(photo, quality=40, xmp=xmp_packet({"sandwich": "neuralwrap:jpeg420@1;q=40"}))
    bad_tag = jpeg.encode(photo, quality=40, comment=b"neuralwrap:jpeg420@1;q=four")
    other_comment = jpeg.encode(photo, quality=40, comment=b"made with a camera")
    sos = plain.find(b"\xff\xda")
    return {
        "sandwich.jpg": sandwich,
        "gray.jpg": gray,
        "plain.jpg": plain,
        "xmp.jpg": xmp,
        "bad_tag.jpg": bad_tag,
        "other_comment.jpg": other_comment,
        "truncated_header.jpg": sandwich[:40],
        "not_a_jpeg.png": b"\x89PNG\r\n\x1a\n" + bytes(32),
        "empty.jpg": b"",
        "soi_only.jpg": plain[:3],
        "header_only.jpg": plain[: sos + 2],
    }


def _build_cases() -> dict:
    files = _make_files()
    return {
        "about": "made by tests/test_web_module.py from neuralwrap's Python parse_tag/read_tag; do not edit",
        "tags": [{"text": t, "expect": _expect_tag(t)} for t in TAG_TEXTS],
        "files": [
            {"name": name, "base64": base64.b64encode(data).decode(), "expect": _expect_file(data)}
            for name, data in files.items()
        ],
    }


def test_cases_match_python() -> None:
    """Every expectation in cases.json is what Python's parser says today (the JS port is tested against it)."""
    if os.environ.get("NEURALWRAP_UPDATE_WEB_FIXTURES"):
        CASES.write_text(json.dumps(_build_cases(), indent=1, ensure_ascii=True) + "\n")
    cases = json.loads(CASES.read_text())
    assert [c["text"] for c in cases["tags"]] == TAG_TEXTS, "cases.json is stale: regenerate it (module docstring)"
    for case in cases["tags"]:
        assert _expect_tag(case["text"]) == case["expect"], case["text"]
    for case in cases["files"]:
        assert _expect_file(base64.b64decode(case["base64"])) == case["expect"], case["name"]
    kinds = {json.dumps(c["expect"]) for c in cases["tags"]}
    assert {"null", '"error"'} <= kinds and len(kinds) > 4
    assert cases["files"][0]["expect"] == {"model": "jpeg420", "version": "1", "quality": 40}


def test_sandwich_fixture_decodes_in_python() -> None:
    """The committed sandwich fixture is a real file of the shipped model (Python decodes it with its post)."""
    from neuralwrap.sandwich.inference.codec import decode_file

    data = base64.b64decode(json.loads(CASES.read_text())["files"][0]["base64"])
    image, tag = decode_file(data)
    assert tag is not None and tag.model == "jpeg420"
    assert image.shape == (32, 48, 3) and image.dtype == np.uint8


def test_node_suite() -> None:
    """``node --test web/test/*.test.js`` passes (the module's own tests: tag parsing, tensor glue, model choice)."""
    node = shutil.which("node")
    if node is None:
        why = "node is not installed (apt-get install nodejs); the web/ module's tests need it"
        if os.environ.get("NEURALWRAP_REQUIRE_BROWSER"):
            pytest.fail(why + "; NEURALWRAP_REQUIRE_BROWSER is set (CI), so this is an error, not a skip")
        pytest.skip(why)
    files = sorted(str(p.relative_to(WEB)) for p in (WEB / "test").glob("*.test.js"))
    assert len(files) >= 3
    proc = subprocess.run([node, "--test", *files], cwd=WEB, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_viewer_static_is_a_copy_of_web_src() -> None:
    """The page ships web/src unchanged, and the onnxruntime-web version package.json pins (``npm run vendor``)."""
    static = ROOT / "src/neuralwrap/sandwich/viewer/static"
    for src in sorted((WEB / "src").glob("*.js")):
        assert (static / src.name).read_bytes() == src.read_bytes(), f"{src.name} differs: cd web && npm run vendor"
    pinned = json.loads((WEB / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    assert (static / "ort" / "VERSION").read_text().split() == ["onnxruntime-web", pinned]
    lock = json.loads((WEB / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == pinned
    for name in ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm"):
        assert (static / "ort" / name).stat().st_size > 10_000, name
    assert "MIT License" in (static / "ort" / "LICENSE").read_text()
