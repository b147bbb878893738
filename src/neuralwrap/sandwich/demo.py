"""``sandwich demo``: a shipped model on Kodak images — files, RD plot, comparison picture, report."""

from __future__ import annotations

import json
from pathlib import Path

from neuralwrap.codecs import get_codec
from neuralwrap.codecs.sweep import load_images
from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import write_image
from neuralwrap.metrics.psnr import psnr
from neuralwrap.sandwich.codec import load_pretrained
from neuralwrap.sandwich.evaluate import EvalSpec, evaluate

__all__ = ["run_demo"]

DEMO_MODEL = "jpeg420"
DEMO_BASELINE = "jpeg420-postonly"


def run_demo(out: Path, data: Path, n_images: int = 2, quality: int = 30) -> Path:
    """Write ``out/{kodimXX}_sandwich.jpg`` (a standard JPEG), its decoded PNG, the plain JPEG at the
    same quality, an RD sweep (plain / post-only / sandwich) with plot + comparison, and ``report.md``."""
    if not data.is_dir():
        raise InputError(f"Kodak folder not found: {data} (expected ../shared/data/kodak beside the checkout)")
    images = dict(list(load_images(data).items())[: max(1, n_images)])
    out.mkdir(parents=True, exist_ok=True)
    sc = load_pretrained(DEMO_MODEL)
    name, img = next(iter(images.items()))
    sand = sc.encode(img, quality)
    atomic_write_bytes(out / f"{name}_sandwich_q{quality}.jpg", sand)
    dec = sc.decode(sand)
    write_image(out / f"{name}_sandwich_q{quality}_decoded.png", dec)
    jpeg = get_codec("jpeg")
    plain = jpeg.encode(img, quality=quality, subsampling="420", optimize=True)
    atomic_write_bytes(out / f"{name}_plain_q{quality}.jpg", plain)
    h, w = img.shape[:2]
    models = {"post-only": load_pretrained(DEMO_BASELINE), "sandwich": sc}
    spec = EvalSpec(codec="jpeg", settings={"subsampling": "420", "optimize": True}, qualities=(10, 20, 30, 50, 70, 90))
    summary = evaluate(models, images, out / "eval", spec, progress=True)
    lines = [
        f"# sandwich demo ({DEMO_MODEL})", "",
        f"`{name}` at JPEG quality {quality} (4:2:0, optimised Huffman), real bytes:", "",
        "| | bytes | bpp | PSNR (dB) |", "|---|---|---|---|",
        f"| plain JPEG | {len(plain)} | {8 * len(plain) / (h * w):.3f} | {psnr(img, jpeg.decode(plain)):.2f} |",
        f"| sandwich | {len(sand)} | {8 * len(sand) / (h * w):.3f} | {psnr(img, dec):.2f} |", "",
        f"RD sweep over {len(images)} image(s) (BD vs plain JPEG, per image averaged):", "",
        "| curve | BD-rate (%) | BD-PSNR (dB) |", "|---|---|---|",
    ]
    for label in models:
        bd = summary["curves"][label]["bd"]["plain"]
        lines.append(f"| {label} | {bd['bd_rate_img']:+.2f} | {bd['bd_psnr_img']:+.3f} |")
    lines += ["", "Files: `eval/rd.png` (RD curves), `eval/comparison.png` (crops at a matched rate),",
              "`eval/records.csv`, `eval/summary.json`; the `.jpg` files open in any viewer."]
    report = out / "report.md"
    atomic_write_bytes(report, "\n".join(lines).encode())
    atomic_write_bytes(out / "demo_summary.json", json.dumps({"image": name, "quality": quality}, indent=2).encode())
    return report
