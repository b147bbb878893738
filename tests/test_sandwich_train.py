"""Sandwich training end to end on tiny generated photos: loss goes down, the real-codec rate refit
runs, resume continues, the exported model writes real JPEG files that decode with the post-processor."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CodecError, InputError
from neuralwrap.metrics.psnr import psnr
from neuralwrap.sandwich import load_model_file, train_sandwich
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.inference.codec import decode_file
from neuralwrap.sandwich.training.image import SandwichTrainConfig
from neuralwrap.train import TrainConfig, latest_checkpoint
from sandwich_helpers import make_photo_folder, textured_image, tiny_config

REPO = Path(__file__).resolve().parents[1]


class _Crash(Exception):
    pass


def _crash_at(step_to_crash: int):
    def hook(trainer, step: int) -> None:
        if step == step_to_crash:
            raise _Crash(f"simulated crash at step {step}")

    return hook


def _train(tmp: Path, steps: int, out: str = "run", resume: bool = True, hooks=()) -> dict:
    data = make_photo_folder(tmp / "photos")
    tc = TrainConfig(
        steps=steps,
        batch_size=4,
        lr=2e-3,
        seed=1,
        out_dir=str(tmp / out),
        log_every=5,
        ckpt_every=10,
        progress=False,
        tensorboard=True,
        resume=resume,
    )
    sw = SandwichTrainConfig(data=str(data), crop=32, refit_every=10, refit_crops=4, calib_crops=4, calib_crop=64)
    return train_sandwich(tiny_config(), tc, sw, hooks=hooks)


def _losses(run: Path) -> list[float]:
    with open(run / "train_log.csv") as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sw")
    result = _train(tmp, steps=60)
    assert result["rate_refits"], "the real-codec rate refit never ran"
    return tmp


def test_training_lowers_loss_and_logs(trained: Path) -> None:
    import torch

    from neuralwrap.sandwich.models.image import Sandwich
    from neuralwrap.sandwich.training.calibration import RDSlope
    from neuralwrap.sandwich.training.image import SandwichObjective
    from neuralwrap.train import load_checkpoint, read_checkpoint_meta

    ckpt = latest_checkpoint(trained / "run")
    slope = RDSlope(**read_checkpoint_meta(ckpt)["config"]["model"]["rd_slope"])
    objective = SandwichObjective(tiny_config(), slope, gamma=1.0)
    crops = torch.stack(
        [torch.from_numpy(textured_image(32, 32, 200 + i).transpose(2, 0, 1) / 255.0).float() for i in range(16)]
    )
    q = torch.tensor([10.0, 30.0, 50.0, 70.0] * 4)
    torch.manual_seed(0)
    untrained = Sandwich(tiny_config()).eval()  # an untrained sandwich is exactly the plain codec (proxy)
    trained_model = Sandwich(tiny_config())
    load_checkpoint(ckpt, {"model": trained_model})
    with torch.no_grad():
        before = objective.loss_at(untrained, crops, q)[0].item()
        after = objective.loss_at(trained_model.eval(), crops, q)[0].item()
    assert after < 0.985 * before, (before, after)  # measured: 5.61 -> 5.45 after 60 steps
    assert len(_losses(trained / "run")) >= 10
    assert any((trained / "run" / "tb").iterdir()), "no TensorBoard events"
    assert latest_checkpoint(trained / "run") is not None


def test_rate_refit_brings_proxy_close_to_real_bytes(trained: Path) -> None:
    import json

    summary = json.loads((trained / "run" / "ckpt_00000060.json").read_text())
    corr = [v for k, v in summary.items() if k == "step"]
    assert corr == [60]
    # after refits, the corrected proxy should be within 15% of real bytes on the refit crops
    import torch

    from neuralwrap.sandwich.models.image import Sandwich
    from neuralwrap.sandwich.training.image import RateRefitHook
    from neuralwrap.train import load_checkpoint

    model = Sandwich(tiny_config())
    load_checkpoint(trained / "run" / "ckpt_00000060", {"model": model})
    crops = torch.stack(
        [torch.from_numpy(textured_image(32, 32, 100 + i).transpose(2, 0, 1) / 255.0).float() for i in range(8)]
    )
    err = RateRefitHook(crops, 1).refit(model)["rate_rel_err"]
    assert err < 0.15, err


def test_resume_continues_to_the_same_result(tmp_path: Path) -> None:
    _train(tmp_path, steps=20, out="a")
    with pytest.raises(_Crash):
        _train(tmp_path, steps=20, out="b", hooks=[_crash_at(13)])  # last checkpoint: step 10
    assert latest_checkpoint(tmp_path / "b").name == "ckpt_00000010.safetensors"
    _train(tmp_path, steps=20, out="b")  # the same command again resumes from step 10
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert len(a) == len(b) == 4 and np.allclose(a, b, rtol=1e-5), (a, b)


def test_exported_model_writes_standard_jpeg(trained: Path, tmp_path: Path) -> None:
    from neuralwrap.sandwich.cli.commands import export_run

    path = export_run(trained / "run", tmp_path / "m.safetensors", "testmodel", "1")
    sc = load_model_file(path)
    img = textured_image(70, 90, 7)
    data = sc.encode(img, 50)
    with Image.open(io.BytesIO(data)) as im:  # any JPEG reader opens it
        assert im.format == "JPEG" and im.size == (90, 70)
        assert b"neuralwrap:testmodel@1;q=50" in im.info.get("comment", b"")
    rec = sc.decode(data)
    assert rec.shape == img.shape and psnr(img, rec) > 20
    # a plain JPEG without the tag decodes plainly, with a warning
    plain = get_codec("jpeg").encode(img, quality=50)
    with pytest.warns(UserWarning, match="no neuralwrap tag"):
        out, tag = decode_file(plain)
    assert tag is None and out.shape == img.shape
    with pytest.raises(CodecError):
        sc.decode(data[: len(data) // 2])
    with pytest.raises(InputError, match="smaller"):
        sc.encode(img[:8, :8], 50)
    with pytest.warns(UserWarning, match="alpha"):
        sc.encode(np.concatenate([img, img[:, :, :1]], 2), 50)
    with pytest.warns(UserWarning, match="8 bits"):
        sc.encode(img.astype(np.uint16) * 257, 50)


def test_warm_start_from_a_model_file(trained: Path, tmp_path: Path) -> None:
    """``SandwichTrainConfig.init`` starts from a model file's processors: with lr 0 the run's weights stay
    the file's (a fresh run's do not); processors of another shape are refused, naming the file."""
    import dataclasses

    import torch

    from neuralwrap.errors import CheckpointError
    from neuralwrap.sandwich.cli.commands import export_run
    from neuralwrap.sandwich.config import ProcessorConfig, SandwichConfig
    from neuralwrap.sandwich.models.image import Sandwich
    from neuralwrap.train import load_checkpoint

    src = export_run(trained / "run", tmp_path / "src.safetensors", "src", "1")
    want = load_model_file(src).model.state_dict()
    data = make_photo_folder(tmp_path / "photos")
    sw = SandwichTrainConfig(data=str(data), crop=32, refit_every=0, calib_crops=2, calib_crop=64, init=str(src))

    def run(out: str, sw: SandwichTrainConfig, cfg: SandwichConfig | None = None) -> dict:
        cfg = cfg or tiny_config()
        tc = TrainConfig(
            steps=2, batch_size=2, lr=0.0, seed=5, out_dir=str(tmp_path / out), ckpt_every=2, progress=False
        )
        train_sandwich(cfg, tc, sw)
        model = Sandwich(cfg)
        load_checkpoint(latest_checkpoint(tmp_path / out), {"model": model})
        return model.state_dict()

    warm, cold = run("warm", sw), run("cold", dataclasses.replace(sw, init=None))
    keys = [k for k in want if k.startswith(("pre.", "post."))]
    assert keys and all(torch.equal(warm[k], want[k]) for k in keys)
    assert not all(torch.equal(cold[k], want[k]) for k in keys)
    wider = dataclasses.replace(tiny_config(), post=ProcessorConfig(unet_enc=(8,), unet_dec=(24, 8)))
    with pytest.raises(CheckpointError, match="src.safetensors"):
        run("bad", sw, wider)


def test_cli_encode_decode_and_errors(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "cli.safetensors"
    assert main(["export", str(trained / "run"), str(model), "--name", "clim"]) == 0
    src = tmp_path / "in.png"
    Image.fromarray(textured_image(64, 80, 3)).save(src)
    assert main(["encode", str(src), str(tmp_path / "o.jpg"), "--model", str(model), "--quality", "40"]) == 0
    calibrated = tmp_path / "cal.safetensors"
    assert (
        main(
            [
                "calibrate",
                str(model),
                str(calibrated),
                "--data",
                str(trained / "photos"),
                "--crop",
                "32",
                "--crops",
                "4",
            ]
        )
        == 0
    )
    assert load_model_file(calibrated).encode(textured_image(64, 80, 3), 40) == load_model_file(model).encode(
        textured_image(64, 80, 3), 40
    )  # calibration touches only the rate correction
    assert main(["encode", str(src), str(tmp_path / "o.webp"), "--model", str(model), "--quality", "40"]) == 2
    assert "use a name ending in .jpg" in capsys.readouterr().err
    assert not (tmp_path / "o.webp").exists()
    assert (
        main(
            ["encode", str(tmp_path / "missing.png"), str(tmp_path / "x.jpg"), "--model", str(model), "--quality", "40"]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert (
        main(["encode", str(tmp_path / "junk.png"), str(tmp_path / "x.jpg"), "--model", str(model), "--quality", "40"])
        == 2
    )
    assert "cannot read image" in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists()
    assert main(["encode", str(src), str(tmp_path / "x.jpg"), "--model", "no-such-model", "--quality", "40"]) == 2
    assert "unknown pretrained model" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_torchrun_two_cpu_processes(tmp_path: Path) -> None:
    data = make_photo_folder(tmp_path / "photos")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "tests")}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "neuralwrap.sandwich.cli.main",
        "train",
        "--data",
        str(data),
        "--crop",
        "32",
        "--steps",
        "12",
        "--batch-size",
        "2",
        "--pre",
        "8/8,8",
        "--post",
        "8/8,8",
        "--refit-every",
        "6",
        "--ckpt-every",
        "6",
        "--out",
        str(tmp_path / "ddp"),
        "--export",
        str(tmp_path / "ddp.safetensors"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert latest_checkpoint(tmp_path / "ddp") is not None
    assert (tmp_path / "ddp.safetensors").is_file()
