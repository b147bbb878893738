"""Atomic file output: the final file appears only on success, with the usual (umask-based) permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from neuralwrap.io.atomic import atomic_path, atomic_write_bytes


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_success_renames_with_umask_mode(tmp_path: Path, mask: int, mode: int) -> None:
    old = os.umask(mask)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"abc")
        assert os.umask(mask) == mask  # the umask is left as it was
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").read_bytes() == b"abc"
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == mode  # not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_failure_leaves_nothing_and_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "b.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["b.txt"]
