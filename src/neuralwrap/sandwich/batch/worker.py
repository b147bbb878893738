"""The work of one batch job, the same on every engine: a :class:`BatchWorker` loads its model once and turns
jobs into report rows, writing each output itself (atomically, so any number of workers may share a folder).

Per job: the source is hashed; an output that exists with its recorded size, source hash and settings is
skipped. Otherwise the output is made under a temporary name; if an output of that name already exists it is
replaced only when its bytes differ and ``force`` is set (identical bytes: nothing is rewritten; the row is
recorded, so an output finished just before a kill is not redone again). Any error of one file becomes a
``failed`` row and never stops the batch. The networks run with one torch thread per job, so a result does not
depend on the engine or the number of workers (decoded pixels can differ by one level between thread counts).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralwrap.codecs import get_codec
from neuralwrap.errors import InputError, NeuralwrapError
from neuralwrap.io.atomic import atomic_path
from neuralwrap.io.images import error_text, read_image, write_image
from neuralwrap.io.video import open_frames
from neuralwrap.metrics.msssim import ms_ssim_image
from neuralwrap.metrics.psnr import psnr
from neuralwrap.sandwich.inference.codec import SandwichCodec, decode_file, load_any, load_pretrained, read_source
from neuralwrap.sandwich.inference.fileformat import read_tag
from neuralwrap.sandwich.inference.video import encode_video
from neuralwrap.sandwich.inference.zoo import list_models

__all__ = ["KINDS", "BatchWorker", "WorkSpec", "set_worker_threads", "source_sha256"]

log = logging.getLogger(__name__)

#: the batch kinds: what a job reads and writes
KINDS = ("encode", "decode", "video")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class WorkSpec:
    """Everything a worker needs, as plain values (it travels to Ray workers)."""

    kind: str
    """``encode`` (image → codec file), ``decode`` (codec file → image) or ``video`` (clip → .mp4)."""
    out_dir: str
    model: str | None = None
    """Shipped model name or model file (encode, video); decode: the user's model file, or None for the shipped
    model each file names."""
    model_id: str = ""
    """``name@version`` of ``model`` (filled by the caller after validating it); part of the settings key."""
    quality: int | None = None
    device: str = "cpu"
    force: bool = False
    """Replace an existing output whose bytes differ (never an input)."""
    metrics: bool = False
    """encode: PSNR and MS-SSIM (dB, 0..1) of the decoded file against the source."""
    options: dict[str, Any] = field(default_factory=dict)
    """Kind-specific settings that change the output (alpha, lossless pass, video codec and rate …)."""

    def settings_key(self) -> str:
        """The settings an output was made with, as one canonical string (recorded, compared on re-runs)."""
        key = {"kind": self.kind, "model": self.model_id, "quality": self.quality, **self.options}
        return json.dumps(key, sort_keys=True)


def source_sha256(path: str | Path) -> str:
    """sha256 (hex) of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Unchanged(Exception):
    """The output made now equals the existing file: keep the file, do not rename."""


def _commit(final: Path, produce: Callable[[Path], None], force: bool) -> bool:
    """Make the output through ``produce(temporary_path)`` and rename it onto ``final``; False (and nothing
    rewritten) when ``final`` already holds these bytes. An existing ``final`` with other bytes is replaced only
    with ``force`` (:class:`InputError` otherwise)."""
    try:
        with atomic_path(final) as tmp:
            produce(tmp)
            if final.exists() or final.is_symlink():
                if final.is_file() and filecmp.cmp(tmp, final, shallow=False):
                    raise _Unchanged
                if not force:
                    raise InputError(
                        f"output {final} exists with other content (other settings or source); pass --force to "
                        "replace it"
                    )
    except _Unchanged:
        return False
    return True


def _reference(path: Path, channels: int) -> np.ndarray:
    """The source as the model sees it (8-bit, alpha dropped, gray replicated for a colour model)."""
    return read_image(path, mode="RGB" if channels == 3 else "L")


class BatchWorker:
    """Loads the model of ``spec`` once; ``worker(jobs)`` → report rows. Thread-safe: the local engine shares one
    worker between threads."""

    def __init__(self, spec: WorkSpec) -> None:
        if spec.kind not in KINDS:
            raise InputError(f"batch kind must be one of {', '.join(KINDS)}, got {spec.kind!r}")
        self.spec = spec
        self.key = spec.settings_key()
        self.out_dir = Path(spec.out_dir)
        self.model: SandwichCodec | None = load_any(spec.model, spec.device) if spec.model else None
        self._shipped: dict[str, SandwichCodec] = {}
        self._lock = threading.Lock()

    def __call__(self, jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.run(job) for job in jobs]

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """One job → its report row (status ``ok``, ``skipped`` or ``failed``; never raises for a bad file)."""
        t0 = time.perf_counter()
        row: dict[str, Any] = {"index": job["index"], "path": job["source"], "output": job["output"], "error": ""}
        try:
            row.update(self._run(Path(job["file"]), self.out_dir / job["output"], job.get("prev") or ""))
        except Exception as exc:  # one bad file never stops the batch: it is reported
            log.debug("batch job %s failed", job["source"], exc_info=True)
            text = " ".join(str(exc).split()) if isinstance(exc, NeuralwrapError) else error_text(exc)
            row.update(status="failed", error=text)
        row["seconds"] = time.perf_counter() - t0
        return row

    def _run(self, src: Path, final: Path, prev_text: str) -> dict[str, Any]:
        sha = source_sha256(src)
        base = {"sha256": sha, "settings": self.key, "bytes_in": src.stat().st_size}
        prev = json.loads(prev_text) if prev_text else None
        if (
            prev is not None
            and prev.get("sha256") == sha
            and prev.get("settings") == self.key
            and final.is_file()
            and final.stat().st_size == prev.get("bytes")
        ):
            row = {**{k: v for k, v in prev.items() if k not in ("path", "output")}, **base, "status": "skipped"}
            if self.spec.metrics and self.spec.kind == "encode" and prev.get("psnr") is None:
                row.update(self._metrics(src, final.read_bytes()), record=True)
            return row
        produce, figures = {"encode": self._encode, "decode": self._decode, "video": self._video}[self.spec.kind](src)
        written = _commit(final, produce, self.spec.force)
        row = {**base, **figures(), "status": "ok" if written else "skipped", "record": not written}
        if self.spec.metrics and self.spec.kind == "encode":
            row.update(self._metrics(src, final.read_bytes()))
        return row

    def _encode(self, src: Path) -> tuple[Callable[[Path], None], Callable[[], dict[str, Any]]]:
        sc = self._model()
        image = read_source(src, sc.name, self.spec.options.get("alpha") or "refuse")
        extra = {} if self.spec.options.get("lossless_pass", True) else {"lossless_pass": False}
        data = sc.encode(image, int(self.spec.quality or 0), **extra)
        h, w = image.shape[:2]
        return (lambda p: p.write_bytes(data)), lambda: {
            "bytes": len(data),
            "bpp": 8 * len(data) / (h * w),
            "width": w,
            "height": h,
        }

    def _decode(self, src: Path) -> tuple[Callable[[Path], None], Callable[[], dict[str, Any]]]:
        data = src.read_bytes()
        fmt, tag = read_tag(data)
        if tag is None:  # a plain file: decoded plainly (as `sandwich decode` does, without a warning per file)
            image = get_codec(fmt).decode(data)
        else:
            image, _ = decode_file(data, self.spec.device, sc=self.model or self._shipped_model(tag.model))
        h, w = image.shape[:2]
        out: dict[str, Any] = {"bpp": 8 * len(data) / (h * w), "width": w, "height": h}

        def produce(p: Path) -> None:
            write_image(p, image)
            out["bytes"] = p.stat().st_size

        return produce, lambda: out

    def _video(self, src: Path) -> tuple[Callable[[Path], None], Callable[[], dict[str, Any]]]:
        o = self.spec.options
        source = open_frames(
            src, size=o.get("size"), pix_fmt=o.get("in_pix_fmt"), fps=o.get("fps"), skip_corrupt=o["skip_corrupt"]
        )
        out: dict[str, Any] = {}

        def produce(p: Path) -> None:
            rep = encode_video(
                self._model(),
                source,
                p,
                codec=o["codec"],
                crf=o.get("crf"),
                qp=o.get("qp"),
                preset=o.get("preset"),
                pix_fmt=o.get("pix_fmt"),
                cond_quality=o.get("cond_quality"),
                max_frames=o.get("max_frames"),
                progress=False,
            )
            out.update(bytes=rep.bytes, bpp=rep.bpp, width=rep.width, height=rep.height, frames=rep.frames)

        return produce, lambda: out

    def _metrics(self, src: Path, data: bytes) -> dict[str, float]:
        """PSNR (dB) and MS-SSIM of the decoded file against the source."""
        sc = self._model()
        ref = _reference(src, sc.config.in_channels)
        rec = sc.decode(data)
        return {"psnr": psnr(ref, rec), "msssim": ms_ssim_image(ref, rec)}

    def _model(self) -> SandwichCodec:
        if self.model is None:
            raise InputError("this batch kind needs a model")
        return self.model

    def _shipped_model(self, name: str) -> SandwichCodec | None:
        """The shipped model a file names, loaded once per worker (None: not shipped; decode_file says so)."""
        if name not in list_models():
            return None
        with self._lock:
            if name not in self._shipped:
                self._shipped[name] = load_pretrained(name, self.spec.device)
            return self._shipped[name]


def set_worker_threads() -> None:
    """One torch thread for the calling thread (results then match across engines and worker counts)."""
    torch.set_num_threads(1)
