"""Batch encode/decode (``sandwich encode FOLDER OUT``): sub-folder layout, bad and foreign files reported, re-runs
that rewrite nothing, a killed run finished by a re-run, output safety, globs and manifests, clip folders, and
identical bytes on the local and the Ray engine (skipped without Ray)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import smooth_image

from neuralwrap.codecs import get_codec
from neuralwrap.io import write_image
from neuralwrap.sandwich.batch import find_inputs, ray_available
from neuralwrap.sandwich.batch.state import RECORD_NAME
from neuralwrap.sandwich.cli.main import main

ENCODE = ["--model", "jpeg420", "--quality", "50"]


def _photos(folder: Path, n: int, h: int = 64, w: int = 96) -> list[Path]:
    """``n`` small images, every other one in a sub-folder."""
    paths = []
    for i in range(n):
        p = folder / ("sub" if i % 2 else "") / f"img{i}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        write_image(p, smooth_image(h, w, seed=i))
        paths.append(p)
    return paths


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    rc = main(["-q", *argv])
    out = capsys.readouterr().out.strip().splitlines()
    return rc, json.loads(out[-1]) if out and out[-1].startswith("{") else {}


def _report(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {Path(r["path"]).name: r for r in csv.DictReader(f)}


def _mtimes(folder: Path, suffix: str) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob(f"*{suffix}"))}


def test_folder_batch_reports_bad_files_and_reruns_rewrite_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out, dec = tmp_path / "in", tmp_path / "out", tmp_path / "dec"
    _photos(src, 3)
    (src / "notes.txt").write_text("not an image")
    (src / "empty.png").write_bytes(b"")
    good = (src / "img0.png").read_bytes()
    (src / "sub" / "cut.png").write_bytes(good[: len(good) // 2])
    rc, summary = _run(["encode", str(src), str(out), *ENCODE, "--engine", "local", "--metrics"], capsys)
    assert rc == 1 and (summary["ok"], summary["failed"], summary["ignored"]) == (3, 2, 1)
    rows = _report(out / "report.csv")
    assert {n: r["status"] for n, r in rows.items()} == {
        "img0.png": "ok",
        "img1.png": "ok",
        "img2.png": "ok",
        "empty.png": "failed",
        "cut.png": "failed",
        "notes.txt": "ignored",
    }
    assert "cannot read image" in rows["empty.png"]["error"] and rows["cut.png"]["error"]
    assert 30 < float(rows["img0.png"]["psnr"]) < 60 and 0.8 < float(rows["img0.png"]["msssim"]) <= 1
    assert sorted(_mtimes(out, ".jpg")) == ["img0.jpg", "img2.jpg", "sub/img1.jpg"]  # the layout is kept
    assert not list(out.rglob("*.tmp*"))
    before = _mtimes(out, ".jpg")
    rc, summary = _run(["encode", str(src), str(out), *ENCODE, "--engine", "local"], capsys)
    assert rc == 1 and (summary["ok"], summary["skipped"]) == (0, 3)
    assert _mtimes(out, ".jpg") == before  # nothing rewritten
    (src / "empty.png").unlink()
    (src / "sub" / "cut.png").unlink()
    rc, summary = _run(["decode", str(out), str(dec), "--engine", "local"], capsys)
    assert rc == 0 and summary["ok"] == 3 and summary["ignored"] == 1  # report.csv of the encode
    assert sorted(_mtimes(dec, ".png")) == ["img0.png", "img2.png", "sub/img1.png"]


def test_changed_settings_need_force_and_identical_outputs_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photos(src, 2)
    assert _run(["encode", str(src), str(out), *ENCODE], capsys)[0] == 0
    (out / RECORD_NAME).unlink()  # outputs without a record (a run killed just after writing them)
    before = _mtimes(out, ".jpg")
    rc, summary = _run(["encode", str(src), str(out), *ENCODE], capsys)
    assert rc == 0 and summary["skipped"] == 2 and _mtimes(out, ".jpg") == before  # same bytes: kept
    q60 = ["--model", "jpeg420", "--quality", "60"]
    rc, summary = _run(["encode", str(src), str(out), *q60], capsys)
    assert rc == 1 and summary["failed"] == 2 and _mtimes(out, ".jpg") == before
    assert "--force" in _report(out / "report.csv")["img0.png"]["error"]
    rc, summary = _run(["encode", str(src), str(out), *q60, "--force"], capsys)
    assert rc == 0 and summary["ok"] == 2
    rc, summary = _run(["encode", str(src), str(out), *q60], capsys)
    assert rc == 0 and summary["skipped"] == 2


def test_killed_run_is_finished_by_a_rerun(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    n = 8
    _photos(src, n, 128, 192)
    cmd = [sys.executable, "-m", "neuralwrap.sandwich.cli", "-q", "encode", str(src), str(out), *ENCODE]
    proc = subprocess.Popen([*cmd, "--engine", "local", "--num-cpus", "1"], stdout=subprocess.DEVNULL)
    record = out / RECORD_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if record.is_file() and record.read_text().count("\n") >= 2:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [json.loads(line)["output"] for line in record.read_text().splitlines() if line.endswith("}")]
    assert 2 <= len(done) < n, "the run finished before it could be killed"
    kept = {k: v for k, v in _mtimes(out, ".jpg").items() if k in done}
    rc, summary = _run(["encode", str(src), str(out), *ENCODE, "--engine", "local"], capsys)
    assert rc == 0 and summary["skipped"] >= len(done) and summary["ok"] + summary["skipped"] == n
    assert summary["ok"] >= n - len(done) - 1  # at most the one in flight at the kill was already in place
    assert {k: v for k, v in _mtimes(out, ".jpg").items() if k in done} == kept
    assert len(_mtimes(out, ".jpg")) == n and not list(out.rglob("*.tmp*"))


def test_output_folder_rules_globs_and_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    photos = _photos(src, 2)
    for bad_out in (src, tmp_path):  # the input folder itself, or a folder holding it
        assert main(["-q", "encode", str(src), str(bad_out), *ENCODE]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ("is the input" in err or "holds the input folder" in err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # nothing was written
    assert main(["-q", "decode", str(src), str(tmp_path / "d"), "--backend", "onnx"]) == 2
    assert "--backend onnx decodes one file" in capsys.readouterr().err
    monkeypatch.setattr("neuralwrap.sandwich.batch.ray_engine.ray_available", lambda: False)
    assert main(["-q", "encode", str(src), str(tmp_path / "r"), *ENCODE, "--engine", "ray"]) == 2
    assert "neuralwrap[ray]" in capsys.readouterr().err and not (tmp_path / "r").exists()
    inner = src / "encoded"  # inside the input folder: allowed, and never read back as input
    assert _run(["encode", str(src), str(inner), *ENCODE], capsys)[0] == 0
    assert _run(["encode", str(src), str(inner), *ENCODE], capsys)[1]["skipped"] == 2
    jobs = find_inputs(str(src / "**" / "*.png"), tmp_path / "g", "encode", ".jpg").jobs
    assert [j["output"] for j in jobs] == ["img0.jpg", "sub/img1.jpg"]
    manifest = tmp_path / "list.csv"
    manifest.write_text(f"path,label\n{photos[1]},x\nin/missing.png,y\n")
    rc, summary = _run(["encode", str(manifest), str(tmp_path / "m"), *ENCODE], capsys)
    assert rc == 1 and (summary["ok"], summary["failed"]) == (1, 1)
    assert "not found" in _report(tmp_path / "m" / "report.csv")["missing.png"]["error"]


def test_parquet_manifest(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    photos = _photos(tmp_path / "in", 2)
    pq.write_table(pa.table({"path": [str(p) for p in photos]}), tmp_path / "list.parquet")
    jobs = find_inputs(str(tmp_path / "list.parquet"), tmp_path / "o", "encode", ".jpg").jobs
    assert [j["output"] for j in jobs] == ["img0.jpg", "sub/img1.jpg"]


def test_video_batch_over_a_folder_of_clips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clips = tmp_path / "clips"
    for i, sub in enumerate(("", "day2")):
        (clips / sub).mkdir(parents=True, exist_ok=True)
        big = smooth_image(64, 96 + 12, seed=i)
        with get_codec("h264").writer(clips / sub / f"c{i}.mp4", crf=20, fps=12) as w:
            for k in range(4):
                w.write(np.ascontiguousarray(big[:, 3 * k : 3 * k + 96]))
    (clips / "junk.mp4").write_bytes(b"\x00" * 100)
    args = ["video", "encode", str(clips), str(tmp_path / "out"), "--model", "jpeg420-postonly"]
    rc, summary = _run([*args, "--codec", "h264", "--crf", "30", "--engine", "local"], capsys)
    assert rc == 1 and (summary["ok"], summary["failed"]) == (2, 1)
    rows = _report(tmp_path / "out" / "report.csv")
    assert rows["c1.mp4"]["output"] == "day2/c1.mp4" and rows["c1.mp4"]["frames"] == "4"
    assert (tmp_path / "out" / "day2" / "c1.mp4").stat().st_size == int(rows["c1.mp4"]["bytes"])


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) for the module's Ray runs; the commands join it and leave it running."""
    if not ray_available():
        pytest.skip("Ray is not installed (pip install 'neuralwrap[ray]')")
    import ray

    os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_and_local_engines_write_identical_bytes(
    local_ray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    _photos(src, 6)
    (src / "notes.txt").write_text("x")
    outputs = {}
    for engine in ("local", "ray"):
        enc, dec = tmp_path / f"enc-{engine}", tmp_path / f"dec-{engine}"
        rc, summary = _run(["encode", str(src), str(enc), *ENCODE, "--engine", engine, "--num-cpus", "2"], capsys)
        assert rc == 0 and summary["ok"] == 6 and summary["engine"] == engine and summary["ignored"] == 1
        rc, summary = _run(["decode", str(enc), str(dec), "--engine", engine, "--batch-size", "2"], capsys)
        assert rc == 0 and summary["ok"] == 6
        outputs[engine] = {
            str(p.relative_to(tmp_path / f"{kind}-{engine}")): p.read_bytes()
            for kind in ("enc", "dec")
            for p in sorted((tmp_path / f"{kind}-{engine}").rglob("*"))
            if p.suffix in (".jpg", ".png")
        }
    assert len(outputs["ray"]) == 12 and outputs["ray"] == outputs["local"]
    assert local_ray.is_initialized()  # a command that joined a running Ray leaves it running
