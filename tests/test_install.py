"""An installable package: shipped files are found through importlib.resources (never the checkout or the
working directory), the wheel holds them, and ``neuralwrap.resources.default_data`` resolves the shared data
in its documented order. The full install into a fresh virtual environment is in ``.ci/run``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from neuralwrap.errors import InputError
from neuralwrap.resources import DATA_ENV, data_roots, default_data, package_file, read_package_text, require_data

REPO = Path(__file__).resolve().parents[1]
DEMO_PHOTOS = ("chelsea.png", "coffee.png")


# -- default_data ------------------------------------------------------------------------------------------
def _layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """``env/kodak``, ``work/shared/data/kodak`` and ``shared/data/kodak`` (the parent of ``work``); cwd = work."""
    env, work = tmp_path / "env", tmp_path / "work"
    for root in (env, work / "shared" / "data", tmp_path / "shared" / "data"):
        (root / "kodak").mkdir(parents=True)
    monkeypatch.chdir(work)
    return env, work / "shared" / "data", tmp_path / "shared" / "data"


def test_default_data_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env, here, parent = _layout(tmp_path, monkeypatch)
    monkeypatch.setenv(DATA_ENV, str(env))
    assert default_data("kodak") == env / "kodak"
    assert data_roots()[0] == env
    monkeypatch.delenv(DATA_ENV)
    assert default_data("kodak").resolve() == (here / "kodak").resolve()
    shutil.rmtree(here)
    assert default_data("kodak").resolve() == (parent / "kodak").resolve()
    shutil.rmtree(parent)
    assert default_data("kodak") is None


def test_default_data_env_without_the_folder_falls_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env, here, _ = _layout(tmp_path, monkeypatch)
    monkeypatch.setenv(DATA_ENV, str(env))
    assert default_data("train") is None
    (here / "kodak" / "kodim01.png").write_bytes(b"")
    assert default_data("kodak/kodim01.png").resolve() == (here / "kodak" / "kodim01.png").resolve()


def test_require_data_names_the_flag_and_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=f"--train-data.*{DATA_ENV}"):
        require_data("no-such-folder", flag="--train-data")


# -- shipped files -------------------------------------------------------------------------------------------
def test_package_files_exist() -> None:
    from neuralwrap.sandwich.evaluation.demo import demo_images_dir
    from neuralwrap.sandwich.inference.zoo import ZOO, zoo_path

    for name in ZOO:
        assert zoo_path(name).is_file()
    for name in ("jpeg_rate_params.json", "video_params.json", "intra_params.json"):
        assert package_file("neuralwrap.proxies", name).is_file()
    assert read_package_text("neuralwrap.proxies", "intra_params.json").lstrip().startswith("{")
    assert {p.name for p in demo_images_dir().iterdir()} >= set(DEMO_PHOTOS)


def test_no_paths_from_dunder_file_in_src() -> None:
    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / "src").rglob("*.py")
        if p.name != "resources.py" and "Path(__file__)" in p.read_text(encoding="utf-8")
    ]
    # rerender/capture/pipeline.py is owned elsewhere and moves to default_data("models/...") separately
    assert set(offenders) <= {"src/neuralwrap/rerender/capture/pipeline.py"}, offenders


# -- the wheel -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the checkout (no build/ or egg-info left in the tree, no network)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "tree"
    (src / "src").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "src" / "neuralwrap",
        src / "src" / "neuralwrap",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (whl,) = out.glob("neuralwrap-*.whl")
    return whl


def test_wheel_holds_the_shipped_files(wheel: Path) -> None:
    from neuralwrap.sandwich.inference.zoo import ZOO

    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f"neuralwrap/sandwich/pretrained/{e.file}.{ext}" for e in ZOO.values() for ext in ("safetensors", "json")}
    want |= {f"neuralwrap/proxies/{n}" for n in ("jpeg_rate_params.json", "video_params.json", "intra_params.json")}
    want |= {f"neuralwrap/sandwich/demo_images/{n}" for n in (*DEMO_PHOTOS, "README.md")}
    want |= {
        f"neuralwrap/rerender/pretrained/synthetic/{n}"
        for n in ("model.json", "model.safetensors", "scene.json", "scene.safetensors")
    }
    static = REPO / "src/neuralwrap/sandwich/viewer/static"  # the browser viewer's page and onnxruntime-web
    want |= {f"neuralwrap/sandwich/viewer/static/{p.relative_to(static)}" for p in static.rglob("*") if p.is_file()}
    assert not want - names, sorted(want - names)


_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import neuralwrap
assert neuralwrap.__file__.startswith(sys.argv[1]), neuralwrap.__file__
from neuralwrap.sandwich.inference.codec import load_pretrained
from neuralwrap.sandwich.evaluation.demo import demo_images_dir
from neuralwrap.proxies.rate import load_rate_params
from neuralwrap.rerender.demo import pretrained_dir
load_pretrained("jpeg420")
load_rate_params("420")
assert (pretrained_dir() / "scene.json").is_file()
print(sorted(p.name for p in demo_images_dir().glob("*.png")))
from neuralwrap.sandwich.cli.main import main
sys.exit(main(["demo", "--help"]))
"""


def test_wheel_contents_work_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """The unpacked wheel (first on sys.path) loads a model, the proxy fit, the rerender bundle and the demo
    photos, and ``sandwich demo --help`` runs, from an empty folder with no PYTHONPATH nor data variable."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", DATA_ENV)}
    res = subprocess.run(
        [sys.executable, "-c", _PROBE, str(site)],
        cwd=empty,
        env={**env, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert str(list(DEMO_PHOTOS)) in res.stdout
    assert "--data" in res.stdout
    assert not any(empty.iterdir())
