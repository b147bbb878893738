"""The report of a batch run: ``report.csv`` (one row per input file, in input order) and the summary.

Statuses: ``ok`` (output written), ``skipped`` (output already right), ``failed`` (the error says why; the
run's exit code is then non-zero) and ``ignored`` (a file of another kind). Sizes are bytes, ``bpp`` bits per
pixel of the coded file (per frame for video), ``psnr`` dB and ``msssim`` 0..1 (encode with ``--metrics``:
the decoded file against the source), ``seconds`` the worker's wall time for the file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from typing import Any

from neuralwrap.io.atomic import atomic_write_bytes

__all__ = ["REPORT_FIELDS", "STATUSES", "summarize", "summary_line", "write_report"]

REPORT_FIELDS = (
    "path",
    "output",
    "status",
    "error",
    "bytes_in",
    "bytes",
    "bpp",
    "width",
    "height",
    "frames",
    "psnr",
    "msssim",
    "seconds",
)
STATUSES = ("ok", "skipped", "failed", "ignored")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_report(path: str | os.PathLike[str], rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` (sorted by their ``index``) as CSV with :data:`REPORT_FIELDS`, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: int(r.get("index", 0))):
        writer.writerow({k: _cell(row.get(k)) for k in REPORT_FIELDS})
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))


def summarize(rows: Sequence[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Counts per status; MB in/out and mean bpp over the outputs in place (ok + skipped); ``images_per_s``:
    outputs written per second of the run (``seconds``: wall time, start-up included)."""
    count = {s: sum(r.get("status") == s for r in rows) for s in STATUSES}
    done = [r for r in rows if r.get("status") in ("ok", "skipped")]
    bpps = [float(r["bpp"]) for r in done if r.get("bpp") is not None]
    psnrs = [float(r["psnr"]) for r in done if r.get("psnr") is not None]
    return {
        "inputs": count["ok"] + count["skipped"] + count["failed"],
        **count,
        "mb_in": sum(int(r.get("bytes_in") or 0) for r in done) / 1e6,
        "mb_out": sum(int(r.get("bytes") or 0) for r in done) / 1e6,
        "mean_bpp": sum(bpps) / len(bpps) if bpps else None,
        "mean_psnr": sum(psnrs) / len(psnrs) if psnrs else None,
        "seconds": seconds,
        "images_per_s": count["ok"] / seconds if seconds > 0 else None,
    }


def summary_line(summary: dict[str, Any], what: str = "images") -> str:
    """One human line: ``12 images: 10 ok, 1 skipped, 1 failed (3 other files ignored); 9.1 MB → 0.8 MB, mean
    0.71 bpp, 2.4 images/s``."""
    s = summary
    text = f"{s['inputs']} {what}: {s['ok']} ok, {s['skipped']} skipped, {s['failed']} failed"
    if s["ignored"]:
        text += f" ({s['ignored']} other files ignored)"
    text += f"; {s['mb_in']:.1f} MB in, {s['mb_out']:.1f} MB out"
    if s["mean_bpp"] is not None:
        text += f", mean {s['mean_bpp']:.3f} bpp"
    if s["mean_psnr"] is not None:
        text += f", mean PSNR {s['mean_psnr']:.2f} dB"
    if s["images_per_s"] is not None:
        text += f", {s['images_per_s']:.2f} {what}/s written ({s['seconds']:.1f} s)"
    return text
