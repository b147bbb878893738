"""Resumable, idempotent batch runs: the run record ``OUT/.neuralwrap-batch.jsonl``.

One JSON line per output written (or found already right): its path relative to the output folder, the
source's sha256, the settings key (model id and version, quality, options) and the output's size and figures.
A later run skips an output that exists, has its recorded size, and whose row matches the source's current hash
and the run's settings, so a second run over the same folders rewrites nothing and a killed run, re-run, does
the rest only. Lines are appended by the one process driving the run (it holds ``OUT/.neuralwrap-batch.lock``),
after the worker has renamed the output into place; a line cut short by a kill is ignored on load.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from neuralwrap.errors import InputError

__all__ = ["LOCK_NAME", "RECORD_NAME", "RunState", "run_state"]

log = logging.getLogger(__name__)

#: the run record, in the output folder
RECORD_NAME = ".neuralwrap-batch.jsonl"
#: held while a run writes into the output folder
LOCK_NAME = ".neuralwrap-batch.lock"
#: what a state row keeps of a report row
STATE_FIELDS = ("output", "path", "sha256", "settings", "bytes", "bpp", "width", "height", "frames", "psnr", "msssim")
#: temporaries of :func:`neuralwrap.io.atomic.atomic_path` (``.NAME.XXXXXXXX.tmp.SUFFIX``) a killed worker left
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")


class RunState:
    """The run record of one output folder: the latest row per output, and appending new rows."""

    def __init__(self, out_dir: Path, handle: IO[str]) -> None:
        self.out_dir = out_dir
        self._handle = handle
        self.rows: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        """Read the record (the latest row of each output wins; damaged lines are skipped)."""
        path = self.out_dir / RECORD_NAME
        if not path.is_file():
            return
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("output"), str):
                    self.rows[row["output"]] = row

    def previous(self, output: str) -> str:
        """The recorded row of ``output`` as JSON text, or "" (a plain string travels to any worker)."""
        row = self.rows.get(output)
        return json.dumps(row) if row else ""

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Record the rows whose output is now in place (``ok``, or found right with ``record`` set)."""
        lines = []
        for row in rows:
            if row.get("status") == "ok" or row.get("record"):
                kept = {k: row.get(k) for k in STATE_FIELDS}
                self.rows[row["output"]] = kept
                lines.append(json.dumps(kept) + "\n")
        if lines:
            self._handle.write("".join(lines))
            self._handle.flush()
            os.fsync(self._handle.fileno())


def _lock(handle: IO[str], out_dir: Path) -> None:
    """Take the folder's lock without waiting (POSIX); elsewhere runs are not guarded."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise InputError(f"another batch run is writing into {out_dir}; wait for it or choose another output") from None


def _remove_temporaries(out_dir: Path) -> int:
    """Remove the temporaries that workers killed mid-write left in ``out_dir``; returns how many."""
    removed = 0
    for dirpath, _, filenames in os.walk(out_dir):
        for name in filenames:
            if _TEMPORARY.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
    if removed:
        log.info("removed %d temporaries of an interrupted run in %s", removed, out_dir)
    return removed


def _cut_short(path: Path) -> bool:
    """True when ``path`` exists, is not empty and does not end with a newline."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"


@contextlib.contextmanager
def run_state(out_dir: str | os.PathLike[str]) -> Iterator[RunState]:
    """Open the run record of ``out_dir`` (created, with the folder) for one run: takes the folder's lock, removes
    temporaries of a killed run, loads the recorded rows. :class:`InputError` when another run holds the lock."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_NAME, "a", encoding="utf-8") as lock:
        _lock(lock, out)
        _remove_temporaries(out)
        record = out / RECORD_NAME
        cut = _cut_short(record)
        with open(record, "a", encoding="utf-8") as handle:
            if cut:  # a kill cut the last line short: end it, so the next row starts on a line of its own
                handle.write("\n")
            state = RunState(out, handle)
            state.load()
            yield state
