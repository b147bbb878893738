"""Video sandwiches trained through the x265 proxy: clips, calibration with real x265, training, export, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from tests.conftest import smooth_image

from neuralwrap.errors import InputError
from neuralwrap.io import write_image
from neuralwrap.io.video import open_frames
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.config import is_video_model, qp_to_quality, quality_to_qp
from neuralwrap.sandwich.inference.codec import load_model_file
from neuralwrap.sandwich.inference.video import decode_video, encode_video, read_video_tag
from neuralwrap.sandwich.models.proxy import PROXY_CODECS
from neuralwrap.sandwich.training.video import (
    VideoSandwich,
    VideoSandwichObjective,
    export_video_model,
    fit_video_rd_slope,
    video_sandwich_config,
)
from neuralwrap.sandwich.training.video_data import ClipDataset, fixed_clips, make_clip

S, T = 32, 3


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [smooth_image(96, 128, seed=s, noise=0.03) for s in range(3)]


@pytest.fixture(scope="module")
def clips(photos) -> list[dict[str, torch.Tensor]]:
    return fixed_clips(photos, 2, T, S, seed=1)


@pytest.fixture(scope="module")
def calibration(clips):
    return fit_video_rd_slope(clips, (24, 32, 40), "yuv444p")


def test_clip_dataset(photos) -> None:
    ds = ClipDataset(photos, frames=T, size=S, seed=3)
    a, b = ds[5], ds[5]
    assert a["clip"].shape == (T, 3, S, S) and a["flow"].shape == (T, 2, S, S)
    assert torch.equal(a["clip"], b["clip"]) and float(a["clip"].min()) >= 0 and float(a["clip"].max()) <= 1
    assert make_clip(photos[0], 4, (40, 24), np.random.default_rng(0)).shape == (4, 24, 40, 3)


def test_conditioning_and_config() -> None:
    assert qp_to_quality(32) == 36 and quality_to_qp(qp_to_quality(27)) == 27
    cfg = video_sandwich_config("yuv444p", (22, 42))
    assert is_video_model(cfg) and cfg.quality_range == (16, 56) and cfg.subsampling == "444"
    gray = video_sandwich_config("gray")
    assert gray.code_channels == 1 and gray.subsampling == "400"


def test_calibration_real_x265(calibration) -> None:
    s = calibration.slope
    assert s.qualities == sorted(s.qualities) == [20, 36, 52]
    assert s.bpp[0] < s.bpp[-1] and s.mse[0] > s.mse[-1] and all(v > 0 for v in s.slope)
    assert len(calibration.log_ratio) == 3 and all(abs(r) < 3 for r in calibration.log_ratio)


def test_training_steps_lower_the_loss(clips, calibration) -> None:
    torch.manual_seed(0)
    model = VideoSandwich(video_sandwich_config("yuv444p", (24, 40)))
    obj = VideoSandwichObjective(calibration.slope, (24, 40))
    batch = {k: torch.stack([c[k] for c in clips]) for k in ("clip", "flow")}
    qps = [32, 36]
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)  # larger first Adam steps add noise to the code frames
    first = float(obj.loss_at(model, batch, qps)[0].detach())
    for _ in range(12):
        loss, logs = obj.loss_at(model, batch, qps)
        opt.zero_grad()
        loss.backward()
        opt.step()
    last, logs = obj.loss_at(model, batch, qps)
    assert float(last.detach()) < first and logs["bpp"] > 0 and np.isfinite(logs["psnr"])
    assert obj.sample_qp(4, 7) == obj.sample_qp(4, 7) and all(24 <= q <= 40 for q in obj.sample_qp(16, 1))


def test_gray_forward(clips) -> None:
    model = VideoSandwich(video_sandwich_config("gray", (24, 40)))
    out = model.forward_clip(clips[0]["clip"], clips[0]["flow"], 30)
    assert out.x_hat.shape == (T, 3, S, S) and out.code_raw.shape == (T, 1, S, S) and float(out.bits.detach()) > 0


def _pngs(folder: Path, photo: np.ndarray, n: int = 4, size: tuple[int, int] = (48, 32)) -> Path:
    frames = make_clip(photo, n, size, np.random.default_rng(2))
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        write_image(folder / f"f{i:03d}.png", f)
    return folder


def test_export_encode_decode_real_x265(photos, tmp_path: Path) -> None:
    model = VideoSandwich(video_sandwich_config("yuv444p"))
    path = export_video_model(model, tmp_path / "m.safetensors", "tiny-video")
    assert json.loads(path.with_suffix(".json").read_text())["config"]["sandwich"]["codec"] == "hevc"
    assert "hevc" in PROXY_CODECS
    sc = load_model_file(path)  # the standard loader builds video sandwiches (proxy "hevc" = the video proxy)
    assert sc.config.codec == "hevc"
    src = open_frames(_pngs(tmp_path / "clip", photos[0]), fps=10)
    rep = encode_video(sc, src, tmp_path / "v.mp4", qp=30, progress=False)
    assert rep.frames == 4 and rep.pix_fmt == "yuv444p" and rep.cond_quality == 40
    assert read_video_tag(tmp_path / "v.mp4")[1].quality == 40
    dec = decode_video(tmp_path / "v.mp4", tmp_path / "out", sc=sc, progress=False)
    assert dec.frames == 4 and (dec.width, dec.height) == (48, 32)
    rep = encode_video(sc, src, tmp_path / "c.mp4", crf=30, progress=False)
    assert 16 <= rep.cond_quality <= 56
    with pytest.raises(InputError):
        encode_video(sc, src, tmp_path / "x.mp4", crf=30, qp=30, progress=False)


def test_bad_inputs(clips) -> None:
    with pytest.raises(InputError):
        video_sandwich_config("yuv422p")
    with pytest.raises(InputError):
        video_sandwich_config("yuv444p", (40, 22))
    with pytest.raises(InputError):
        fit_video_rd_slope([], (22, 32, 42), "yuv444p")
    with pytest.raises(InputError):
        fit_video_rd_slope(clips[:1], (22, 32), "yuv444p")
    from dataclasses import replace

    with pytest.raises(InputError):
        VideoSandwich(replace(video_sandwich_config("yuv444p"), codec="jpeg"))
    model = VideoSandwich(video_sandwich_config("yuv444p"))
    with pytest.raises(InputError):
        model.forward_clip(clips[0]["clip"][:, :1], clips[0]["flow"], 30)
    with pytest.raises(InputError):
        ClipDataset([], frames=3, size=32)


def _cli(argv: list[str]) -> int:
    return main(argv)


def test_cli_train_export_encode(photos, tmp_path: Path, capsys) -> None:
    data = tmp_path / "photos"
    data.mkdir()
    for i, ph in enumerate(photos[:2]):
        write_image(data / f"p{i}.png", ph)
    model = tmp_path / "tiny.safetensors"
    assert (
        _cli(
            [
                "video",
                "train",
                "--pix-fmt",
                "gray",
                "--data",
                str(data),
                "--steps",
                "2",
                "--batch-size",
                "1",
                "--frames",
                "2",
                "--size",
                "32",
                "--calib-clips",
                "1",
                "--out",
                str(tmp_path / "run"),
                "--export",
                str(model),
                "--no-progress",
            ]
        )
        == 0
    )
    assert model.exists() and (tmp_path / "run" / "summary.json").exists()
    capsys.readouterr()
    clip = _pngs(tmp_path / "clip", photos[1], 3)
    assert (
        _cli(
            ["video", "encode", str(clip), str(tmp_path / "g.mp4"), "--model", str(model), "--qp", "34", "--fps", "10"]
        )
        == 0
    )
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["pix_fmt"] == "gray" and rep["cond_quality"] == 32 and rep["frames"] == 3


def test_half_resolution_video_sandwich(clips, photos, tmp_path: Path) -> None:
    """scale 2: half-resolution code frames through the proxy and real x265; bicubic-half anchor calibration."""
    from neuralwrap.sandwich.training.video import downscale_flow

    flow = clips[0]["flow"]
    assert torch.allclose(downscale_flow(flow, 2), torch.nn.functional.avg_pool2d(flow, 2) / 2)
    cfg = video_sandwich_config("yuv420p", (24, 40), scale=2)
    assert cfg.scale == 2
    torch.manual_seed(0)
    model = VideoSandwich(cfg)
    out = model.forward_clip(clips[0]["clip"], flow, 30)
    assert out.code_raw.shape == (T, 3, S // 2, S // 2) and out.x_hat.shape == (T, 3, S, S)
    full = fit_video_rd_slope(clips, (24, 32, 40), "yuv420p")
    half = fit_video_rd_slope(clips, (24, 32, 40), "yuv420p", scale=2)
    assert all(h < f for h, f in zip(half.slope.bpp, full.slope.bpp))  # a quarter of the pixels: fewer bits
    assert half.slope.mse[-1] > full.slope.mse[-1]  # and the bicubic resampling floor at the best quality
    obj = VideoSandwichObjective(half.slope, (24, 40))
    batch = {k: torch.stack([c[k] for c in clips]) for k in ("clip", "flow")}
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    first = float(obj.loss_at(model, batch, [30, 36])[0].detach())
    for _ in range(10):
        loss, _ = obj.loss_at(model, batch, [30, 36])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(obj.loss_at(model, batch, [30, 36])[0].detach()) < first
    sc = load_model_file(export_video_model(model, tmp_path / "x2.safetensors", "tiny-x2"))
    src = open_frames(_pngs(tmp_path / "clip", photos[0], size=(128, 64)), fps=10)
    rep = encode_video(sc, src, tmp_path / "x2.mp4", qp=30, progress=False)
    with av.open(str(tmp_path / "x2.mp4")) as c:  # the stream itself is half resolution
        assert (c.streams.video[0].width, c.streams.video[0].height) == (64, 32)
    dec = decode_video(tmp_path / "x2.mp4", tmp_path / "out", sc=sc, progress=False)
    assert rep.frames == dec.frames == 4 and (dec.width, dec.height) == (128, 64)
    with pytest.raises(InputError):
        video_sandwich_config("yuv420p", scale=3)


def test_perceptual_video_objective(clips, calibration) -> None:
    torch.manual_seed(0)
    model = VideoSandwich(video_sandwich_config("yuv444p", (24, 40)))
    batch = {k: torch.stack([c[k] for c in clips]) for k in ("clip", "flow")}
    mse_loss, mse_logs = VideoSandwichObjective(calibration.slope, (24, 40)).loss_at(model, batch, [30, 30])
    loss, logs = VideoSandwichObjective(calibration.slope, (24, 40), distortion="lpips").loss_at(model, batch, [30, 30])
    assert (
        logs["lpips"] > 0
        and logs["mse"] == pytest.approx(mse_logs["mse"])
        and float(loss.detach()) != float(mse_loss.detach())
    )
    loss.backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.pre.parameters())
    with pytest.raises(InputError):
        VideoSandwichObjective(calibration.slope, (24, 40), distortion="nope")
