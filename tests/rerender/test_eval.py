"""Held-out evaluation: metrics, colour-transfer baseline, the left/right protocol, the eval CLI.

The tiny work dir is the same construction as in ``test_render.py`` (synthetic ground truth written in the
capture's dataset format); models are randomly initialised and saved with ``save_rerenderer``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_msssim import ssim as ref_ssim
from rerender_helpers import W, make_work_dir

from neuralwrap.errors import InputError
from neuralwrap.metrics.ssim import SSIM, ssim
from neuralwrap.rerender import Frame
from neuralwrap.rerender.checkpoint import load_rerenderer, save_rerenderer
from neuralwrap.rerender.cli import main
from neuralwrap.rerender.colortransfer import (
    affine_transfer,
    lab_to_rgb,
    reinhard_transfer,
    rgb_to_lab,
)
from neuralwrap.rerender.evaluate import (
    PSNR_CAP,
    color_transfer_baseline,
    evaluate_rerender,
    half_metrics,
)
from neuralwrap.rerender.models.networks import RerenderConfig, Rerenderer


def _smooth(h: int = 48, w: int = 64, seed: int = 0) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    g = torch.Generator().manual_seed(seed)
    ph = torch.rand(3, generator=g) * 6
    img = torch.stack([0.5 + 0.3 * torch.sin(4 * x + ph[c]) * torch.cos(3 * y - ph[c]) for c in range(3)])
    return img.clamp(0, 1)


# ------------------------------------------------------------------------------------------ metrics
def test_metrics_on_identical_images():
    x = _smooth()
    m = half_metrics(x, x.clone())
    assert m["psnr"] == PSNR_CAP and m["ssim"] == pytest.approx(1.0, abs=1e-6) and m["lpips"] < 1e-6


def test_ssim_matches_reference_and_module():
    x = torch.rand(2, 3, 40, 50, generator=torch.Generator().manual_seed(0))
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    ours = ssim(x, y)
    torch.testing.assert_close(ours, ref_ssim(x, y, data_range=1.0, size_average=False), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(SSIM()(x, y), ours)
    assert torch.allclose(ssim(x, x), torch.ones(2))
    with pytest.raises(InputError):
        ssim(x[..., :8, :8], y[..., :8, :8])


def test_lab_round_trip():
    x = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-4, rtol=0)
    white = rgb_to_lab(torch.ones(3, 1, 1))
    assert white[0].item() == pytest.approx(100, abs=0.01) and abs(white[1].item()) < 0.01


def test_color_transfer_lowers_error_on_shifted_image():
    ref = _smooth()
    shifted = ref * torch.tensor([0.6, 0.9, 0.75])[:, None, None] + torch.tensor([0.05, 0.0, 0.1])[:, None, None]
    err = ((shifted - ref) ** 2).mean()
    assert ((reinhard_transfer(shifted, ref) - ref) ** 2).mean() < 0.25 * err
    assert ((affine_transfer(shifted, ref) - ref) ** 2).mean() < 1e-4
    before, after = half_metrics(shifted, ref), half_metrics(affine_transfer(shifted, ref), ref)
    assert after["psnr"] > before["psnr"] + 10 and after["lpips"] <= before["lpips"]


def test_color_transfer_baseline_uses_left_half_only():
    ref = _smooth()
    point = (ref * 0.7).clamp(0, 1)
    valid = torch.ones(ref.shape[1:], dtype=torch.bool)
    valid[:5] = False  # "sky": no points
    a = color_transfer_baseline(point, ref, valid)
    ref2 = ref.clone()
    ref2[:, :, ref.shape[-1] // 2 :] = 0.0  # the right half must not influence the fit
    torch.testing.assert_close(color_transfer_baseline(point, ref2, valid), a)
    assert half_metrics(a, ref)["psnr"] > half_metrics(point, ref)["psnr"]


# ------------------------------------------------------------------------------------------ CLI
@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny finished-capture work dir (as in test_render.py) plus three random models."""
    root = make_work_dir(tmp_path_factory.mktemp("rr_eval_work"), 5)
    for label, kw in {"full": {}, "noapp": {"use_appearance": False}, "nosem": {"use_semantics": False}}.items():
        torch.manual_seed(0)
        cfg = RerenderConfig(
            width=64,
            height=48,
            gen_enc=(8, 16),
            gen_dec=(16, 16, 8),
            enc_widths=(8, 16),
            depth_scale=10.0,
            notes={"holdout": ["photo_001.png", "photo_003.png"]},
            **kw,
        )
        save_rerenderer(
            root / "models" / label / "model",
            Rerenderer(cfg),
            extra={
                "holdout": ["photo_001.png", "photo_003.png"],
                "train_names": ["photo_000.png", "photo_002.png", "photo_004.png"],
            },
        )
    return root


def test_eval_cli_writes_all_outputs(work, tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["eval", str(work), "--out", str(out)]
    for label in ("full", "noapp", "nosem"):
        args += ["--model", f"{label}={work / 'models' / label}"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "color_transfer" in printed and "nosem" in printed
    s = json.loads((out / "summary.json").read_text())
    assert s["holdout"] == ["photo_001.png", "photo_003.png"] and s["size"] == [64, 48]
    # models with an appearance code are also reported with the code fitted on the left half (default 50 steps)
    assert list(s["methods"]) == ["point", "color_transfer", "full", "full+fit", "noapp", "nosem", "nosem+fit"]
    assert s["fit_code_steps"] == 50
    for v in s["methods"].values():
        assert v["photos"] == 2 and 0 < v["psnr"] < 60 and -1 <= v["ssim"] <= 1 and v["lpips"] >= 0
    with open(out / "per_photo.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 7 and {r["method"] for r in rows} == set(s["methods"])
    assert (out / "metrics.png").is_file()
    assert sorted(p.name for p in (out / "side_by_side").iterdir()) == ["photo_001.png", "photo_003.png"]


def test_eval_code_comes_from_left_half_only(work, tmp_path):
    """Changing the right half of a held-out photo must not change the model's output (code from the left)."""
    from neuralwrap.rerender import RerenderDataset
    from neuralwrap.rerender.evaluate import evaluate_photo

    model = load_rerenderer(work / "models" / "full")
    ds = RerenderDataset(work / "dataset")
    f = ds[1]
    _, imgs = evaluate_photo(f, {"full": model}, (64, 48), fit_code_steps=5)
    photo = f.photo.copy()
    cut = W // 2 + 3  # the 96→64 antialiased resize blends ~1.5 source px across the split
    photo[:, cut:] = 255 - photo[:, cut:]
    f2 = Frame(f.name, f.camera, photo, f.color, f.depth, f.normals, f.classes)
    _, imgs2 = evaluate_photo(f2, {"full": model}, (64, 48), fit_code_steps=5)
    assert np.array_equal(imgs["full"], imgs2["full"])
    assert np.array_equal(imgs["full+fit"], imgs2["full+fit"])
    assert np.array_equal(imgs["color_transfer"], imgs2["color_transfer"])


def test_eval_errors(work, tmp_path, capsys):
    model = work / "models" / "full"
    assert main(["eval", str(work), "--model", str(model), "--holdout", "photo_77", "--out", str(tmp_path)]) == 2
    assert "photo_000.png" in capsys.readouterr().err  # unknown name lists valid ones
    assert main(["eval", str(work), "--model", str(model), "--holdout", "photo_002", "--out", str(tmp_path)]) == 2
    assert "trained on" in capsys.readouterr().err  # a training photo is not a held-out photo
    assert main(["eval", str(tmp_path), "--model", str(model), "--out", str(tmp_path / "out")]) == 2
    assert "dataset.json" in capsys.readouterr().err
    with pytest.raises(InputError, match="clash"):
        evaluate_rerender(work, {"point": load_rerenderer(model)}, tmp_path)


def test_fit_code_lowers_the_left_half_error_only_through_the_code(work):
    from neuralwrap.rerender.evaluate import fit_code

    torch.manual_seed(0)
    model = Rerenderer(RerenderConfig(width=32, height=24, gen_enc=(8, 16), gen_dec=(16, 16, 8), enc_widths=(8,)))
    with torch.no_grad():  # a generator that uses the code (FiLM starts at zero)
        for lin in model.generator.film:
            lin.weight.normal_(0, 0.5)
    buf = torch.rand(1, model.config.in_channels, 24, 32)
    target = torch.rand(1, 3, 24, 32)
    code0 = torch.zeros(1, model.config.code_dim)
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    def left_l1(c: torch.Tensor) -> float:
        with torch.no_grad():
            return float((model(buf, c)[..., :16] - target[..., :16]).abs().mean())

    code = fit_code(model, buf, target, code0, 30, columns=16)
    assert left_l1(code) < left_l1(code0) and not torch.equal(code, code0)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())  # generator untouched
    assert all(p.requires_grad for p in model.parameters())
    for p in model.encoder.parameters():  # parameters frozen before stay frozen after
        p.requires_grad_(False)
    fit_code(model, buf, target, code0, 2)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.generator.parameters())
    assert torch.equal(fit_code(model, buf, target, code0, 0), code0)
    with pytest.raises(InputError):
        fit_code(model, buf, target, code0, -1)
