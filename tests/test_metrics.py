"""Metrics: PSNR/MSE golden values, BD-rate / BD-PSNR hand-checked cases, psnr_at_bpp, RD plot."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuralwrap.errors import InputError
from neuralwrap.metrics import mse, psnr, psnr_torch
from neuralwrap.metrics.psnr import mse_torch
from neuralwrap.rd import bd_psnr, bd_rate, plot_rd, psnr_at_bpp
from neuralwrap.rd.bd import rd_curve

RATES = np.array([0.2, 0.45, 0.8, 1.2, 1.7])
PSNRS = np.array([25.0, 29.0, 31.5, 33.5, 35.5])


# --- PSNR / MSE -------------------------------------------------------------------------------------------


def test_psnr_uint8_golden() -> None:
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 12  # one of 12 values off by 12 -> MSE = 144 / 12 = 12
    assert mse(a, b) == pytest.approx(12.0)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 12.0), abs=1e-12)
    assert psnr(a, np.ones_like(a)) == pytest.approx(48.130803608679, abs=1e-9)  # MSE 1, peak 255


def test_psnr_mse_over_all_channels_not_per_channel_mean_psnr() -> None:
    a = np.zeros((1, 2, 3), np.uint8)
    b = np.zeros((1, 2, 3), np.uint8)
    b[..., 0] = 10  # red channel only: MSE over all = 100 / 3
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 * 3 / 100.0))


def test_psnr_uint16_and_float_peaks() -> None:
    a16 = np.zeros((4, 4), np.uint16)
    assert psnr(a16, a16 + 1) == pytest.approx(20 * math.log10(65535.0))
    af = np.zeros((4, 4, 3), np.float32)
    assert psnr(af, af + np.float32(0.1)) == pytest.approx(20.0, abs=1e-5)
    assert psnr(af, af + np.float32(0.1), peak=2.0) == pytest.approx(20.0 + 20 * math.log10(2.0), abs=1e-5)


def test_psnr_identical_is_inf() -> None:
    a = np.full((3, 3, 3), 7, np.uint8)
    assert psnr(a, a) == math.inf


@pytest.mark.parametrize(
    "a, b",
    [
        (np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3, 3), np.uint8)),
        (np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 3), np.uint16)),
        (np.zeros((2, 2), np.int32), np.zeros((2, 2), np.int32)),
        (np.zeros((0, 2), np.uint8), np.zeros((0, 2), np.uint8)),
        ([[0]], np.zeros((1, 1), np.uint8)),
    ],
)
def test_psnr_input_errors(a: object, b: object) -> None:
    with pytest.raises(InputError):
        psnr(a, b)  # type: ignore[arg-type]


def test_psnr_torch_per_image_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 8, 8, generator=g, dtype=torch.float64)
    y = (x + 0.05 * torch.randn(3, 3, 8, 8, generator=g, dtype=torch.float64)).clamp(0, 1)
    out = psnr_torch(x, y)
    assert out.shape == (3,) and out.dtype == torch.float64
    for i in range(3):
        ref = psnr(x[i].permute(1, 2, 0).numpy(), y[i].permute(1, 2, 0).numpy())
        assert out[i].item() == pytest.approx(ref, abs=1e-9)
    assert psnr_torch(torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.1)).tolist() == pytest.approx([20.0] * 2)
    assert mse_torch(x, x).tolist() == [0.0] * 3
    assert torch.isinf(psnr_torch(x, x)).all()


def test_psnr_torch_differentiable() -> None:
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: psnr_torch(t, y), (x,))


@pytest.mark.parametrize(
    "x, y",
    [
        (torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5)),
        (torch.zeros(3, 4, 4), torch.zeros(3, 4, 4)),
        (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), torch.zeros(1, 3, 4, 4, dtype=torch.uint8)),
    ],
)
def test_psnr_torch_input_errors(x: torch.Tensor, y: torch.Tensor) -> None:
    with pytest.raises(InputError):
        psnr_torch(x, y)


# --- BD-rate / BD-PSNR ------------------------------------------------------------------------------------


def test_bd_rate_scaled_rates_is_exactly_minus_10_percent() -> None:
    assert bd_rate(RATES, PSNRS, 0.9 * RATES, PSNRS) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate(RATES, PSNRS, 1.25 * RATES, PSNRS) == pytest.approx(25.0, abs=1e-9)


def test_bd_psnr_shift_is_exactly_plus_1_db() -> None:
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS + 1.0) == pytest.approx(1.0, abs=1e-12)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS - 0.5) == pytest.approx(-0.5, abs=1e-12)


def test_bd_identical_curves_give_zero_and_order_does_not_matter() -> None:
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)
    perm = np.array([3, 0, 4, 2, 1])
    assert bd_rate(RATES, PSNRS, 0.9 * RATES[perm], PSNRS[perm]) == pytest.approx(-10.0, abs=1e-9)


def test_bd_rate_partial_overlap_uses_overlap_only() -> None:
    # log-rate linear in PSNR (PCHIP reproduces lines exactly). B only covers the top of A's quality range
    # and is 20% cheaper there: the result is -20% exactly, whatever A does outside the overlap.
    psnrs = np.array([25.0, 28.0, 31.0, 34.0, 37.0])
    rates = 0.2 * 2.0 ** ((psnrs - 25.0) / 3.0)
    assert bd_rate(rates, psnrs, 0.8 * rates[2:], psnrs[2:]) == pytest.approx(-20.0, abs=1e-9)
    bent = rates.copy()
    bent[0] *= 0.5  # changing A outside the overlap [31, 37] ... changes nothing
    assert bd_rate(bent, psnrs, 0.8 * rates[2:], psnrs[2:]) == pytest.approx(-20.0, abs=1e-9)


def test_bd_two_points_is_linear() -> None:
    # Two points: straight line in (PSNR, log10 rate); a 2x rate at every PSNR gives +100%.
    assert bd_rate([0.5, 1.0], [30.0, 33.0], [1.0, 2.0], [30.0, 33.0]) == pytest.approx(100.0)
    # Linear log-rate vs PSNR: B shifted by 1.5 dB in PSNR over an overlap of [31.5, 33] ...
    r = bd_rate([0.5, 1.0], [30.0, 33.0], [0.5, 1.0], [31.5, 34.5])
    assert r == pytest.approx((10 ** (-1.5 * math.log10(2) / 3) - 1) * 100)


def test_bd_errors() -> None:
    with pytest.raises(InputError, match="at least 2"):
        bd_rate([1.0], [30.0], RATES, PSNRS)
    with pytest.raises(InputError, match="do not overlap"):
        bd_rate(RATES, PSNRS, RATES, PSNRS + 20.0)
    with pytest.raises(InputError, match="do not overlap"):
        bd_psnr(RATES, PSNRS, RATES * 100, PSNRS)
    with pytest.raises(InputError, match="> 0"):
        bd_rate([0.0, 1.0], [30.0, 31.0], RATES, PSNRS)
    with pytest.raises(InputError, match="finite"):
        bd_rate([0.5, 1.0], [30.0, math.nan], RATES, PSNRS)
    with pytest.raises(InputError, match="rates but"):
        bd_rate([0.5, 1.0, 2.0], [30.0, 31.0], RATES, PSNRS)


def test_bd_non_monotonic_raise_or_drop() -> None:
    rates = [0.2, 0.45, 0.6, 0.8, 1.2, 1.7]
    psnrs = [25.0, 29.0, 28.0, 31.5, 33.5, 35.5]  # the 0.6 bpp point is dominated
    with pytest.raises(InputError, match="not strictly increasing"):
        bd_rate(RATES, PSNRS, rates, psnrs)
    assert bd_rate(RATES, PSNRS, rates, psnrs, dominated="drop") == pytest.approx(0.0, abs=1e-12)
    r, d = rd_curve([1.0, 0.5, 1.0], [32.0, 30.0, 32.0])  # duplicates merged, sorted
    assert r.tolist() == [0.5, 1.0] and d.tolist() == [30.0, 32.0]


def test_psnr_at_bpp_log_linear_and_nan_outside() -> None:
    rates, psnrs = [0.25, 1.0], [26.0, 32.0]
    assert psnr_at_bpp(rates, psnrs, 0.5) == pytest.approx(29.0)  # midpoint in log-bpp
    assert psnr_at_bpp(rates[::-1], psnrs[::-1], 0.25) == pytest.approx(26.0)
    assert math.isnan(psnr_at_bpp(rates, psnrs, 0.2))
    assert math.isnan(psnr_at_bpp(rates, psnrs, 1.01))
    with pytest.raises(InputError):
        psnr_at_bpp([], [], 0.5)
    with pytest.raises(InputError):
        psnr_at_bpp(rates, psnrs, -1.0)


def test_plot_rd_writes_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sub" / "rd.png"
    plot_rd({"A": (RATES, PSNRS), "B": (0.9 * RATES, PSNRS + [0, 0, math.nan, 0, 0])}, out, "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["rd.png"]  # no temp files left
    with pytest.raises(InputError):
        plot_rd({}, tmp_path / "empty.png")
