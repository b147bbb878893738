"""Build the validation suite (issue 25): photos, HDR images and video clips that no training reads, and not Kodak.

    python benchmarks/make_validation.py --data ../shared/data --out runs/validation [--write-doc docs/VALIDATION.md]

Layout of ``--out`` (read by ``benchmarks/model_cards.py``; keep it):

- ``photos/<folder>_<stem>_<i>.png``: sharp crops (native resolution) of the validation split of ``train/``
  (:func:`neuralwrap.sandwich.training.split.validation_files`), 768×512 (512×768 for portrait photos; the largest
  multiple-of-16 crop of a smaller photo), one per photo plus a second one (opposite corner) for a seeded few, so
  that there are ``--photo-crops`` in all;
- ``hdr/<file>``: the HDR images of ``hdr/`` byte-for-byte (no training reads them: HDR training synthesises HDR
  crops from the LDR training photos);
- ``video/<name>.y4m``: ``--frames`` frames, at most 352×288, even sides: the three real clips of
  ``video/validation/`` (centre crop, 4:2:0 planes copied unchanged), the frames of BasketballPass that no
  evaluation or tuning used (they all read the first 30), and two synthetic camera moves (a pan and a zoom,
  4:4:4) over validation photos;
- ``manifest.json``: every file with its kind, source, crop box / frames, size and sha256.

Resumable: an output whose manifest entry has the same recipe and whose bytes still match the recorded sha256 is
skipped. Every output is written atomically; the manifest is rewritten after each part. Deterministic for a
given ``--seed`` and data folder (PNG via Pillow, y4m raw).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.hdr import HDR_SUFFIXES
from neuralwrap.io.images import read_image
from neuralwrap.sandwich.training.split import VALIDATION_FOLDERS, validation_files

PARTS = ("photos", "hdr", "video")
MANIFEST = "manifest.json"
FORMAT = "neuralwrap-validation"
VERSION = 1
#: photo crop (width, height) for landscape photos; portrait photos get it transposed
PHOTO_CROP = (768, 512)
#: largest video frame (width, height)
VIDEO_MAX = (352, 288)
#: real clips of ``video/validation/``: name → (file, raw size or None, fps, first frame). The MP4s start at frame 60,
#: where the centre crop has motion (a cyclist in traffic; a car crossing the road): their first frames are nearly
#: still (an empty road)
REAL_CLIPS: dict[str, tuple[str, tuple[int, int] | None, str, int]] = {
    "bikes": ("validation/bikes_640x272_25fps.mp4", None, "25/1", 60),
    "car-detection": ("validation/car-detection_768x432_12.5fps.mp4", None, "25/2", 60),
    "nflx-src01": ("validation/nflx-src01_160x90_i420_48f.yuv", (160, 90), "24/1", 0),
}
#: shared clips with frames no model evaluation or tuning read (those read the first 30 frames): name → (folder, fps,
#: first frame)
LATE_CLIPS: dict[str, tuple[str, str, int]] = {"basketballpass-late": ("basketballpass", "50/1", 60)}


@dataclass
class Job:
    """One output file: its manifest entry without the hashes (the recipe) and how to make its bytes."""

    entry: dict[str, Any]
    make: Callable[[], bytes]


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rank(seed: int, what: str, rel: str) -> str:
    return sha256_bytes(f"{seed}/{what}/{rel}".encode())


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


# -- photos ------------------------------------------------------------------------------------------------------


def crop_size(width: int, height: int) -> tuple[int, int]:
    """Crop ``(w, h)`` for a ``width×height`` photo: :data:`PHOTO_CROP` (transposed for portrait), each side cut to
    the photo's largest multiple of 16 where the photo is smaller."""
    cw, ch = PHOTO_CROP if width >= height else PHOTO_CROP[::-1]
    return min(cw, width // 16 * 16), min(ch, height // 16 * 16)


def photo_boxes(rel: str, width: int, height: int, crops: int, seed: int) -> list[tuple[int, int, int, int]]:
    """``crops`` (1 or 2) crop boxes ``(x, y, w, h)`` for a photo, from a generator seeded by ``seed`` and ``rel``:
    one at a random place, or two at a random corner and the opposite one."""
    cw, ch = crop_size(width, height)
    rng = np.random.default_rng([seed, int(_rank(seed, "photo", rel)[:12], 16)])
    if crops == 1:
        return [(int(rng.integers(0, width - cw + 1)), int(rng.integers(0, height - ch + 1)), cw, ch)]
    x, y = (width - cw) * int(rng.integers(0, 2)), (height - ch) * int(rng.integers(0, 2))
    return [(x, y, cw, ch), (width - cw - x, height - ch - y, cw, ch)]


def photo_jobs(data: Path, total: int, seed: int) -> list[Job]:
    """Crops of the validation photos under ``data/train``: one per photo, two for ``total − n`` seeded photos."""
    files = validation_files(data / "train")
    rels = [p.relative_to(data).as_posix() for p in files]
    extra = sorted(rels, key=lambda r: _rank(seed, "second", r))[: max(0, total - len(rels))]
    jobs: list[Job] = []
    for path, rel in zip(files, rels):
        with Image.open(path) as im:
            width, height = im.size
        if min(crop_size(width, height)) < 16:
            continue
        src_sha = sha256_file(path)
        for i, box in enumerate(photo_boxes(rel, width, height, 2 if rel in extra else 1, seed)):
            entry = {
                "path": f"photos/{path.parent.name}_{path.stem}_{i}.png",
                "kind": "photo",
                "source": rel,
                "source_sha256": src_sha,
                "crop": list(box),
                "size": [box[2], box[3]],
            }
            jobs.append(Job(entry, lambda p=path, b=box: _png(_crop(read_image(p), b))))
    return jobs


def _crop(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return np.ascontiguousarray(img[y : y + h, x : x + w])


# -- HDR ---------------------------------------------------------------------------------------------------------


def hdr_jobs(data: Path) -> list[Job]:
    """The HDR images of ``data/hdr`` (and their licence text), copied byte-for-byte."""
    root = data / "hdr"
    if not root.is_dir():
        return []
    jobs = []
    for p in sorted(root.iterdir()):
        kind = "hdr" if p.suffix.lower() in HDR_SUFFIXES else "licence" if p.name.startswith("LICENSE") else None
        if kind is None or not p.is_file():
            continue
        entry: dict[str, Any] = {
            "path": f"hdr/{p.name}",
            "kind": kind,
            "source": p.relative_to(data).as_posix(),
            "source_sha256": sha256_file(p),
        }
        if kind == "hdr":
            entry["size"] = list(_hdr_size(p))
        jobs.append(Job(entry, p.read_bytes))
    return jobs


def _hdr_size(path: Path) -> tuple[int, int]:
    from neuralwrap.io.hdr import read_hdr

    h, w = read_hdr(path).shape[:2]
    return w, h


# -- video -------------------------------------------------------------------------------------------------------


def y4m_bytes(planes: list[list[np.ndarray]], width: int, height: int, fps: str, pix_fmt: str) -> bytes:
    """A YUV4MPEG2 file: ``planes[t]`` = [Y, U, V] uint8 arrays of frame ``t``; ``pix_fmt`` yuv420p or yuv444p;
    ``fps`` as ``"num/den"``."""
    num, _, den = fps.partition("/")
    chroma = {"yuv420p": "420jpeg", "yuv444p": "444"}[pix_fmt]
    out = [f"YUV4MPEG2 W{width} H{height} F{num}:{den or 1} Ip A1:1 C{chroma} XCOLORRANGE=LIMITED\n".encode()]
    for frame in planes:
        out.append(b"FRAME\n")
        out += [np.ascontiguousarray(p, dtype=np.uint8).tobytes() for p in frame]
    return b"".join(out)


def _centre_box(width: int, height: int) -> tuple[int, int, int, int]:
    w, h = min(width, VIDEO_MAX[0]) // 2 * 2, min(height, VIDEO_MAX[1]) // 2 * 2
    return (width - w) // 4 * 2, (height - h) // 4 * 2, w, h


def _crop420(frame: list[np.ndarray], box: tuple[int, int, int, int]) -> list[np.ndarray]:
    x, y, w, h = box
    cw, ch = (w + 1) // 2, (h + 1) // 2
    return [frame[0][y : y + h, x : x + w], *(p[y // 2 : y // 2 + ch, x // 2 : x // 2 + cw] for p in frame[1:])]


def _raw420_frames(path: Path, size: tuple[int, int], first: int, count: int) -> Iterator[list[np.ndarray]]:
    w, h = size
    cw, ch = (w + 1) // 2, (h + 1) // 2
    fb = w * h + 2 * cw * ch
    data = np.frombuffer(path.read_bytes(), np.uint8)
    for t in range(first, min(first + count, data.size // fb)):
        f = data[t * fb : (t + 1) * fb]
        yield [
            f[: w * h].reshape(h, w),
            f[w * h : w * h + cw * ch].reshape(ch, cw),
            f[w * h + cw * ch :].reshape(ch, cw),
        ]


def _container420_frames(path: Path, first: int, count: int) -> Iterator[list[np.ndarray]]:
    import av

    with av.open(str(path)) as c:
        for t, frame in enumerate(c.decode(video=0)):
            if t >= first + count:
                break
            if t < first:
                continue
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            yield [_plane(p) for p in frame.planes]


def _plane(plane: Any) -> np.ndarray:
    buf = np.frombuffer(bytes(plane), np.uint8).reshape(plane.height, plane.line_size)
    return buf[:, : plane.width].copy()


def rgb_to_yuv444(rgb: np.ndarray) -> list[np.ndarray]:
    """``(H, W, 3)`` uint8 RGB → [Y, U, V] planes by swscale (BT.601 limited range, what the frame readers invert)."""
    import av

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv444p")
    return [_plane(p) for p in frame.planes]


def _real_clip(data: Path, name: str, frames: int) -> tuple[dict[str, Any], Callable[[], bytes]]:
    rel, size, fps, first = REAL_CLIPS[name]
    path = data / "video" / rel
    if size is None:
        import av

        with av.open(str(path)) as c:
            st = c.streams.video[0]
            size = (st.codec_context.width, st.codec_context.height)
    box = _centre_box(*size)
    entry = {"source_size": list(size), "crop": list(box), "frames": [first, first + frames], "fps": fps}

    def make() -> bytes:
        if path.suffix == ".yuv":
            src = _raw420_frames(path, size, first, frames)
        else:
            src = _container420_frames(path, first, frames)
        planes = [_crop420(f, box) for f in src]
        if len(planes) < frames:
            raise RuntimeError(f"{rel}: only {len(planes)} frames from frame {first}")
        return y4m_bytes(planes, box[2], box[3], fps, "yuv420p")

    return {**entry, "source": f"video/{rel}", "pix_fmt": "yuv420p", "motion": "real"}, make


def _late_clip(data: Path, name: str, frames: int) -> tuple[dict[str, Any], Callable[[], bytes]]:
    folder, fps, first = LATE_CLIPS[name]
    files = sorted((data / "video" / folder).glob("*.png"))[first : first + frames]
    if len(files) < frames:
        raise RuntimeError(f"video/{folder}: fewer than {first + frames} frames")
    with Image.open(files[0]) as im:
        size = im.size
    box = _centre_box(*size)
    entry = {"source_size": list(size), "crop": list(box), "frames": [first, first + frames], "fps": fps}

    def make() -> bytes:
        planes = [rgb_to_yuv444(_crop(read_image(f), box)) for f in files]
        return y4m_bytes(planes, box[2], box[3], fps, "yuv444p")

    return {**entry, "source": f"video/{folder}", "pix_fmt": "yuv444p", "motion": "real"}, make


def camera_boxes(
    width: int, height: int, frames: int, motion: str, rng: np.random.Generator
) -> list[tuple[float, float, float, float]]:
    """Per-frame source boxes ``(x0, y0, x1, y1)`` (float pixels, aspect of :data:`VIDEO_MAX`) of a synthetic camera
    move over a ``width×height`` photo: ``pan`` slides a window of twice the output size across the photo (from
    one side to the other, with a small vertical drift); ``zoom`` shrinks the window from the largest that fits to
    0.55 of it, around a random point."""
    ow, oh = VIDEO_MAX
    aspect = ow / oh
    t = np.linspace(0.0, 1.0, frames)
    if motion == "pan":
        bw, bh = 2.0 * ow, 2.0 * oh
        if bw > width or bh > height:
            raise ValueError(f"a {width}×{height} photo is too small for a pan")
        xs = t * (width - bw)
        if rng.random() < 0.5:
            xs = xs[::-1]
        y0 = rng.uniform(0.0, height - bh)
        ys = np.clip(y0 + rng.uniform(-0.15, 0.15) * (height - bh) * t, 0.0, height - bh)
        return [(float(x), float(y), float(x + bw), float(y + bh)) for x, y in zip(xs, ys)]
    bh0 = min(float(height), width / aspect)
    scales = 1.0 - 0.45 * t
    cx, cy = rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height
    out = []
    for s in scales:
        bh = bh0 * s
        bw = bh * aspect
        x0 = float(np.clip(cx - bw / 2, 0.0, width - bw))
        y0 = float(np.clip(cy - bh / 2, 0.0, height - bh))
        out.append((x0, y0, x0 + bw, y0 + bh))
    return out


def _camera_clip(
    data: Path, motion: str, frames: int, seed: int, used: set[str]
) -> tuple[dict[str, Any], Callable[[], bytes]]:
    files = validation_files(data / "train")
    rels = [p.relative_to(data).as_posix() for p in files]
    order = sorted(zip(rels, files), key=lambda rp: _rank(seed, motion, rp[0]))
    for rel, path in order:
        with Image.open(path) as im:
            width, height = im.size
        if rel in used or width < 2 * VIDEO_MAX[0] or height < 2 * VIDEO_MAX[1] or width < height:
            continue
        used.add(rel)
        rng = np.random.default_rng([seed, int(_rank(seed, motion, rel)[:12], 16)])
        boxes = camera_boxes(width, height, frames, motion, rng)
        entry = {
            "source": rel,
            "source_size": [width, height],
            "boxes": [[round(v, 3) for v in b] for b in boxes],
            "frames": [0, frames],
            "fps": "25/1",
            "pix_fmt": "yuv444p",
            "motion": f"synthetic {motion}",
        }

        def make(p: Path = path, bxs: list[tuple[float, float, float, float]] = boxes) -> bytes:
            img = Image.fromarray(read_image(p))
            planes = [rgb_to_yuv444(np.asarray(img.resize(VIDEO_MAX, Image.Resampling.LANCZOS, box=b))) for b in bxs]
            return y4m_bytes(planes, *VIDEO_MAX, "25/1", "yuv444p")

        return entry, make
    raise ValueError(f"no validation photo is large enough for a synthetic {motion}")


def video_jobs(data: Path, frames: int, seed: int) -> list[Job]:
    """The validation clips (real clips, late BasketballPass frames, a synthetic pan and zoom)."""
    jobs: list[Job] = []
    for name in REAL_CLIPS:
        if (data / "video" / REAL_CLIPS[name][0]).is_file():
            entry, make = _real_clip(data, name, frames)
            jobs.append(Job({"path": f"video/{name}.y4m", "kind": "video", **entry}, make))
    for name, (folder, _, _) in LATE_CLIPS.items():
        if (data / "video" / folder).is_dir():
            entry, make = _late_clip(data, name, frames)
            jobs.append(Job({"path": f"video/{name}.y4m", "kind": "video", **entry}, make))
    used: set[str] = set()
    for motion in ("pan", "zoom"):
        entry, make = _camera_clip(data, motion, frames, seed, used)
        stem = Path(entry["source"]).parent.name + "_" + Path(entry["source"]).stem
        jobs.append(Job({"path": f"video/{motion}-{stem}.y4m", "kind": "video", **entry}, make))
    for job in jobs:
        src = data / job.entry["source"]
        job.entry["size"] = list(VIDEO_MAX) if "boxes" in job.entry else job.entry["crop"][2:]
        job.entry["source_sha256"] = sha256_file(src) if src.is_file() else _folder_sha(src)
    return jobs


def _folder_sha(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + sha256_file(p).encode())
    return h.hexdigest()


# -- manifest, runner, doc ---------------------------------------------------------------------------------------


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of ``out`` (empty file list if there is none)."""
    path = out / MANIFEST
    if path.is_file():
        return json.loads(path.read_text())
    return {"format": FORMAT, "version": VERSION, "files": []}


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` atomically, files sorted by path."""
    manifest["files"] = sorted(manifest["files"], key=lambda e: e["path"])
    atomic_write_bytes(out / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())


def _recipe(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("sha256", "bytes")}


def run_jobs(out: Path, jobs: list[Job], manifest: dict[str, Any], progress: bool, part: str) -> tuple[int, int]:
    """Write every job's file unless its manifest entry has the same recipe and the file matches its sha256;
    update ``manifest`` in place. Returns ``(written, skipped)``."""
    from tqdm import tqdm

    known = {e["path"]: e for e in manifest["files"]}
    written = skipped = 0
    for job in tqdm(jobs, desc=part, unit="file", disable=not progress):
        path = out / job.entry["path"]
        old = known.get(job.entry["path"])
        if old and _recipe(old) == job.entry and path.is_file() and sha256_file(path) == old.get("sha256"):
            skipped += 1
            continue
        data = job.make()
        atomic_write_bytes(path, data)
        known[job.entry["path"]] = {**job.entry, "bytes": len(data), "sha256": sha256_bytes(data)}
        written += 1
    manifest["files"] = list(known.values())
    return written, skipped


DOC_HEAD = """# Validation suite

Photos, HDR images and video clips on which the shipped models are measured besides Kodak (issue 25). It is
**not Kodak** (soft film scans, the set every model so far was measured and chosen on) and **not training data**:
no training loader reads any of it (`tests/test_validation_split.py` checks that). `benchmarks/model_cards.py`
reads it through `manifest.json`.

- **Photos** (`photos/`): sharp crops, at native resolution, of a fixed 20% split of `train/sunhays80/` and
  `train/urban100/` (modern Flickr photos: streets, buildings, landscapes). The split is chosen by the SHA-256 of
  each file's name (`neuralwrap.sandwich.training.split`) and every training loader
  (`neuralwrap.sandwich.training.data.list_images`, hence `load_photos`, the app data, the video clip and
  synthetic-HDR datasets) leaves it out. Crops are 768×512 (512×768 for portrait photos), one per photo, plus a
  second one at the opposite corner for a seeded few.
- **HDR** (`hdr/`): the HDR images of `shared/data/hdr`, byte-for-byte. No HDR training reads an HDR file: the
  `hdr` app trains on synthetic HDR made from the LDR training photos (without the split above). They are also
  the `hdr` app's test set, so `hdr-jpeg` was chosen on them: `shared/data` holds no other real HDR image.
- **Video** (`video/*.y4m`, 24 frames, at most 352×288, even sides): the three real clips of `video/validation/`
  (never trained or tuned on; a centre crop with their 4:2:0 planes copied unchanged; `bikes` and
  `car-detection` from frame 60, where the crop has motion, `nflx-src01` from frame 0), frames 60–83 of
  BasketballPass (4:4:4 from its RGB frames; every earlier evaluation and tuning run read only its first 30
  frames: same scene, later motion), and a synthetic pan and zoom (4:4:4, a Lanczos-resampled moving window, 25
  fps) over two validation photos. The video models were trained on synthetic clips of the training photos
  only; the other shared clips (cars, CiscoVT2people, BasketballPass 0–29) chose between them, so they are left
  out. The two MP4 sources are lossy (x264 / H.264 Baseline): compare methods on the same decoded frames.

`manifest.json` records, for every file: kind, source (relative to `shared/data`) and its sha256, crop box, frames,
size, frame rate, pixel format, and the sha256 of the file written.

## Rebuild

```
python benchmarks/make_validation.py --data ../shared/data --out runs/validation --write-doc docs/VALIDATION.md
```

Resumable (files already written with the recorded sha256 are skipped), seeded (`--seed 0`), atomic writes.
The hashes below are from Pillow {pillow} and PyAV {av}; another PNG encoder may write other (pixel-identical)
bytes. Built on {date}.

## Files
"""


def write_doc(path: Path, manifest: dict[str, Any]) -> None:
    """Write docs/VALIDATION.md: the fixed text above and a table of every file of ``manifest``."""
    import av
    import PIL

    lines = [DOC_HEAD.format(pillow=PIL.__version__, av=av.__version__, date=date.today().isoformat())]
    lines += ["| file | kind | source | crop / frames | size | bytes | sha256 |", "|---|---|---|---|---|---|---|"]
    for e in sorted(manifest["files"], key=lambda e: e["path"]):
        where = ""
        if "boxes" in e:
            where = f"{e['motion']}, frames {e['frames'][0]}–{e['frames'][1] - 1}"
        elif e["kind"] == "video":
            where = f"x {e['crop'][0]} y {e['crop'][1]}, frames {e['frames'][0]}–{e['frames'][1] - 1}"
        elif "crop" in e:
            where = f"x {e['crop'][0]} y {e['crop'][1]}"
        size = "×".join(str(v) for v in e["size"]) if "size" in e else ""
        lines.append(
            f"| `{e['path']}` | {e['kind']} | `{e['source']}` | {where} | {size} | {e['bytes']:,} | `{e['sha256']}` |"
        )
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def build(
    data: Path, out: Path, parts: tuple[str, ...] = PARTS, *, seed: int = 0, photo_crops: int = 24, frames: int = 24,
    progress: bool = True, on_part: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Build (or complete) the suite in ``out`` from the ``shared/data``-like folder ``data``; returns the manifest.
    ``on_part(part, manifest)`` is called after each part's manifest is written."""
    manifest = read_manifest(out)
    if manifest.get("seed", seed) != seed:
        raise SystemExit(f"{out} was built with --seed {manifest['seed']}; use another --out")
    manifest.update(format=FORMAT, version=VERSION, seed=seed, folders=list(VALIDATION_FOLDERS))
    makers: dict[str, Callable[[], list[Job]]] = {
        "photos": lambda: photo_jobs(data, photo_crops, seed),
        "hdr": lambda: hdr_jobs(data),
        "video": lambda: video_jobs(data, frames, seed),
    }
    for part in parts:
        jobs = makers[part]()
        written, skipped = run_jobs(out, jobs, manifest, progress, part)
        write_manifest(out, manifest)
        print(f"{part}: {written} written, {skipped} up to date", file=sys.stderr)
        if on_part:
            on_part(part, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", help="the shared/data folder (train/, hdr/, video/)")
    ap.add_argument("--out", default="runs/validation")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--photo-crops", type=int, default=24, help="photo crops in all (1 or 2 per photo)")
    ap.add_argument("--frames", type=int, default=24, help="frames per clip")
    ap.add_argument("--write-doc", default=None, help="also write this markdown file (docs/VALIDATION.md)")
    ap.add_argument("--status-file", default=None, help="append one line per finished part to this file")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    parts = tuple(p for p in args.parts.split(",") if p)
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"unknown part(s) {bad}; choose from {PARTS}")
    data, out = Path(args.data), Path(args.out)
    if not (data / "train").is_dir():
        ap.error(f"{data} has no train/ folder")

    def note(part: str, manifest: dict[str, Any]) -> None:
        if args.status_file:
            n = sum(1 for e in manifest["files"] if e["path"].startswith(part))
            with open(args.status_file, "a") as f:
                f.write(f"{date.today()} {part}: ready, {n} files in {out / part}, manifest {out / MANIFEST}\n")

    manifest = build(
        data, out, parts, seed=args.seed, photo_crops=args.photo_crops, frames=args.frames,
        progress=not args.quiet, on_part=note,
    )  # fmt: skip
    if args.write_doc:
        write_doc(Path(args.write_doc), manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
