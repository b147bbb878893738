"""``sandwich viewer`` in a real browser: headless Chromium (Debian's ``chromium``, never a downloaded one) driven
by Playwright, the site served by ``http.server`` on 127.0.0.1. The page's canvas must match the Python decode of
the same file (≥ 40 dB), a corrupt file must end in ``status = "error"`` with a message, and no request may
leave the site. Skips with the reason when Chromium, Playwright or the ONNX exporter is missing.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from neuralwrap.codecs import get_codec
from neuralwrap.io.images import read_image
from neuralwrap.metrics import psnr
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.inference.codec import decode_file, load_pretrained
from neuralwrap.sandwich.viewer.serve import serve_site

CHROMIUM = os.environ.get("NEURALWRAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
]
MODEL = "jpeg420"
#: the XMP namespace tag.js compares an APP1 segment with (a name, not a request)
XMP_NAMESPACE = "http://ns.adobe.com/xap/1.0/"
PHOTO = Path(__file__).resolve().parents[1] / "src/neuralwrap/sandwich/demo_images/coffee.png"
#: the page's canvas as [width, height, base64 RGBA]
CANVAS_JS = """(id) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
  return [c.width, c.height, btoa(s)];
}"""
FINISHED_JS = "() => ['done', 'error'].includes(document.body.dataset.status)"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A viewer site with one model, a sandwich file of it and a corrupt file."""
    pytest.importorskip("onnx", reason="the viewer exports ONNX: pip install 'neuralwrap[onnx]'")
    pytest.importorskip("onnxscript", reason="the viewer exports ONNX: pip install 'neuralwrap[onnx]'")
    out = tmp_path_factory.mktemp("viewer") / "site"
    assert main(["-q", "viewer", str(out), "--model", MODEL]) == 0
    photo = read_image(PHOTO)[:160, :208]
    (out / "x.jpg").write_bytes(load_pretrained(MODEL).encode(photo, 40))
    (out / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40))
    (out / "plain.jpg").write_bytes(get_codec("jpeg").encode(photo, quality=40))
    (out / "other.jpg").write_bytes(load_pretrained("jpeg444").encode(photo, 40))
    return out


@pytest.fixture(scope="module")
def browser(site: Path) -> Iterator[tuple[object, str]]:
    """``(Playwright browser context, base URL of the served site)``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    if not os.access(CHROMIUM, os.X_OK):
        why = f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set NEURALWRAP_CHROMIUM)"
        if os.environ.get("NEURALWRAP_REQUIRE_BROWSER"):
            pytest.fail(why + "; NEURALWRAP_REQUIRE_BROWSER is set (CI), so this is an error, not a skip")
        pytest.skip(why)
    profile = site.parent / "chromium-profile"
    with serve_site(site) as base, sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context, base
        finally:
            context.close()


def _open(browser: tuple[object, str], query: str) -> tuple[object, list[str]]:
    """Load ``index.html<query>``, wait until the page is done or failed; ``(page, URLs it requested)``."""
    context, base = browser
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base + "index.html" + query)
    page.wait_for_function(FINISHED_JS, timeout=120_000)
    return page, requests


def _canvas(page: object, canvas_id: str) -> np.ndarray:
    w, h, data = page.evaluate(CANVAS_JS, canvas_id)
    return np.frombuffer(base64.b64decode(data), np.uint8).reshape(h, w, 4)


def test_canvas_matches_python_decode(site: Path, browser: tuple[object, str]) -> None:
    page, requests = _open(browser, "?src=x.jpg")
    try:
        assert page.evaluate("document.body.dataset.status") == "done", page.inner_text("#error")
        assert page.evaluate("document.body.dataset.model") == MODEL
        out = _canvas(page, "output")
    finally:
        page.close()
    reference, tag = decode_file((site / "x.jpg").read_bytes())
    assert tag is not None and tag.model == MODEL
    assert out.shape[:2] == reference.shape[:2], "drawn at full resolution"
    assert (out[:, :, 3] == 255).all()
    db = psnr(out[:, :, :3], reference)
    print(f"browser vs Python decode: {db:.2f} dB")
    assert db >= 40.0
    base = browser[1]
    outside = [u for u in requests if not u.startswith(base) and not u.startswith("data:")]
    assert not outside, f"requests left the site: {outside}"


def test_corrupt_file_reports_error(browser: tuple[object, str]) -> None:
    page, _ = _open(browser, "?src=bad.jpg")
    try:
        assert page.evaluate("document.body.dataset.status") == "error"
        message = page.inner_text("#error")
    finally:
        page.close()
    assert "JPEG" in message


def test_missing_file_reports_error(browser: tuple[object, str]) -> None:
    page, _ = _open(browser, "?src=missing.jpg")
    try:
        assert page.evaluate("document.body.dataset.status") == "error"
        assert "404" in page.inner_text("#error")
    finally:
        page.close()


def test_plain_jpeg_and_missing_model(browser: tuple[object, str]) -> None:
    """A JPEG without a tag is shown as it is (as ``sandwich decode`` does); a model the page lacks is named."""
    page, _ = _open(browser, "?src=plain.jpg")
    try:
        assert page.evaluate("document.body.dataset.status") == "done"
        assert page.evaluate("document.body.dataset.model") == ""
    finally:
        page.close()
    page, _ = _open(browser, "?src=other.jpg")
    try:
        assert page.evaluate("document.body.dataset.status") == "error"
        assert "jpeg444" in page.inner_text("#error")
    finally:
        page.close()


def test_file_picker_without_src(site: Path, browser: tuple[object, str]) -> None:
    context, base = browser
    page = context.new_page()
    try:
        page.goto(base + "index.html")
        page.wait_for_function("() => document.body.dataset.status === 'ready'", timeout=30_000)
        page.set_input_files("#file", str(site / "x.jpg"))
        page.wait_for_function(FINISHED_JS, timeout=120_000)
        assert page.evaluate("document.body.dataset.status") == "done", page.inner_text("#error")
        assert page.is_visible("#slider")
        plain = _canvas(page, "plain")
    finally:
        page.close()
    assert plain.shape[:2] == (160, 208)


def test_site_is_self_contained(site: Path) -> None:
    """No CDN or other outside URL in the page's files; only post-processors, for browser-viewable models."""
    import json

    cdn = ("cdn.", "unpkg", "jsdelivr", "googleapis", "cdnjs", "esm.sh", "skypack")
    for path in site.rglob("*"):
        if path.suffix in (".html", ".js", ".mjs", ".css", ".json"):
            text = path.read_text(encoding="utf-8", errors="replace").lower()
            assert not [c for c in cdn if c in text], path
            if path.suffix != ".mjs":  # onnxruntime-web's own files cite web pages in error messages
                text = text.replace(XMP_NAMESPACE, "")  # an identifier in tag.js, never fetched
                assert "http://" not in text and "https://" not in text, path
    manifest = json.loads((site / "manifest.json").read_text())
    assert list(manifest["models"]) == [MODEL]
    assert manifest["models"][MODEL]["pre"] is None
    assert sorted(p.name for p in site.glob("*.onnx")) == [f"{MODEL}.post.onnx"]


def test_viewer_refuses_existing_folder_and_unviewable_models(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Before any work: an existing folder needs --force; a model no browser can show is refused by name."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "keep.txt").write_text("x")
    assert main(["viewer", str(tmp_path / "site"), "--model", MODEL]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "site" / "keep.txt").exists()
    assert main(["viewer", str(tmp_path / "new"), "--model", "hevc444-video"]) == 2
    assert "cannot be shown in a browser" in capsys.readouterr().err
    assert main(["viewer", str(tmp_path / "new2"), "--model", "hdr-jpeg"]) == 2
    assert "PU21" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and not (tmp_path / "new2").exists()


def test_force_replaces_the_site_whole_and_keeps_post_processors_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """With a stand-in exporter (no ONNX needed): --force swaps the folder in whole, the export's pre-processor is
    dropped from the folder and the manifest, and a folder holding a --model file is refused even with --force."""
    import hashlib
    import json

    import neuralwrap.sandwich.onnx.export as export

    def fake_export(sc: object, out_dir: Path, **_: object) -> Path:
        files = {k: f"{sc.name}.{k}.onnx" for k in ("pre", "post")}
        for f in files.values():
            (Path(out_dir) / f).write_bytes(f.encode())
        entry = {"version": sc.version, "pre": files["pre"], "post": files["post"], "post_int8": None}
        entry["sha256"] = {f: hashlib.sha256(f.encode()).hexdigest() for f in files.values()}
        manifest = {"format": "neuralwrap-onnx", "format_version": 1, "models": {sc.name: entry}}
        (Path(out_dir) / "manifest.json").write_text(json.dumps(manifest))
        return Path(out_dir) / "manifest.json"

    monkeypatch.setattr(export, "export_onnx", fake_export)
    site = tmp_path / "site"
    site.mkdir()
    (site / "old.jpg").write_bytes(b"x")
    assert main(["viewer", str(site), "--model", "jpeg420-postonly", "--force"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == ["jpeg420-postonly"]
    assert not (site / "old.jpg").exists() and (site / "index.html").is_file()
    assert (site / "ort" / "ort-wasm-simd-threaded.asyncify.wasm").is_file()
    entry = json.loads((site / "manifest.json").read_text())["models"]["jpeg420-postonly"]
    assert entry["pre"] is None and list(entry["sha256"]) == ["jpeg420-postonly.post.onnx"]
    assert sorted(p.name for p in site.glob("*.onnx")) == ["jpeg420-postonly.post.onnx"]
    model = site / "mine.safetensors"
    model.write_bytes(b"not used")
    assert main(["viewer", str(site), "--model", str(model), "--force"]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert model.exists()
