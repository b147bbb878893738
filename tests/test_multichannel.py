"""neuralwrap.synthetic.multichannel: deep-framebuffer images, determinism, split, crops, cache."""

from __future__ import annotations

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.synthetic.landmark import make_landmark
from neuralwrap.synthetic.multichannel import (
    MC_CHANNELS,
    MultiChannelCrops,
    make_multichannel,
    render_gbuffer_view,
)


@pytest.fixture(scope="module")
def imgs() -> list[tuple[str, np.ndarray]]:
    return make_multichannel(3, width=64, height=48, channels=8, split="test", views_per_scene=2)


def test_shapes_levels_and_channel_semantics(imgs):
    assert [n for n, _ in imgs] == ["test_s00000_v00", "test_s00000_v01", "test_s00001_v00"]
    for _, im in imgs:
        assert im.shape == (48, 64, 8) and im.dtype == np.float32
        assert im.min() >= 0 and im.max() <= 1
        assert np.allclose(im * 255, np.round(im * 255), atol=1e-3)  # 8-bit levels
        n = im[:, :, 3:6] * 2 - 1
        sky = im[:, :, 6] == 0  # no hit: disparity 0, zero normal
        length = np.linalg.norm(n, axis=2)
        interior = (~sky) & (length > 0.9)  # away from anti-aliased edges normals are unit vectors
        assert interior.mean() > 0.5
        assert n[:, :, 2][interior].mean() < 0  # visible surfaces mostly face the camera (z forward)
        assert (length[sky] < 0.05).mean() > 0.9  # (a far horizon also quantises to disparity 0)
        levels = np.round(im[:, :, 7] * 4) / 4  # coverage of 2x2 subsamples, quantised to 8 bits
        assert np.allclose(levels, im[:, :, 7], atol=1 / 255)
    six = make_multichannel(3, width=64, height=48, channels=6, split="test", views_per_scene=2)
    assert np.array_equal(six[0][1], imgs[0][1][:, :, :6])
    assert MC_CHANNELS[6] == MC_CHANNELS[8][:6]


def test_rgb_is_a_landmark_like_photo_and_deterministic(imgs):
    again = render_gbuffer_view(0, 0, 64, 48)
    assert np.array_equal(again, imgs[0][1])
    photo = make_landmark(1, width=64, height=48, seed=0).views[0].image
    # same renderer and palette as the landmark photos (different camera): similar colour statistics
    assert abs(float(imgs[0][1][:, :, :3].mean()) - photo.mean() / 255) < 0.2


def test_train_and_test_scenes_differ():
    tr = make_multichannel(1, width=64, height=48, split="train")[0]
    te = make_multichannel(1, width=64, height=48, split="test")[0]
    assert tr[0].startswith("train_s10000") and te[0].startswith("test_s00000")
    assert not np.array_equal(tr[1], te[1])


def test_crops_flip_normals_consistently(imgs):
    ds = MultiChannelCrops([im for _, im in imgs], crop=32, length=50, seed=1)
    x = ds[0]
    assert x.shape == (8, 32, 32) and x.dtype.is_floating_point
    assert np.array_equal(ds[7].numpy(), ds[7].numpy())
    # find a horizontally flipped crop: its nx equals 1 - nx of the mirrored source region
    src = [im for _, im in imgs]
    found = False
    for i in range(50):
        c = ds[i].numpy().transpose(1, 2, 0)
        for im in src:
            for y in range(48 - 32 + 1):
                for xx in range(64 - 32 + 1):
                    p = im[y : y + 32, xx : xx + 32]
                    if np.array_equal(c[:, :, :3], p[:, ::-1, :3]) and not np.array_equal(c[:, :, :3], p[:, :, :3]):
                        assert np.allclose(c[:, :, 3], 1 - p[:, ::-1, 3], atol=1e-6)
                        assert np.allclose(c[:, :, 4:], p[:, ::-1, 4:])
                        found = True
                        break
                if found:
                    break
            if found:
                break
        if found:
            break
    assert found


def test_cache_roundtrip_and_errors(tmp_path):
    a = make_multichannel(2, width=32, height=32, channels=6, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("mc_*.npz"))) == 1
    b = make_multichannel(2, width=32, height=32, channels=6, cache_dir=tmp_path)
    assert all(np.array_equal(x[1], y[1]) and x[0] == y[0] for x, y in zip(a, b))
    with pytest.raises(InputError):
        make_multichannel(1, channels=7)
    with pytest.raises(InputError):
        make_multichannel(1, split="val")
    with pytest.raises(InputError):
        MultiChannelCrops([a[0][1]], crop=64)
