"""``sandwich demo``: a shipped model on a few photos — files, RD plot, comparison picture, report.

By default it runs on the two photos shipped in the package (``neuralwrap/sandwich/demo_images``: CC0 photos
from scikit-image, see the README there), so it works from an installed wheel in any folder; ``data`` (the
CLI's ``--data``) points it at another folder, e.g. Kodak for the documented numbers."""

from __future__ import annotations

import json
from pathlib import Path

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import write_image
from neuralwrap.metrics.psnr import psnr
from neuralwrap.rd.sweep import load_images
from neuralwrap.resources import package_file
from neuralwrap.sandwich.evaluation.image import EvalSpec, evaluate
from neuralwrap.sandwich.inference.codec import load_pretrained

__all__ = ["demo_images_dir", "run_demo"]

DEMO_MODEL = "jpeg420"
DEMO_BASELINE = "jpeg420-postonly"


def demo_images_dir() -> Path:
    """Folder of the photos shipped for the demo (``chelsea.png``, ``coffee.png``; CC0, from scikit-image)."""
    return package_file("neuralwrap.sandwich", "demo_images")


def run_demo(out: Path, data: Path | None = None, n_images: int = 2, quality: int = 30, progress: bool = True) -> Path:
    """Write ``out/{name}_sandwich_q{quality}.jpg`` (a standard JPEG) of the first image, its decoded PNG, the
    plain JPEG at the same quality, an RD sweep (plain / post-only / sandwich) over the first ``n_images``
    images with plot + comparison, and ``report.md``. Images: the folder ``data``, or (None) the shipped
    photos of :func:`demo_images_dir`."""
    if data is not None and not Path(data).is_dir():
        raise InputError(f"--data: image folder not found: {data}")
    folder = demo_images_dir() if data is None else Path(data)
    images = dict(list(load_images(folder).items())[: max(1, n_images)])
    source = (
        f"the {len(images)} photo(s) shipped with neuralwrap (`neuralwrap/sandwich/demo_images`: CC0 photos "
        "from scikit-image; a demo, not a benchmark: pass `--data` a Kodak folder for the documented numbers)"
        if data is None
        else f"the first {len(images)} image(s) of `{folder}`"
    )
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
    summary = evaluate(models, images, out / "eval", spec, progress=progress)
    lines = [
        f"# sandwich demo ({DEMO_MODEL})",
        "",
        f"Images: {source}.",
        "",
        f"`{name}` at JPEG quality {quality} (4:2:0, optimised Huffman), real bytes:",
        "",
        "| | bytes | bpp | PSNR (dB) |",
        "|---|---|---|---|",
        f"| plain JPEG | {len(plain)} | {8 * len(plain) / (h * w):.3f} | {psnr(img, jpeg.decode(plain)):.2f} |",
        f"| sandwich | {len(sand)} | {8 * len(sand) / (h * w):.3f} | {psnr(img, dec):.2f} |",
        "",
        f"RD sweep over {len(images)} image(s) (BD vs plain JPEG, per image averaged):",
        "",
        "| curve | BD-rate (%) | BD-PSNR (dB) |",
        "|---|---|---|",
    ]
    for label in models:
        bd = summary["curves"][label]["bd"]["plain"]
        lines.append(f"| {label} | {bd['bd_rate_img']:+.2f} | {bd['bd_psnr_img']:+.3f} |")
    lines += [
        "",
        "Files: `eval/rd.png` (RD curves), `eval/comparison.png` (crops at a matched rate),",
        "`eval/records.csv`, `eval/summary.json`; the `.jpg` files open in any viewer.",
    ]
    report = out / "report.md"
    atomic_write_bytes(report, "\n".join(lines).encode())
    meta = {
        "image": name,
        "quality": quality,
        "images": list(images),
        "data": "shipped" if data is None else str(folder),
    }
    atomic_write_bytes(out / "demo_summary.json", json.dumps(meta, indent=2).encode())
    return report
