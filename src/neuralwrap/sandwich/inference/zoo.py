"""The pretrained zoo: one table, name → shipped weight file + sha256, checked on load."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.resources import package_file

__all__ = ["PRETRAINED_DIR", "ZOO", "ZooEntry", "list_models", "zoo_path"]

#: folder of the shipped model files (``neuralwrap/sandwich/pretrained``, found with importlib.resources)
PRETRAINED_DIR: Path = package_file("neuralwrap.sandwich", "pretrained")


@dataclass(frozen=True)
class ZooEntry:
    """A shipped model: its files in :data:`PRETRAINED_DIR` and what it is for."""

    file: str
    """Stem of ``<file>.safetensors`` / ``<file>.json``."""
    sha256: str
    """sha256 of the safetensors file."""
    description: str
    """One line for ``sandwich models``."""
    app: str | None = None
    """Application (:mod:`neuralwrap.sandwich.apps.registry`) the model belongs to; None = plain RGB sandwich."""


#: name → entry. Regenerate sha256 with ``sha256sum src/neuralwrap/sandwich/pretrained/*.safetensors``.
ZOO: dict[str, ZooEntry] = {
    "jpeg420": ZooEntry(
        "jpeg420",
        "042c342ca45d954b3fb5ab7786e51b5dd0094b83085db2bc27405b4c6ee8953b",
        "JPEG 4:2:0 (optimised Huffman), q 5-95: slim pre (57K) + post (488K)",
    ),
    "jpeg420-postonly": ZooEntry(
        "jpeg420-postonly",
        "9f4a2b2cb634471229fedb5770e531c1d037277387030a22ce1aabee21ad4711",
        "baseline: JPEG 4:2:0 post-processor only (543K, same size and budget as jpeg420)",
    ),
    "jpeg444": ZooEntry(
        "jpeg444",
        "954d8f1d61dabe9ae20779a6cbf0dadc625432deaf98804c737009e20ebac8a3",
        "JPEG 4:4:4 (optimised Huffman), q 5-95: slim pre (57K) + post (488K)",
    ),
    "jpeg444-postonly": ZooEntry(
        "jpeg444-postonly",
        "150b16920da1f0786641813d2ade5bf160f5cc849da92f19742466118250132e",
        "baseline: JPEG 4:4:4 post-processor only (543K, same size and budget as jpeg444)",
    ),
    "rgb-over-gray": ZooEntry(
        "rgb-over-gray",
        "3ac4e6cc0f2ef58571b48e4bae0ba73bcd6def4acbad2d06d39d4939e806a268",
        "RGB over grayscale JPEG 4:0:0, q 5-95: slim pre (66K) + post (120K), 4 carriers, 9000 steps",
        app="rgb-over-gray",
    ),
    "rgb-over-gray-postonly": ZooEntry(
        "rgb-over-gray-postonly",
        "8cc80f1f739114974dd5310473d0508ce34644874f40a42c4f0fd49c758b222a",
        "baseline: colourisation post-processor only over grayscale JPEG (187K, same data and steps as rgb-over-gray)",
        app="rgb-over-gray",
    ),
    "lowres-2x": ZooEntry(
        "lowres-2x",
        "44dc16d3d8427605ea2e52130db2e4eab62eea1e966685b7c0ddecbd0498f0dc",
        "2x resolution over a half-resolution JPEG 4:2:0, q 5-95: slim pre (60K) + post (119K), 9000 steps",
        app="lowres-2x",
    ),
    "lowres-2x-444": ZooEntry(
        "lowres-2x-444",
        "fcb8568861736f931aaf45f44e2a292851619ec6906dc8fd7a995fcf9739a560",
        "2x resolution over a half-resolution JPEG 4:4:4, q 5-100: slim pre (60K) + post (119K); version 2, from "
        "lowres-2x + 129,000 CPU steps",
        app="lowres-2x-444",
    ),
    "hdr-jpeg": ZooEntry(
        "hdr-jpeg",
        "067656c713ad911df3576c1981ed8e08c88ae0d8dc53c1613e621d9965d0a485",
        "HDR (PU21 representation) through 8-bit JPEG 4:2:0, q 5-95: slim pre (57K) + post (488K); version 2, "
        "5,914 GPU steps (about even with its 8-bit baseline on PU21-PSNR, worse on HDR-FLIP; see docs/BENCHMARKS.md)",
        app="hdr",
    ),
    "jpeg420-lpips": ZooEntry(
        "jpeg420-lpips",
        "e130d5893c676513e64b733f0c726375b5e1cb0644f83b6da31f21d3e95854cc",
        "JPEG 4:2:0 trained for LPIPS (0.25 MSE + 0.75 LPIPS-alex), fine-tuned from jpeg420 for 3,000 steps: slim pre (57K) + post (488K)",
        app="jpeg420-lpips",
    ),
    "jpeg420-msssim": ZooEntry(
        "jpeg420-msssim",
        "21a4e87e1b276aaa8e2309904f66403ad987c5e7f5ec70cc3eaf80a49230e53e",
        "JPEG 4:2:0 trained for MS-SSIM (0.25 MSE + 0.75 (1-MS-SSIM)), fine-tuned from jpeg420 for 700 steps: slim pre (57K) + post (488K)",
        app="jpeg420-msssim",
    ),
    "mc6-jpeg": ZooEntry(
        "mc6-jpeg",
        "2e373870c1c945aa85255cd5fa70c3b12bc66c316e8527208bb14994e321f57d",
        "6-channel framebuffer (RGB+normals) as 2 JPEG 4:2:0 files: slim pre (58K) + post (119K); grouped code "
        "(load with apps_multichannel.load_grouped)",
        app="mc6-jpeg",
    ),
    "mc8-jpeg": ZooEntry(
        "mc8-jpeg",
        "d18d1041537fc901bcbaa9066d592775bd55010d2c1ffeee1fbe28b8ada87721",
        "8-channel framebuffer (RGB+normals+disparity+mask) as 3 JPEG 4:2:0 files: slim pre (59K) + post (120K); "
        "grouped code (load with apps_multichannel.load_grouped)",
        app="mc8-jpeg",
    ),
    "hevc444-video": ZooEntry(
        "hevc444-video",
        "2334ebcc9f725eefb587efb1d85d88e0076824f2542b93a25de5571dc0069764",
        "x265 4:4:4 video sandwich trained through the video proxy (slim pre/post, 114K; q = 100 - 2 QP): "
        "retired: loses to plain x265 4:4:4 on every set measured (docs/models/hevc444-video.md); shipped so that "
        "the files it wrote still decode",
    ),
    "hevc-gray-video": ZooEntry(
        "hevc-gray-video",
        "87ed34f811d4f4e27e58dedfc5ed90ed947bf391234e7bdcd87dfda2f53e8eca",
        "RGB over x265 4:0:0 video, trained through the video proxy (the 9000-step rgb-over-gray fine-tuned, 186K): "
        "+5.3 to +11.5 dB vs x265 gray of the luma",
    ),
    "hevc420-x2-video": ZooEntry(
        "hevc420-x2-video",
        "772b3766aa4b679cb14a74d9e02c97d677a374abf7f181b66a62bbf8dda97ba9",
        "2x resolution over a half-resolution x265 4:2:0 encode, trained through the video proxy (lowres-2x "
        "fine-tuned, 179K; q = 100 - 2 QP): +0.1 to +0.7 dB vs bicubic half + x265 + bicubic",
    ),
    "hevc420-lpips-video": ZooEntry(
        "hevc420-lpips-video",
        "d29c94dd717d7736821997ccd725015b229924c93ce93691c3364829004bff55",
        "x265 4:2:0 video sandwich for LPIPS (0.25 MSE + 0.75 LPIPS-alex), trained through the video proxy from "
        "the 3,000-step jpeg420-lpips (545K; q = 100 - 2 QP; 600 steps): -11 to -38% BD-rate under LPIPS vs plain "
        "x265 4:2:0",
    ),
}


def list_models() -> dict[str, ZooEntry]:
    """The shipped models, by name."""
    return dict(ZOO)


def zoo_path(name: str) -> Path:
    """Path of the safetensors file of the shipped model ``name`` after checking its sha256."""
    if name not in ZOO:
        known = ", ".join(sorted(ZOO)) or "(none)"
        raise InputError(f"unknown pretrained model {name!r}; shipped models: {known}")
    entry = ZOO[name]
    path = PRETRAINED_DIR / f"{entry.file}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"pretrained model file missing: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry.sha256:
        raise CheckpointError(f"pretrained model {name!r}: sha256 mismatch ({digest} != {entry.sha256}); file corrupt?")
    return path
