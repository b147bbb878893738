"""Shared helpers of the robustness suite: seeded file corruptions, input snapshots and the refusal check.

Every corruption takes a :class:`numpy.random.Generator` seeded by the caller, so a failing case names its seed
and replays exactly. :func:`assert_refused` is the contract every bad input must meet on every command: a
non-zero exit, the error as the last line of stderr (one line, ``<prog>: error: …``), no traceback anywhere,
every input byte-for-byte unchanged and nothing left in the output folder (no result, no temporary).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

__all__ = [
    "FLIPS",
    "MUST_FAIL",
    "Corruption",
    "assert_clean",
    "assert_error_line",
    "assert_refused",
    "corrupt_one_frame",
    "run_cli",
    "snapshot",
]

#: the one-line error every command prints last (``sandwich decode: error: …``, ``rerender: error: …``)
ERROR_LINE = re.compile(r"^(sandwich( [a-z]+){1,2}|rerender): error: \S.*$")


@dataclass(frozen=True)
class Corruption:
    """A named, seeded way to damage a file's bytes."""

    name: str
    seed: int
    fn: Callable[[bytes, np.random.Generator], bytes]

    def __call__(self, data: bytes) -> bytes:
        return self.fn(data, np.random.default_rng(self.seed))

    def __str__(self) -> str:
        return f"{self.name}-{self.seed}"


def _empty(data: bytes, rng: np.random.Generator) -> bytes:
    return b""


def _truncate(data: bytes, rng: np.random.Generator) -> bytes:
    """Cut the file at a random point between 5 % and 95 % of its length."""
    return data[: max(1, int(rng.uniform(0.05, 0.95) * len(data)))]


def _bad_magic(data: bytes, rng: np.random.Generator) -> bytes:
    """Overwrite the first 12 bytes (magic number / first box header) with random bytes."""
    head = bytes(rng.integers(0, 256, 12, dtype=np.uint8))
    return head + data[12:] if head != data[:12] else b"\0" * 12 + data[12:]


def _flip_bits(data: bytes, rng: np.random.Generator) -> bytes:
    """Flip 1-8 random bits past the first 16 bytes (the payload: a decoder may or may not notice)."""
    buf = bytearray(data)
    for pos in rng.integers(16, len(buf), size=int(rng.integers(1, 9))):
        buf[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(buf)


#: damage every decoder must notice: empty file, three truncations, a destroyed header
MUST_FAIL: tuple[Corruption, ...] = (
    Corruption("empty", 0, _empty),
    *(Corruption("truncated", s, _truncate) for s in (1, 2, 3)),
    Corruption("bad-magic", 4, _bad_magic),
)
#: payload bit flips: a format without checksums may decode them to a (damaged) image, so the contract is
#: "success, or a clean refusal" — never a traceback, a changed input or a half-written output
FLIPS: tuple[Corruption, ...] = tuple(Corruption("bit-flips", s, _flip_bits) for s in (5, 6))


def corrupt_one_frame(data: bytes) -> tuple[bytes, int]:
    """An MP4 with the middle half of its last packet in decode order (a frame no other frame references)
    inverted, and that frame's presentation index: a decoder loses exactly that frame."""
    import av

    with av.open(io.BytesIO(data), format="mp4") as c:
        packets = [(p.pts, p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    pts, pos, size = packets[-1]
    start, stop = pos + size // 4, pos + size // 4 + max(size // 2, 1)
    out = bytearray(data)
    out[start:stop] = bytes(b ^ 0xFF for b in out[start:stop])
    return bytes(out), sorted(p[0] for p in packets).index(pts)


def snapshot(*paths: Path) -> dict[str, str]:
    """``path -> sha256`` of every file under ``paths`` (files or folders; a missing path maps to "")."""
    out: dict[str, str] = {}
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else ""
    return out


def run_cli(
    main: Callable[[Sequence[str]], int], argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run a CLI in-process: ``(exit code, stderr)``; an argparse exit counts as its code."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code if isinstance(exc.code, int) else 1
    return rc, capsys.readouterr().err


def assert_clean(err: str, out_dir: Path, before: dict[str, str], inputs: Sequence[Path]) -> None:
    """No traceback, inputs unchanged, and nothing but finished results in ``out_dir``."""
    assert "Traceback" not in err, f"traceback on stderr:\n{err}"
    assert snapshot(*inputs) == before, "an input file changed"
    found = out_dir.rglob("*") if out_dir.exists() else ()
    left = [p.name for p in found if p.name.startswith(".") or ".tmp" in p.name]
    assert not left, f"temporary files left behind: {left}"


def assert_error_line(err: str) -> str:
    """The last stderr line is the one ``<prog>: error: …`` line; returns it."""
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    assert lines and ERROR_LINE.match(lines[-1]), f"last stderr line is not a one-line error:\n{err}"
    assert sum(bool(ERROR_LINE.match(ln)) for ln in lines) == 1, f"more than one error line:\n{err}"
    return lines[-1]


def assert_refused(
    main: Callable[[Sequence[str]], int],
    argv: Sequence[str],
    capsys: pytest.CaptureFixture[str],
    inputs: Sequence[Path],
    out_dir: Path,
) -> str:
    """Run ``argv`` and check the refusal contract (see the module doc); returns the error line."""
    before = snapshot(*inputs)
    rc, err = run_cli(main, argv, capsys)
    assert rc != 0, f"exit code 0 for {argv}; stderr:\n{err}"
    assert_clean(err, out_dir, before, inputs)
    line = assert_error_line(err)
    assert not out_dir.exists() or not any(out_dir.iterdir()), f"output left in {out_dir}: {list(out_dir.iterdir())}"
    return line
