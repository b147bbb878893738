"""Screenshots of the ``sandwich viewer`` page, and its browser decode measured against the Python decode.

Writes a viewer site (or uses ``--site``), encodes a photo shipped with the package with a model, opens
``index.html?src=…`` in headless Chromium (the system browser, driven by Playwright) and saves:

- ``docs/img/viewer_compare.png``: the before/after slider (left: what a plain viewer shows, right: the decode);
- ``docs/img/viewer_decoded.png``: the decoded result alone (``&view=after``).

It prints the PSNR of the page's canvas against ``sandwich decode`` (PyTorch) of the same file and the page's
decode time (``document.body.dataset.ms``, WASM with one thread unless the browser offers WebGPU)::

    .venv/bin/python benchmarks/viewer_screenshots.py [--model jpeg420] [--quality 15] [--site DIR]
    .venv/bin/python benchmarks/viewer_screenshots.py --site DIR --model lowres-2x --photo coffee.png --quality 30 \
        --no-shots                                        # measure only (DIR from `sandwich viewer DIR`)
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
from pathlib import Path

import numpy as np

from neuralwrap.codecs import get_codec
from neuralwrap.io.images import read_image
from neuralwrap.metrics import psnr
from neuralwrap.resources import package_file
from neuralwrap.sandwich.inference.codec import decode_file, load_pretrained
from neuralwrap.sandwich.viewer.serve import serve_site
from neuralwrap.sandwich.viewer.site import write_site

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
CANVAS_JS = """(id) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
  return [c.width, c.height, btoa(s)];
}"""


def _canvas(shot: list) -> np.ndarray:
    """``[width, height, base64 RGBA]`` → ``HxWx3`` uint8."""
    w, h, pixels = shot
    return np.frombuffer(base64.b64decode(pixels), np.uint8).reshape(h, w, 4)[:, :, :3]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="jpeg420")
    ap.add_argument("--quality", type=int, default=15)
    ap.add_argument("--photo", default="chelsea.png", help="one of the photos in neuralwrap/sandwich/demo_images")
    ap.add_argument("--site", default=None, help="existing viewer site holding --model (default: write one)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--no-shots", action="store_true", help="measure only, write no screenshots")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(args.site) if args.site else Path(tmp) / "site"
        if not args.site:
            write_site(site, [args.model])
        photo = read_image(package_file("neuralwrap.sandwich", "demo_images") / args.photo)
        data = load_pretrained(args.model).encode(photo, args.quality)
        (site / "shot.jpg").write_bytes(data)
        with serve_site(site) as root, sync_playwright() as p:
            base = root + "index.html?src=shot.jpg"
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": photo.shape[1] + 80, "height": photo.shape[0] + 260})
            page.goto(base)
            page.wait_for_function("() => ['done', 'error'].includes(document.body.dataset.status)", timeout=300_000)
            info = page.evaluate(
                "() => ({...document.body.dataset, error: document.getElementById('error').textContent})"
            )
            if info["status"] != "done":
                raise SystemExit(f"page failed: {info['error']}")
            canvas, plain = (_canvas(page.evaluate(CANVAS_JS, c)) for c in ("output", "plain"))
            if not args.no_shots:
                page.screenshot(path=str(Path(args.out) / "viewer_compare.png"), full_page=True)
                page.goto(base + "&view=after")
                page.wait_for_function("() => document.body.dataset.status === 'done'", timeout=300_000)
                page.screenshot(path=str(Path(args.out) / "viewer_decoded.png"), full_page=True)
            browser.close()
    reference, _ = decode_file(data)
    pillow = get_codec("jpeg").decode(data)
    result = {
        "model": args.model,
        "quality": args.quality,
        "photo": args.photo,
        "size": f"{canvas.shape[1]}x{canvas.shape[0]}",
        "bytes": len(data),
        "backend": info.get("backend"),
        "page_decode_ms": int(info.get("ms", 0)),
        "psnr_browser_vs_python_db": round(float(psnr(canvas, reference)), 2),
        "max_abs_diff": int(np.abs(canvas.astype(int) - reference).max()),
        "plain_decode_identical_to_pillow": bool((plain == np.broadcast_to(pillow, plain.shape)).all()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
