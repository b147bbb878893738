"""HDR: EXR / Radiance readers, PU21 + PU-PSNR + HDR-FLIP, synthetic HDR data and the ``hdr`` sandwich app.

All tiny (one core, well under a minute); real files, real codecs, no mocks. Tests on the shared HDR images
skip when ``../shared/data`` is absent.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralwrap.errors import InputError
from neuralwrap.io.hdr import chromaticity_matrix, read_hdr, read_rgbe, write_exr
from neuralwrap.metrics.hdr import (
    L_PEAK,
    PU21Decode,
    PU21Encode,
    display_luminance,
    hdr_flip,
    pu21_decode,
    pu21_encode,
    pu_psnr,
)
from neuralwrap.metrics.psnr import psnr
from neuralwrap.rd.bd import psnr_at_bpp
from neuralwrap.sandwich.apps.hdr_data import (
    PU_PEAK,
    SyntheticHDRCrops,
    hdr_eval_data,
    hdr_to_rep,
    rep_to_luminance,
)
from sandwich_helpers import TINY, make_photo_folder, textured_image

# ----------------------------------------------------------------------------------------------
# io


def _hdr_image(h: int = 24, w: int = 40) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([np.exp(x / 6.0) * 0.01, np.exp(y / 5.0) * 0.02, 0.1 + 0 * x], -1)
    return img.astype(np.float32)  # 0.01 … 7.6, … 2.0


def test_exr_round_trip_half_and_float(tmp_path: Path) -> None:
    img = _hdr_image()
    write_exr(tmp_path / "a.exr", img)
    back = read_hdr(tmp_path / "a.exr")
    assert back.shape == img.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, img, rtol=1e-3)  # half precision
    write_exr(tmp_path / "b.exr", img, half=False)
    np.testing.assert_array_equal(read_hdr(tmp_path / "b.exr"), img)
    assert not list(tmp_path.glob(".*tmp*")), "atomic write left a temporary file"


def test_write_exr_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_exr(tmp_path / "x.exr", np.zeros((4, 4, 2), np.float32))
    with pytest.raises(InputError):
        write_exr(tmp_path / "x.exr", np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(InputError, match="half"):
        write_exr(tmp_path / "x.exr", np.full((4, 4, 3), 1e6, np.float32))
    assert not (tmp_path / "x.exr").exists()


def test_corrupt_truncated_and_foreign_files_raise_input_error(tmp_path: Path) -> None:
    write_exr(tmp_path / "ok.exr", np.tile(_hdr_image(), (8, 8, 1)))
    data = (tmp_path / "ok.exr").read_bytes()
    for name, blob in [
        ("trunc.exr", data[: len(data) // 2]),
        ("head.exr", data[:40]),
        ("png.exr", b"\x89PNG\r\n\x1a\n" + bytes(100)),
        ("trunc.hdr", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8 +X 8\n" + bytes(20)),
        ("nores.hdr", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\nbogus\n"),
    ]:
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(InputError):
            read_hdr(tmp_path / name)
    with pytest.raises(InputError, match="not found"):
        read_hdr(tmp_path / "missing.exr")


def _rle_channel(vals: np.ndarray) -> bytes:
    """Radiance new-style RLE of one channel of a scanline (runs ≥ 3 as runs, the rest as literals)."""
    out, i, n = bytearray(), 0, len(vals)
    while i < n:
        run = 1
        while i + run < n and run < 127 and vals[i + run] == vals[i]:
            run += 1
        if run >= 3:
            out += bytes([128 + run, int(vals[i])])
            i += run
            continue
        j = i
        while j < n and j - i < 128 and not (j + 2 < n and vals[j] == vals[j + 1] == vals[j + 2]):
            j += 1
        j = max(j, i + 1)
        out += bytes([j - i]) + bytes(int(v) for v in vals[i:j])
        i = j
    return bytes(out)


def test_rgbe_reader_decodes_new_style_rle_and_flat(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    h, w = 5, 40
    rgbe = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgbe[:, 10:30] = rgbe[:, 10:11]  # long runs
    rgbe[2, :, 3] = 0  # a black scanline (exponent 0)
    header = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\nEXPOSURE=2.0\n\n-Y %d +X %d\n" % (h, w)
    rle = b"".join(
        bytes([2, 2, w >> 8, w & 255]) + b"".join(_rle_channel(rgbe[y, :, c]) for c in range(4)) for y in range(h)
    )
    (tmp_path / "rle.hdr").write_bytes(header + rle)
    (tmp_path / "flat.hdr").write_bytes(header + rgbe.tobytes())
    e = rgbe[:, :, 3:4].astype(np.float64)
    want = np.where(e == 0, 0.0, (rgbe[:, :, :3] + 0.5) * np.exp2(e - 136.0)) / 2.0
    for name in ("rle.hdr", "flat.hdr"):
        np.testing.assert_allclose(read_hdr(tmp_path / name), want.astype(np.float32), rtol=1e-6)
    (tmp_path / "cut.hdr").write_bytes(header + rle[:-7])
    with pytest.raises(InputError, match="truncated"):
        read_rgbe(tmp_path / "cut.hdr")


def test_ap0_chromaticities_matrix() -> None:
    ap0 = (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767)
    m = chromaticity_matrix(ap0)  # ACES2065-1 → linear Rec.709 (D65, Bradford), published values
    np.testing.assert_allclose(m[0], [2.5217, -1.1342, -0.3876], atol=2e-3)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-3)  # white stays white
    np.testing.assert_allclose(
        chromaticity_matrix((0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)), np.eye(3), atol=1e-9
    )


def test_shared_hdr_files(shared_data: Path) -> None:
    hdr = shared_data / "hdr"
    mem = read_hdr(hdr / "memorial_o876.hdr", to_rec709=False)
    assert mem.shape == (768, 512, 3) and mem.min() >= 0 and np.isfinite(mem).all()
    lum = mem @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    assert lum.max() / np.percentile(lum[lum > 0], 1) > 1e4  # a real HDR radiance map
    conv = read_hdr(hdr / "memorial_o876.hdr")  # PRIMARIES → Rec.709: a small change only
    assert np.abs(conv - mem).max() / mem.max() < 0.1
    carrots_raw = read_hdr(hdr / "Carrots.exr", to_rec709=False)
    carrots = read_hdr(hdr / "Carrots.exr")  # ACES AP0 → Rec.709
    assert carrots.shape == (400, 600, 3) and not np.allclose(carrots, carrots_raw)


# ----------------------------------------------------------------------------------------------
# metrics


def test_pu21_golden_monotonic_and_inverse() -> None:
    np.testing.assert_allclose(
        pu21_encode(np.array([100.0, 4000.0, 10000.0])), [256.3839, 527.4939, 595.3939], atol=1e-3
    )
    lum = np.logspace(np.log10(0.005), 4, 500)
    v = pu21_encode(lum)
    assert np.all(np.diff(v) > 0)
    np.testing.assert_allclose(pu21_decode(v), lum, rtol=1e-9)
    assert pu21_encode(np.array([1e-6]))[0] == pytest.approx(0.0, abs=1e-6)  # clamped below 0.005
    t = torch.logspace(-2, 3.9, 7, dtype=torch.float32)
    assert torch.equal(PU21Encode()(t), pu21_encode(t)) and torch.equal(PU21Decode()(t), pu21_decode(t))
    assert pu21_encode(t).dtype == torch.float32


def test_pu21_gradcheck() -> None:
    x = torch.logspace(-2, 3.9, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pu21_encode, (x,))
    v = torch.linspace(1.0, 590.0, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pu21_decode, (v,))


def test_pu_psnr_and_flip() -> None:
    ref = display_luminance(_hdr_image(48, 64))
    assert ref.max() == pytest.approx(L_PEAK)
    assert math.isinf(pu_psnr(ref, ref))
    assert 30.0 < pu_psnr(ref, ref * 1.02) < pu_psnr(ref, ref * 1.005) < 80.0
    assert hdr_flip(ref, ref) == pytest.approx(0.0, abs=1e-6)
    assert 0.0 < hdr_flip(ref, ref * 1.01) < hdr_flip(ref, ref * 1.2)
    with pytest.raises(InputError):
        pu_psnr(ref, ref[:10])
    with pytest.raises(InputError):
        display_luminance(np.zeros((4, 4, 3), np.float32))


# ----------------------------------------------------------------------------------------------
# data


def test_representation_round_trip() -> None:
    lin = _hdr_image()
    rep = hdr_to_rep(lin)
    assert rep.dtype == np.float32 and 0.0 <= rep.min() and rep.max() == pytest.approx(1.0)
    lum = rep_to_luminance(rep)
    np.testing.assert_allclose(lum, display_luminance(lin), rtol=1e-4)
    assert PU_PEAK == pytest.approx(527.4939, abs=1e-3)


def test_synthetic_crops_are_hdr(tmp_path: Path) -> None:
    ds = SyntheticHDRCrops([textured_image(64, 80, seed=s) for s in range(3)], crop=48, seed=3)
    x = ds[0]
    assert x.shape == (3, 48, 48) and x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.equal(ds[5], ds[5])  # a function of (seed, index)
    ranges = []
    for i in range(20):
        lum = ds.linear(i) @ np.array([0.2126, 0.7152, 0.0722])
        ranges.append(lum.max() / max(np.percentile(lum, 1), 0.005))
    assert np.median(ranges) > 100  # dynamic range beyond what 8 bits hold


def test_eval_data_downscales(shared_data: Path) -> None:
    imgs = dict(hdr_eval_data(str(shared_data / "hdr")))
    assert len(imgs) == 9 and max(max(im.shape[:2]) for im in imgs.values()) <= 700
    assert all(im.dtype == np.float32 and 0 <= im.min() and im.max() <= 1 for im in imgs.values())


# ----------------------------------------------------------------------------------------------
# the app


def test_app_baselines_real_bytes() -> None:
    from neuralwrap.sandwich.apps.registry import get_app

    app = get_app("hdr")
    rep = hdr_to_rep(_hdr_image(32, 48))
    for name, run in app.baselines.items():
        data, rec = run(rep, 60)
        assert len(data) > 50 and rec.shape == rep.shape and rec.dtype == np.float32, name
        assert psnr(rep, rec) > 25, name
    assert app.anchor == "pu8-jpeg"
    assert set(app.metrics) == {"pu_psnr", "hdr_flip"}


def _objective_loss(model: torch.nn.Module, slope: object, cfg: object, batch: torch.Tensor) -> float:
    from neuralwrap.sandwich.training.image import SandwichObjective

    obj = SandwichObjective(cfg, slope, 1.0)  # type: ignore[arg-type]
    q = torch.tensor([30.0, 50.0, 70.0, 90.0]).repeat_interleave(batch.shape[0])
    with torch.no_grad():
        return float(obj.loss_at(model.eval(), batch.repeat(4, 1, 1, 1), q)[0])


def test_app_training_lowers_loss_and_beats_8bit_baseline(tmp_path: Path) -> None:
    from neuralwrap.sandwich.apps.registry import get_app
    from neuralwrap.sandwich.inference.codec import SandwichCodec
    from neuralwrap.sandwich.models.image import Sandwich
    from neuralwrap.sandwich.training.calibration import RDSlope
    from neuralwrap.sandwich.training.image import SandwichTrainConfig, train_sandwich
    from neuralwrap.train import (
        TrainConfig,
        latest_checkpoint,
        load_checkpoint,
        read_checkpoint_meta,
    )

    app = get_app("hdr")
    photos = make_photo_folder(tmp_path / "photos", n=4, size=(128, 160))
    cfg = dataclasses.replace(app.config, pre=TINY, post=TINY, quality_range=(30, 90), rate_bins=4)
    tc = TrainConfig(
        steps=150,
        batch_size=4,
        lr=2e-3,
        seed=0,
        out_dir=str(tmp_path / "run"),
        log_every=10,
        ckpt_every=1000,
        progress=False,
        tensorboard=False,
        resume=False,
    )
    sw = SandwichTrainConfig(
        data=str(photos),
        crop=32,
        refit_every=40,
        refit_crops=4,
        refit_crop=64,
        calib_crops=4,
        calib_crop=64,
        lr_schedule="constant",
    )
    train_sandwich(cfg, tc, sw, app=app)
    ckpt = latest_checkpoint(tmp_path / "run")
    model = Sandwich(cfg)
    load_checkpoint(ckpt, {"model": model})
    # loss on fixed held-out crops at fixed qualities: trained vs untrained (= the plain 8-bit pipeline),
    # both with the trained real-codec rate correction
    slope = RDSlope(**read_checkpoint_meta(ckpt)["config"]["model"]["rd_slope"])
    untrained = Sandwich(cfg)
    untrained.rate_log_corr.copy_(model.rate_log_corr)
    held = torch.stack([SyntheticHDRCrops(str(photos), crop=32, seed=55)[i] for i in range(8)])
    assert _objective_loss(model, slope, cfg, held) < _objective_loss(untrained, slope, cfg, held)

    sc = SandwichCodec(model, "hdr-test", app="hdr")
    test = [SyntheticHDRCrops(str(photos), crop=128, seed=99)[i].permute(1, 2, 0).numpy() for i in range(3)]
    qs, px = (40, 60, 80), 128 * 128
    gains = []
    for img in test:
        base = [app.baselines["pu8-jpeg"](img, q) for q in qs]
        b_bpp, b_psnr = [8 * len(d) / px for d, _ in base], [psnr(img, r) for _, r in base]
        for q in qs:
            data, _ = sc.encode_with_code(img, q, optimize=True)  # real bytes, metadata tag included
            at = psnr_at_bpp(b_bpp, b_psnr, 8 * len(data) / px)
            if math.isfinite(at):
                gains.append(psnr(img, sc.decode_float(data)) - at)
    assert gains, "no sandwich point inside the baseline's rate range"
    assert np.mean(gains) > 0.0, f"sandwich vs 8-bit baseline at equal real rate (dB): {gains}"
