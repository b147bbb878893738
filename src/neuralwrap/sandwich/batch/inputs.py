"""What a batch run works on: a folder (walked recursively), a glob, or a manifest (CSV or Parquet with a ``path``
column) → jobs, each a source file and the output path it gets inside the output folder (the sub-folder layout
is kept, the suffix becomes the output format's).

Safety comes first: the output folder may lie inside an input folder (it is then skipped), but may never be or
hold the input folder; an input inside the output folder (a glob or manifest that names it) is left out, and a
job whose output would resolve to any input file fails before any work. Files of other kinds are ignored and
counted.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from neuralwrap.errors import InputError
from neuralwrap.sandwich.batch.state import LOCK_NAME, RECORD_NAME

__all__ = ["INPUT_SUFFIXES", "MANIFEST_SUFFIXES", "BatchInputs", "find_inputs", "ignored_rows", "is_batch_source"]

#: what each batch kind takes as input (lower-case suffixes); other files are ignored and counted
INPUT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "encode": (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp"),
    "decode": (".jpg", ".jpeg", ".webp", ".avif", ".heic", ".heif"),
    "video": (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".y4m", ".mpg", ".mpeg", ".ts"),
}
#: manifest files: a table with a ``path`` column (relative paths are taken from the manifest's folder)
MANIFEST_SUFFIXES = (".csv", ".parquet")
_GLOB_MAGIC = frozenset("*?[")


@dataclass
class BatchInputs:
    """The jobs of a run, in a stable order, and what was left out."""

    jobs: list[dict[str, object]]
    """``{"index", "source", "file", "output"}``: the source as given and as an absolute path (workers may run
    in other folders or on other nodes of a shared filesystem), ``output`` relative to the output folder."""
    refused: list[dict[str, object]] = field(default_factory=list)
    """Report rows (status ``failed``) of inputs refused before any work: missing, or an output clash."""
    ignored: list[str] = field(default_factory=list)
    """Files of another kind (not counted as failures)."""
    excluded: int = 0
    """Files (or whole folders) left out because they lie inside the output folder (earlier outputs, reports)."""


def is_batch_source(source: str) -> bool:
    """True when ``source`` names a batch input: an existing folder, a manifest file, or a glob pattern that is
    not itself an existing file."""
    p = Path(source)
    if p.is_dir():
        return True
    if p.is_file():
        return p.suffix.lower() in MANIFEST_SUFFIXES
    return any(c in _GLOB_MAGIC for c in source)


def _inside(path: str, folder: str) -> bool:
    """``path`` (resolved) is ``folder`` (resolved) or lies below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(root: Path, out_real: str) -> tuple[list[Path], int]:
    """Every file below ``root`` (symlinked folders not followed), skipping the output folder; and how many
    entries were skipped that way."""
    found: list[Path] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root):
        keep = []
        for d in dirnames:
            if _inside(os.path.realpath(os.path.join(dirpath, d)), out_real):
                skipped += 1
            else:
                keep.append(d)
        dirnames[:] = sorted(keep)
        found += [Path(dirpath, f) for f in filenames if f not in (RECORD_NAME, LOCK_NAME)]
    return found, skipped


def _glob_base(pattern: str) -> Path:
    """The leading folders of a glob pattern that hold no wildcard (outputs keep the layout below them)."""
    parts: list[str] = []
    for part in Path(pattern).parts[:-1]:
        if any(c in _GLOB_MAGIC for c in part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _read_manifest(path: Path) -> list[str]:
    """The ``path`` column of a CSV or Parquet manifest."""
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"{path}: reading a Parquet manifest needs pyarrow (pip install 'neuralwrap[ray]'); or give a CSV"
            ) from None
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises its own types for damaged files
            raise InputError(f"cannot read manifest {path}: {' '.join(str(exc).split())}") from exc
        if "path" not in table.column_names:
            raise InputError(f"manifest {path} has no 'path' column (columns: {', '.join(table.column_names)})")
        return [str(v) for v in table.column("path").to_pylist() if v]
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "path" not in reader.fieldnames:
                raise InputError(f"manifest {path} has no 'path' column (first line: {reader.fieldnames})")
            return [row["path"] for row in reader if row.get("path")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from exc


def _sources(source: str, out_real: str) -> tuple[list[Path], Path, int]:
    """The candidate files of ``source``, the folder their outputs' layout is relative to, and how many
    entries were left out as lying inside the output folder."""
    p = Path(source)
    if p.is_dir():
        if _inside(os.path.realpath(p), out_real):
            raise InputError(
                f"output folder {out_real} is or holds the input folder {source}: choose an output folder outside "
                "it (one inside the input folder is fine; it is skipped)"
            )
        files, skipped = _walk(p, out_real)
        return files, p, skipped
    if p.is_file():  # a manifest
        base = p.parent
        files = [Path(f) if Path(f).is_absolute() else base / f for f in _read_manifest(p)]
        if not files:
            raise InputError(f"manifest {source} lists no paths")
        try:
            root = Path(os.path.commonpath([os.path.abspath(f.parent) for f in files]))
        except ValueError:  # paths on different drives
            root = Path(os.path.abspath(base))
        return files, root, 0
    matches = sorted(Path(m) for m in glob.glob(source, recursive=True))
    if not matches:
        raise InputError(f"no files match {source!r}")
    return [m for m in matches if not m.is_dir()], _glob_base(source), 0


def _relative(path: Path, root: Path) -> Path:
    """``path`` relative to ``root`` (absolute forms compared), else its name alone."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return Path(path.name)


def find_inputs(source: str, out_dir: str | os.PathLike[str], kind: str, out_suffix: str) -> BatchInputs:
    """Jobs of ``kind`` (``encode``, ``decode``, ``video``) for ``source`` (folder, glob or manifest) writing into
    ``out_dir`` with ``out_suffix`` (``.jpg``, ``.png``, ``.mp4``). Raises :class:`InputError` when the output
    folder is or holds the input folder, or when nothing of the kind is found."""
    if Path(out_dir).is_file():
        raise InputError(f"output {out_dir} is a file: batch mode writes into a folder")
    out_real = os.path.realpath(out_dir)
    candidates, root, excluded = _sources(source, out_real)
    suffixes = INPUT_SUFFIXES[kind]
    result = BatchInputs(jobs=[], excluded=excluded)
    wanted: list[Path] = []
    for f in candidates:
        if _inside(os.path.realpath(f), out_real):
            result.excluded += 1
        elif f.suffix.lower() in suffixes:
            wanted.append(f)
        else:
            result.ignored.append(str(f))
    if not wanted:
        more = f" ({len(result.ignored)} other files ignored)" if result.ignored else ""
        raise InputError(f"no {kind} inputs ({', '.join(suffixes)}) in {source}{more}")
    _make_jobs(result, sorted(wanted, key=lambda f: _relative(f, root).as_posix()), root, out_dir, out_suffix)
    return result


def _make_jobs(
    result: BatchInputs, files: Sequence[Path], root: Path, out_dir: str | os.PathLike[str], out_suffix: str
) -> None:
    """Fill ``result.jobs`` / ``result.refused``: one job per file; a file that is missing, whose output another
    file already takes, or whose output would resolve to an input file is refused."""
    inputs_real = {os.path.realpath(f) for f in files}
    taken: dict[str, str] = {}
    for f in files:
        rel = _relative(f, root).with_suffix(out_suffix).as_posix()
        error = ""
        if not f.is_file():
            error = f"input file not found: {f}"
        elif rel in taken:
            error = f"output {rel} is already written from {taken[rel]}: rename one of the two inputs"
        elif os.path.realpath(Path(out_dir, rel)) in inputs_real:
            error = f"output {rel} would overwrite an input file: refused"
        index = len(result.jobs) + len(result.refused)
        if error:
            result.refused.append({"index": index, "path": str(f), "output": rel, "status": "failed", "error": error})
        else:
            taken[rel] = str(f)
            result.jobs.append({"index": index, "source": str(f), "file": os.path.abspath(f), "output": rel})


def ignored_rows(paths: Iterable[str], start: int) -> list[dict[str, object]]:
    """Report rows (status ``ignored``) of files of another kind, indexed from ``start``."""
    return [
        {"index": start + i, "path": p, "output": "", "status": "ignored", "error": "not an input of this kind"}
        for i, p in enumerate(paths)
    ]
