"""Rerendering models, inputs, losses and model/scene files: shapes, ranges, code conditioning, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.rerender import Frame, PinholeCamera
from neuralwrap.rerender.checkpoint import (
    SceneBundle,
    load_rerenderer,
    load_scene_bundle,
    save_rerenderer,
    save_scene_bundle,
)
from neuralwrap.rerender.models.losses import (
    gram_matrix,
    lsgan_d_loss,
    lsgan_g_loss,
    style_distances,
    triplet_loss,
)
from neuralwrap.rerender.models.networks import (
    MultiScaleDiscriminator,
    RerenderConfig,
    Rerenderer,
)
from neuralwrap.rerender.scene.inputs import (
    flip_buffer,
    frame_input,
    input_channels,
    photo_tensor,
    resize_buffer,
)

SMALL = {"width": 32, "height": 24, "gen_enc": (8, 16), "gen_dec": (16, 16, 8), "enc_widths": (8, 8)}


def _cam(w: int = 40, h: int = 30) -> PinholeCamera:
    return PinholeCamera(w, h, 30.0, 30.0, w / 2, h / 2, np.eye(3), np.zeros(3))


def _frame(w: int = 40, h: int = 30, people: bool = True) -> Frame:
    rng = np.random.default_rng(0)
    depth = rng.uniform(1, 5, (h, w)).astype(np.float32)
    depth[:5] = 0
    classes = np.zeros((h, w), np.uint8)
    if people:
        classes[10:20, 10:15] = 15
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return Frame(
        "a.png",
        _cam(w, h),
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        depth,
        n,
        classes,
    )


def _model(**kw) -> Rerenderer:
    torch.manual_seed(0)
    return Rerenderer(RerenderConfig(**{**SMALL, **kw}))


def test_color_skip_starts_from_the_point_render() -> None:
    torch.manual_seed(0)
    fresh = Rerenderer(RerenderConfig(**SMALL, color_skip=True, code_bias=True))
    buf = torch.rand(1, 9, 24, 32)
    buf[:, 7] = (torch.rand(1, 24, 32) > 0.3).float()
    out = fresh(buf, torch.randn(1, 8))
    valid = buf[:, 7:8].bool().expand(-1, 3, -1, -1)
    expect = buf[:, :3].clamp(0.02, 0.98)
    assert torch.allclose(out[valid], expect[valid], atol=1e-5) and torch.allclose(out[~valid], torch.tensor(0.5))
    plain = Rerenderer(RerenderConfig(**SMALL))  # the paper's generator: random output conv, no colour skip
    assert plain.generator.head.weight.abs().sum() > 0 and plain.code_to_rgb is None
    fresh.code_to_rgb.bias.data[:] = 1.0
    assert torch.allclose(torch.logit(fresh(buf, torch.zeros(1, 8))[~valid]), torch.tensor(1.0), atol=1e-4)


def test_frame_input_layout_and_masks() -> None:
    f = _frame()
    buf = frame_input(f)
    assert buf.shape == (input_channels(True), 30, 40) and buf.dtype == torch.float32
    assert torch.equal(buf[7], torch.from_numpy((f.depth > 0).astype(np.float32)))
    assert buf[8].sum() == 50 and buf[4:7, :5].abs().sum() == 0 and buf[:3].max() <= 1
    assert frame_input(f, remove_transients=True)[8].sum() == 0
    assert frame_input(Frame("n", f.camera, f.photo, f.color, f.depth))[8].sum() == 0  # novel view: no mask
    small = frame_input(f, size=(20, 15), use_semantics=False)
    assert small.shape == (8, 15, 20)
    assert set(np.unique(small[3].numpy())) <= set(np.unique(f.depth))  # nearest: no blended depths
    assert torch.equal(resize_buffer(buf, (40, 30)), buf)
    p = photo_tensor(f, size=(20, 15))
    assert p.shape == (3, 15, 20) and 0 <= p.min() and p.max() <= 1
    flipped = flip_buffer(buf)
    assert torch.equal(flipped[4], -buf[4].flip(-1)) and torch.equal(flipped[5], buf[5].flip(-1))
    with pytest.raises(InputError):
        frame_input(f, size=(0, 4))


def test_rerenderer_shapes_ranges_and_code_conditioning() -> None:
    m = _model()
    buf, photo = torch.rand(2, 9, 24, 32), torch.rand(2, 3, 24, 32)
    code = m.encode(photo, buf)
    assert code.shape == (2, 8)
    out = m(buf, code)
    assert out.shape == (2, 3, 24, 32) and out.min() >= 0 and out.max() <= 1
    other = m(buf, code + torch.randn(2, 8) * 3)
    assert (other - out).abs().mean() > 1e-3  # the tiled code changes the image
    assert m(buf[:1], code[0]).shape == (1, 3, 24, 32)  # a single code broadcasts
    odd = m(torch.rand(1, 9, 23, 37), code[:1])  # any size
    assert odd.shape == (1, 3, 23, 37)
    with pytest.raises(InputError):
        m(buf, None)
    with pytest.raises(InputError):
        m(torch.rand(2, 8, 24, 32), code)
    plain = _model(use_appearance=False, use_semantics=False)
    assert plain.encoder is None and plain(torch.rand(1, 8, 24, 32), None).shape == (1, 3, 24, 32)


def test_depth_is_normalised_by_the_scene_scale() -> None:
    a, b = _model(depth_scale=1.0), _model(depth_scale=4.0)
    buf = torch.rand(1, 9, 24, 32)
    scaled = buf.clone()
    scaled[:, 3] *= 4
    code = torch.zeros(1, 8)
    assert torch.allclose(a(buf, code), b(scaled, code), atol=1e-6)


def test_discriminator_and_losses() -> None:
    d = MultiScaleDiscriminator(9, (8, 16, 16), scales=3)
    outs = d(torch.rand(2, 9, 48, 64), torch.rand(2, 3, 48, 64))
    assert len(outs) == 3 and outs[0].shape[-1] > outs[1].shape[-1] > outs[2].shape[-1]
    ones, zeros = [torch.ones(2, 1, 4, 4)], [torch.zeros(2, 1, 4, 4)]
    assert lsgan_d_loss(ones, zeros) == 0 and lsgan_d_loss(zeros, ones) == 2
    assert lsgan_g_loss(ones) == 0 and lsgan_g_loss(zeros) == 1
    g = gram_matrix(torch.ones(1, 2, 3, 3))
    assert g.shape == (1, 2, 2) and torch.allclose(g, torch.full((1, 2, 2), 0.5))
    dm = style_distances([torch.stack([torch.eye(2), torch.eye(2), 3 * torch.eye(2)])])
    assert dm[0, 1] == 0 and dm[0, 2] > 0 and torch.allclose(dm, dm.T)
    a = torch.zeros(1, 8)
    assert triplet_loss(a, a, a + 1, margin=0.5) == 0 and triplet_loss(a, a + 1, a, margin=0.5) == 8.5


def test_model_round_trip_and_errors(tmp_path: Path) -> None:
    m = _model(depth_scale=3.5)
    save_rerenderer(tmp_path / "model", m, extra={"holdout": ["x.png"]})
    back = load_rerenderer(tmp_path)  # a folder holding model.*
    assert back.config == m.config and back.extra == {"holdout": ["x.png"]}
    buf, code = torch.rand(1, 9, 24, 32), torch.randn(1, 8)
    assert torch.equal(back(buf, code), m.eval()(buf, code))
    save_rerenderer(tmp_path / "half", m, half=True)
    assert (tmp_path / "half.safetensors").stat().st_size < 0.6 * (tmp_path / "model.safetensors").stat().st_size
    assert torch.allclose(load_rerenderer(tmp_path / "half.json")(buf, code), m(buf, code), atol=1e-2)
    meta = json.loads((tmp_path / "model.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(CheckpointError, match="format_version 99"):
        load_rerenderer(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({**meta, "config": {**meta["config"], "format_version": 2}}))
    with pytest.raises(CheckpointError, match="format_version"):
        load_rerenderer(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({**meta, "config": {**meta["config"], "gen_enc": [8, 8]}}))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_rerenderer(tmp_path)
    (tmp_path / "model.json").unlink()
    with pytest.raises(CheckpointError, match="model.json"):
        load_rerenderer(tmp_path)
    with pytest.raises(CheckpointError, match="missing"):
        load_rerenderer(tmp_path / "nothing")


def test_scene_bundle_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    scene = SceneBundle(
        points=rng.normal(size=(100, 3)).astype(np.float32),
        colors=rng.integers(0, 256, (100, 3), dtype=np.uint8),
        normals=np.tile(np.float32([0, 0, 1]), (100, 1)),
        cameras={"a.png": _cam(), "b.png": _cam(20, 10)},
        codes={"a.png": np.arange(8, dtype=np.float32)},
        depth_scale=2.5,
        holdout=["b.png"],
        highlights={"sunny": "a.png"},
    )
    save_scene_bundle(tmp_path, scene)
    back = load_scene_bundle(tmp_path / "scene.json")
    assert np.array_equal(back.points, scene.points) and np.array_equal(back.colors, scene.colors)
    assert np.array_equal(back.normals, scene.normals) and list(back.cameras) == ["a.png", "b.png"]
    assert back.cameras["b.png"].width == 20 and np.array_equal(back.codes["a.png"], scene.codes["a.png"])
    assert back.depth_scale == 2.5 and back.holdout == ["b.png"] and back.highlights == {"sunny": "a.png"}
    (tmp_path / "scene.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="sha256"):
        load_scene_bundle(tmp_path)
    with pytest.raises(CheckpointError):
        load_rerenderer(tmp_path)  # no model in this folder


def test_config_json_round_trip() -> None:
    cfg = RerenderConfig(width=64, height=48, depth_scale=2.0, notes={"holdout": ["a.png"]})
    d = json.loads(json.dumps(cfg.to_dict()))
    assert RerenderConfig.from_dict(d) == cfg
    with pytest.raises(InputError, match="unknown keys"):
        RerenderConfig.from_dict({**d, "bogus": 1})
    with pytest.raises(InputError):
        RerenderConfig(gen_enc=(8,), gen_dec=(8,))


def test_film_starts_as_the_plain_unet_and_then_uses_the_code() -> None:
    torch.manual_seed(0)
    film = Rerenderer(RerenderConfig(**SMALL, color_skip=False))
    plain = Rerenderer(RerenderConfig(**SMALL, color_skip=False, code_film=False))
    missing, unexpected = plain.generator.load_state_dict(film.generator.state_dict(), strict=False)
    assert not missing and all(k.startswith("film.") for k in unexpected) and unexpected
    buf, code = torch.rand(2, 9, 24, 32), torch.randn(2, 8)
    assert torch.allclose(film(buf, code), plain(buf, code), atol=1e-6)  # zero-initialised FiLM = identity
    torch.nn.init.normal_(film.generator.film[-1].weight, std=0.5)
    assert (film(buf, code) - film(buf, -code)).abs().mean() > 1e-3
    assert Rerenderer(RerenderConfig(**SMALL, use_appearance=False)).generator.__class__.__name__ == "UNet"


def test_code_standardisation_and_legacy_configs() -> None:
    model = _model()
    assert model.config.code_norm and model.encoder.normalize
    photo, buf = torch.rand(6, 3, 24, 32), torch.rand(6, 9, 24, 32)
    raw = model.encode(photo, buf)
    model.encoder.calibrate(raw.detach())
    codes = model.encode(photo, buf)
    assert torch.allclose(codes.mean(0), torch.zeros(8), atol=1e-4) and torch.allclose(
        codes.std(0), torch.ones(8), atol=1e-3
    )
    assert {"encoder.center", "encoder.scale"} <= set(model.state_dict())
    legacy = {k: v for k, v in RerenderConfig(**SMALL).to_dict().items() if k not in ("code_film", "code_norm")}
    old = RerenderConfig.from_dict(legacy)  # files written before the fields existed: the old architecture
    assert not old.code_film and not old.code_norm
    assert not any(k.startswith(("generator.film", "encoder.center")) for k in Rerenderer(old).state_dict())
