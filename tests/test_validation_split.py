"""The validation split (issue 25 §1): no training loader reads it, and ``benchmarks/make_validation.py`` builds the
suite from it.

The split depends only on file and folder names, so a temporary copy of the shared ``train/`` layout (same names,
tiny images, each carrying its own id in its first pixel) splits exactly like the real one.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from neuralwrap.sandwich.apps.builtin import rgb_train_data
from neuralwrap.sandwich.apps.hdr_data import hdr_train_data
from neuralwrap.sandwich.apps.registry import list_apps
from neuralwrap.sandwich.training.data import CropDataset, list_images, load_photos
from neuralwrap.sandwich.training.split import VALIDATION_FOLDERS, is_validation, validation_files
from neuralwrap.sandwich.training.video_data import ClipDataset

ROOT = Path(__file__).resolve().parents[1]
#: the shared layout (shared/data/MANIFEST.md), used when the shared folder is absent
LAYOUT = {
    "bsd100": [f"img_{i:03d}.png" for i in range(1, 11)],
    "sunhays80": [f"img_{i:03d}.png" for i in range(1, 81)],
    "urban100": [f"img_{i:03d}.png" for i in range(1, 100, 4)],
}


def _layout(shared: Path | None) -> dict[str, list[str]]:
    if shared is None or not (shared / "train").is_dir():
        return LAYOUT
    return {d.name: sorted(p.name for p in d.iterdir() if p.suffix == ".png") for d in (shared / "train").iterdir()}


def _fake_train(root: Path, layout: dict[str, list[str]], size: tuple[int, int] = (48, 40)) -> dict[Path, int]:
    """Tiny PNGs with the layout's names; pixel (0, 0) holds a unique id (R·256 + G). Returns ``{path: id}``."""
    ids = {}
    for k, (folder, names) in enumerate(sorted(layout.items())):
        (root / folder).mkdir(parents=True)
        for i, name in enumerate(names):
            ident = 256 * k + i
            img = np.full((size[1], size[0], 3), 128, np.uint8)
            img[0, 0] = (ident // 256, ident % 256, 7)
            Image.fromarray(img).save(root / folder / name)
            ids[root / folder / name] = ident
    return ids


def _ids(images: list[np.ndarray]) -> set[int]:
    return {int(im[0, 0, 0]) * 256 + int(im[0, 0, 1]) for im in images}


@pytest.fixture(scope="module")
def fake_train(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[Path, int], set[int]]:
    from conftest import SHARED_DATA

    root = tmp_path_factory.mktemp("data") / "train"
    ids = _fake_train(root, _layout(SHARED_DATA))
    held = {ids[p] for p in validation_files(root)}
    return root, ids, held


def test_split_is_about_a_fifth_of_two_folders(fake_train) -> None:
    root, ids, held = fake_train
    files = validation_files(root)
    assert {p.parent.name for p in files} == set(VALIDATION_FOLDERS)
    for folder in VALIDATION_FOLDERS:
        n = sum(1 for p in ids if p.parent.name == folder)
        assert sum(1 for p in files if p.parent.name == folder) == round(0.2 * n)
    assert all(is_validation(p) for p in files)
    assert not any(is_validation(p) for p in ids if p.parent.name == "bsd100")


def test_split_matches_the_shared_folder(fake_train, shared_data: Path) -> None:
    root, _, _ = fake_train
    real = [p.relative_to(shared_data / "train") for p in validation_files(shared_data / "train")]
    assert real == [p.relative_to(root) for p in validation_files(root)]
    assert len(real) == 21


def test_training_loaders_leave_the_split_out(fake_train) -> None:
    root, ids, held = fake_train
    assert held and not held & {ids[p] for p in list_images(root)}
    assert _ids(load_photos(root)) == set(ids.values()) - held
    for sub in VALIDATION_FOLDERS:  # a folder of one training set alone, too
        assert not held & _ids(load_photos(root / sub))
    assert not held & _ids(CropDataset(root, crop=32).images)
    assert not held & _ids(ClipDataset(root, frames=2, size=16).images)


def test_every_app_training_loader_leaves_the_split_out(fake_train) -> None:
    root, ids, held = fake_train
    cfg = SimpleNamespace(data=str(root), crop=32)
    for app in list_apps().values():
        if app.train_data in (rgb_train_data, hdr_train_data):
            ds = app.train_data(cfg, 0)
            assert _ids(ds.images) == set(ids.values()) - held, app.name
        else:  # the multichannel apps render synthetic framebuffers and read no folder
            assert "mc_train_data" in app.train_data.__qualname__, f"{app.name}: check its training loader"


def _load_make_validation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_validation", ROOT / "benchmarks" / "make_validation.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_validation"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_make_validation_photos_on_a_tiny_folder(tmp_path: Path) -> None:
    mv = _load_make_validation()
    data = tmp_path / "data"
    layout = {"sunhays80": [f"img_{i:03d}.png" for i in range(1, 21)], "urban100": ["img_001.png", "img_005.png"]}
    _fake_train(data / "train", layout, size=(100, 70))
    out = tmp_path / "val"
    manifest = mv.build(data, out, ("photos",), photo_crops=6, progress=False)
    held = validation_files(data / "train")
    photos = [e for e in manifest["files"] if e["kind"] == "photo"]
    assert len(held) == 4 and len(photos) == 6  # round(0.2·20) + round(0.2·2); two photos get a second crop
    assert {e["source"] for e in photos} == {p.relative_to(data).as_posix() for p in held}
    for e in photos:
        x, y, w, h = e["crop"]
        assert (w, h) == (96, 64) and 0 <= x <= 4 and 0 <= y <= 6
        assert Image.open(out / e["path"]).size == (w, h)
        assert mv.sha256_file(out / e["path"]) == e["sha256"]
    assert json.loads((out / "manifest.json").read_text())["files"] == manifest["files"]
    before = {e["path"]: (out / e["path"]).stat().st_mtime_ns for e in photos}
    again = mv.build(data, out, ("photos",), photo_crops=6, progress=False)  # resumable: nothing rewritten
    assert again["files"] == manifest["files"]
    assert {p: (out / p).stat().st_mtime_ns for p in before} == before
    (out / photos[0]["path"]).write_bytes(b"damaged")
    mv.build(data, out, ("photos",), photo_crops=6, progress=False)
    assert mv.sha256_file(out / photos[0]["path"]) == photos[0]["sha256"]
    assert mv.crop_size(40, 130) == (32, 128)
