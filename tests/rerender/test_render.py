"""Novel-view rendering: camera paths, deep buffers of arbitrary cameras, appearance specs, videos, CLI.

The tiny work dir is written directly in the capture's dataset format from the synthetic renderer's ground
truth (the real capture takes minutes): static pixels of every view are back-projected with their true
depth into one point cloud (``densify/points.npz``, uint8 colours like the capture's), and each frame's
buffer is splatted exactly as ``capture/pipeline.py`` does. Models are randomly initialised (no training).
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from rerender_helpers import H, W, make_work_dir

from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.rerender import (
    PinholeCamera,
    RerenderDataset,
)
from neuralwrap.rerender.checkpoint import save_rerenderer
from neuralwrap.rerender.cli import main
from neuralwrap.rerender.demo import pretrained_dir
from neuralwrap.rerender.models.networks import RerenderConfig, Rerenderer
from neuralwrap.rerender.render.appearance import (
    AppearanceContext,
    appearance_schedule,
    interpolate_codes,
    parse_code,
    resolve_appearance,
)
from neuralwrap.rerender.render.frames import (
    RenderSource,
    SceneRenderer,
    appearance_context,
    contact_sheet,
    load_point_scene,
    load_render_source,
    render_buffer,
    write_video,
)
from neuralwrap.rerender.render.paths import (
    CameraSpline,
    interpolate_cameras,
    look_at_point,
    make_path,
    orbit_path,
    order_keyframes,
)


# ------------------------------------------------------------------------------------------ fixtures
def tiny_model(**kw) -> Rerenderer:
    torch.manual_seed(0)
    cfg = RerenderConfig(
        width=64,
        height=48,
        gen_enc=(8, 16),
        gen_dec=(16, 16, 8),
        enc_widths=(8, 16),
        disc_widths=(8, 8, 8),
        depth_scale=10.0,
        **kw,
    )
    return Rerenderer(cfg).eval()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_work_dir(tmp_path_factory.mktemp("rr_render_work"))
    save_rerenderer(root / "model", tiny_model())
    return root


@pytest.fixture(scope="module")
def cams(work: Path) -> dict[str, PinholeCamera]:
    ds = RerenderDataset(work / "dataset")
    return {n: ds.camera(i) for i, n in enumerate(ds.names)}


# ------------------------------------------------------------------------------------------ paths
def test_spline_hits_keyframes_exactly(cams):
    keys = order_keyframes(list(cams.values()))
    for closed in (False, True):
        sp = CameraSpline(keys, closed=closed)
        for k, s in zip(keys, sp.knots):
            c = sp(float(s))
            np.testing.assert_allclose(c.R, k.R, atol=1e-9)
            np.testing.assert_allclose(c.t, k.t, atol=1e-9)
            assert (c.fx, c.fy, c.cx, c.cy) == pytest.approx((k.fx, k.fy, k.cx, k.cy), abs=1e-9)
    path = interpolate_cameras(keys, 17)
    assert len(path) == 17
    np.testing.assert_allclose(path[0].t, keys[0].t, atol=1e-9)
    np.testing.assert_allclose(path[-1].R, keys[-1].R, atol=1e-9)


def _rot_angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1) / 2, -1, 1))))


def test_path_is_smooth(cams):
    keys = order_keyframes(list(cams.values()))
    sp = CameraSpline(keys)
    path = [sp(s) for s in np.linspace(0, 1, 301)]
    c = np.stack([p.center for p in path])
    step = np.linalg.norm(np.diff(c, axis=0), axis=1)
    assert step.max() < 3 * np.median(step)  # roughly even speed, no jumps
    ang = np.array([_rot_angle(a.R, b.R) for a, b in itertools.pairwise(path)])
    assert ang.max() < 1.0  # degrees per 1/300 of the path
    for s in sp.knots[1:-1]:  # C1: velocity continuous across interior keys
        e = 1e-4
        v_minus = (sp(s).center - sp(s - e).center) / e
        v_plus = (sp(s + e).center - sp(s).center) / e
        assert np.linalg.norm(v_plus - v_minus) < 0.05 * np.linalg.norm(v_plus) + 1e-6
        r_minus, r_plus = _rot_angle(sp(s - e).R, sp(s).R), _rot_angle(sp(s).R, sp(s + e).R)
        assert abs(r_plus - r_minus) < 0.05 * max(r_plus, r_minus) + 1e-6


def test_keyframe_order_and_orbit(cams):
    names = list(cams)
    rng = np.random.default_rng(0)
    shuffled = [cams[names[i]] for i in rng.permutation(len(names))]
    ordered = order_keyframes(shuffled)
    idx = [next(i for i, n in enumerate(names) if cams[n] is c) for c in ordered]
    assert idx in (sorted(idx), sorted(idx, reverse=True))  # synthetic photos are taken in azimuth order
    target = look_at_point(list(cams.values()))
    for cam in orbit_path(list(cams.values()), 8, width=W, height=H):
        x = cam.R @ target + cam.t
        assert x[2] > 0
        assert abs(cam.fx * x[0] / x[2] + cam.cx - W / 2) < 1 and abs(cam.fy * x[1] / x[2] + cam.cy - H / 2) < 1
    static = make_path(names[2].removesuffix(".png"), cams, 3)
    assert all(np.allclose(c.t, cams[names[2]].t) for c in static)
    with pytest.raises(InputError, match="photo_000.png"):
        make_path("no_such_photo", cams, 3)


# ------------------------------------------------------------------------------------------ buffers
def test_registered_viewpoint_reproduces_stored_buffer(work):
    scene = load_point_scene(work)
    assert scene.radius == 1
    for i in (0, 3):
        f = scene.dataset[i]
        b = render_buffer(scene, f.camera)
        assert np.abs(b.color.astype(int) - f.color.astype(int)).max() <= 1
        np.testing.assert_allclose(b.depth, f.depth, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(b.normals, f.normals, atol=1e-6)


def test_load_point_scene_names_missing_file(tmp_path):
    with pytest.raises(InputError, match="dataset.json"):
        load_point_scene(tmp_path)


# ------------------------------------------------------------------------------------------ appearance
def _ctx(**kw) -> AppearanceContext:
    return AppearanceContext(codes={"sunny.png": torch.ones(8), "dusk.png": -torch.ones(8)}, **kw)


def test_parse_codes_and_errors(tmp_path):
    assert parse_code(",".join(["0.5"] * 8)).tolist() == [0.5] * 8
    (tmp_path / "c.json").write_text(json.dumps({"code": list(range(8))}))
    assert parse_code(str(tmp_path / "c.json")).tolist() == list(range(8))
    (tmp_path / "bad.json").write_text("[1, 2]")
    for bad, msg in [
        ("1,2,3", "expected 8"),
        ("1,2,3,4,5,6,7,x", "comma-separated"),
        ("1,2,3,4,5,6,7,nan", "comma-separated"),
        ("1,2,3,4,5,6,7,1e999", "finite"),
        (str(tmp_path / "bad.json"), "expected 8"),
        (str(tmp_path / "missing.json"), "not found"),
    ]:
        with pytest.raises(InputError, match=msg):
            parse_code(bad)
    ctx = _ctx()
    assert resolve_appearance("sunny", ctx).tolist() == [1.0] * 8
    with pytest.raises(InputError, match="sunny.png"):  # unknown names list valid ones
        resolve_appearance("rainy", ctx)


def test_interp_endpoints_equal_codes():
    ctx = _ctx()
    sched = appearance_schedule("interp:sunny,dusk", 7, ctx)
    assert sched.shape == (7, 8)
    assert torch.equal(sched[0], torch.ones(8)) and torch.equal(sched[-1], -torch.ones(8))
    assert torch.allclose(sched[3], torch.zeros(8), atol=1e-6)
    raw = appearance_schedule("interp:" + ",".join(["0"] * 8) + ";" + ",".join(["2"] * 8), 3, ctx)
    assert raw[1].tolist() == [1.0] * 8
    three = interpolate_codes([torch.zeros(2), torch.ones(2), torch.zeros(2)], 5)
    assert three[:, 0].tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]
    assert torch.equal(appearance_schedule("dusk", 4, ctx), -torch.ones(4, 8))
    with pytest.raises(InputError, match="at least two"):
        appearance_schedule("interp:sunny", 4, ctx)
    with pytest.raises(InputError, match="';'"):
        appearance_schedule("interp:" + ",".join(["0"] * 16), 4, ctx)


def test_work_dir_render_source(work):
    src = load_render_source(work)
    assert src.scene.dataset is not None and not src.codes and not src.highlights and src.without_code == ()
    assert src.default_appearance("photo_002.png") == "photo_002.png"
    assert src.default_appearance() == next(iter(src.scene.cameras))


def test_registered_photo_is_encoded(work, cams):
    scene = load_point_scene(work)
    r = SceneRenderer(tiny_model(), scene)
    ctx = appearance_context(r, {}, next(iter(cams.values())))
    a = resolve_appearance("photo_001", ctx)
    b = resolve_appearance(str(work / "dataset" / "photos" / "photo_001.png"), ctx)  # outside image path
    assert a.shape == b.shape == (8,) and torch.isfinite(a).all()
    assert torch.equal(a, resolve_appearance("photo_001.png", ctx))
    with pytest.raises(InputError, match="photo_000.png"):
        resolve_appearance("photo_999", ctx)


# ------------------------------------------------------------------------------------------ outputs
def _decode(path: Path) -> list[np.ndarray]:
    with av.open(io.BytesIO(path.read_bytes())) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_video_is_readable_and_even(tmp_path):
    frames = [np.full((35, 47, 3), 20 * i, np.uint8) for i in range(9)]
    write_video(frames, tmp_path / "v.mp4", fps=12)
    dec = _decode(tmp_path / "v.mp4")
    assert len(dec) == 9 and dec[0].shape == (34, 46, 3)
    assert abs(int(dec[4].mean()) - 80) <= 2
    contact_sheet(frames, tmp_path / "s.png", tiles=4, cols=2)
    assert (tmp_path / "s.png").is_file()
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporaries


def test_render_cli_three_videos(work, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(["render", str(work), "--path", "fly", "--appearance", "photo_002", "--frames", "6", "--out", str(out)])
        == 0
    )
    assert len(_decode(out / "fly.mp4")) == 6 and len(list((out / "fly").glob("frame_*.png"))) == 6
    assert (
        main(
            [
                "render",
                str(work),
                "--path",
                "photo_003",
                "--appearance",
                "interp:photo_000,photo_005",
                "--frames",
                "4",
                "--transients",
                "keep",
                "--out",
                str(out),
                "--no-frames",
            ]
        )
        == 0
    )
    dec = _decode(out / "photo_003.mp4")
    assert len(dec) == 4 and dec[0].shape == (48, 64, 3)
    assert not np.array_equal(dec[0], dec[-1])  # the appearance changes at a fixed viewpoint
    assert (
        main(
            [
                "render",
                str(work),
                "--path",
                "orbit",
                "--appearance",
                "interp:photo_000,photo_005",
                "--frames",
                "5",
                "--out",
                str(out),
                "--name",
                "both",
                "--size",
                "80x60",
            ]
        )
        == 0
    )
    assert _decode(out / "both.mp4")[0].shape == (60, 80, 3) and (out / "both_sheet.png").is_file()


def test_render_cli_errors(work, tmp_path, capsys):
    out = str(tmp_path / "o")
    cases = [
        ([str(tmp_path)], "dataset.json"),  # no capture
        ([str(work), "--model", str(tmp_path / "nomodel")], "nomodel"),  # no trained model
        ([str(work), "--appearance", "photo_999"], "photo_000.png"),  # unknown photo lists valid names
        ([str(work), "--appearance", "1,2,3"], "expected 8"),  # malformed code
        ([str(work), "--path", "nowhere"], "unknown photo name"),
    ]
    for extra, msg in cases:
        assert main(["render", *extra, "--frames", "2", "--out", out]) == 2
        assert msg in capsys.readouterr().err
    bad = tmp_path / "old"
    bad.mkdir()
    for suffix in (".safetensors", ".json"):
        (bad / f"model{suffix}").write_bytes((work / f"model{suffix}").read_bytes())
    meta = json.loads((bad / "model.json").read_text())
    (bad / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    assert main(["render", str(work), "--model", str(bad), "--frames", "2", "--out", out]) == 2
    assert "format_version" in capsys.readouterr().err


def test_model_without_appearance_renders(work, tmp_path):
    save_rerenderer(tmp_path / "noapp" / "model", tiny_model(use_appearance=False, use_semantics=False))
    scene = load_point_scene(work)
    r = SceneRenderer(
        __import__("neuralwrap.rerender.checkpoint", fromlist=["x"]).load_rerenderer(tmp_path / "noapp"), scene
    )
    frames = r.render(make_path("fly", scene.cameras, 3, width=W, height=H), None)
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3)


def test_bundle_render_and_demo(work, tmp_path, capsys):
    from neuralwrap.rerender.checkpoint import save_scene_bundle
    from neuralwrap.rerender.training import build_scene_bundle

    model = tiny_model()
    bundle = build_scene_bundle(
        work,
        model,
        holdout=["photo_004.png"],
        max_points=4000,
        splat_radius=2,
        highlights={"sunny": "photo_001.png", "dusk": "photo_003.png"},
    )
    save_rerenderer(tmp_path / "b" / "model", model, half=True)
    save_scene_bundle(tmp_path / "b" / "scene", bundle)
    src = load_render_source(tmp_path / "b", radius=3)
    assert isinstance(src, RenderSource) and src.scene.dataset is None and src.scene.radius == 3
    assert src.holdout == src.without_code == ("photo_004.png",) and "photo_004.png" not in src.codes
    assert set(src.named_codes) == set(src.codes) | {"sunny", "dusk"}
    assert torch.equal(src.named_codes["dusk"], src.codes["photo_003.png"])
    assert src.default_appearance() == "photo_001.png" and src.default_appearance("photo_002.png") == "photo_002.png"
    out = tmp_path / "out"
    assert (
        main(
            [
                "render",
                str(tmp_path / "b"),
                "--path",
                "photo_004",
                "--appearance",
                "interp:sunny,dusk",
                "--frames",
                "3",
                "--out",
                str(out),
                "--no-frames",
            ]
        )
        == 0
    )
    assert len(_decode(out / "photo_004.mp4")) == 3
    assert main(["render", str(tmp_path / "b"), "--appearance", "photo_004", "--frames", "2", "--out", str(out)]) == 2
    assert "held out" in capsys.readouterr().err
    assert (
        main(
            [
                "demo",
                "--bundle",
                str(tmp_path / "b"),
                "--out",
                str(out / "demo"),
                "--fly-frames",
                "5",
                "--interp-frames",
                "3",
            ]
        )
        == 0
    )
    assert len(_decode(out / "demo" / "fly_appearance.mp4")) == 5
    rep = json.loads((out / "demo" / "demo.json").read_text())
    codes = {k: np.asarray(v, np.float32) for k, v in bundle.codes.items()}
    far = max(((a, b) for a in codes for b in codes), key=lambda p: float(np.linalg.norm(codes[p[0]] - codes[p[1]])))
    assert {rep["appearance_from"], rep["appearance_to"]} == set(far)  # the widest appearance change
    assert rep["splat_radius"] == 2


@pytest.mark.skipif(not (pretrained_dir() / "scene.json").is_file(), reason="shipped bundle not built yet")
def test_demo_cli_on_shipped_bundle(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--fly-frames", "6", "--interp-frames", "4"]) == 0
    for name, n in (("fly", 6), ("appearance", 4), ("fly_appearance", 6)):
        assert len(_decode(tmp_path / f"{name}.mp4")) == n
        assert (tmp_path / f"{name}_sheet.png").is_file()
    assert "fly_appearance.mp4" in (tmp_path / "report.md").read_text()
    with pytest.raises(CheckpointError):
        from neuralwrap.rerender.demo import run_demo

        run_demo(tmp_path / "x", bundle_dir=tmp_path)


def test_quiet_turns_the_progress_bar_off(work, tmp_path, capsys):
    argv = ["render", str(work), "--path", "fly", "--frames", "2", "--no-frames"]
    assert main([*argv, "--out", str(tmp_path / "loud")]) == 0
    assert "render fly" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "quiet"), "-q"]) == 0
    assert "render fly" not in capsys.readouterr().err
