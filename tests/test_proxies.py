"""Tests of neuralwrap.proxies: per-op contract (shapes, dtypes, gradcheck, Module == function, golden values)
plus fidelity against the real JPEG codec on a natural image crop."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_image
from neuralwrap.errors import InputError
from neuralwrap.proxies import (
    IJG_CHROMA_TABLE,
    IJG_LUMA_TABLE,
    IntraProxy,
    JpegProxy,
    JpegRate,
    block_dct,
    block_idct,
    chroma_downsample,
    chroma_upsample,
    fit_rate_model,
    intra_proxy,
    intra_rate,
    jpeg_proxy,
    jpeg_rate,
    naive_rate,
    quality_scaled_table,
    quant_tables,
    refit_scale,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from neuralwrap.proxies.jpeg import ZIGZAG


def _img(h: int = 32, w: int = 48, c: int = 3, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    arr = smooth_image(h, w, c, np.float32, seed=seed, noise=0.03)
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())[None].to(dtype)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean()))


# ----------------------------------------------------------------------------------------------- tables


def test_ijg_tables_golden() -> None:
    assert quality_scaled_table(IJG_LUMA_TABLE, 50) == list(IJG_LUMA_TABLE)
    assert quality_scaled_table(IJG_CHROMA_TABLE, 50) == list(IJG_CHROMA_TABLE)
    assert quality_scaled_table(IJG_LUMA_TABLE, 100) == [1] * 64
    assert quality_scaled_table(IJG_LUMA_TABLE, 1) == [min(b * 50, 255) for b in IJG_LUMA_TABLE]  # baseline clamp
    assert quality_scaled_table(IJG_LUMA_TABLE, 75)[:4] == [8, 6, 5, 8]
    t = quant_tables(50, 1, dtype=torch.float64)
    assert t.shape == (1, 2, 8, 8)
    assert t[0, 0].flatten().tolist() == list(IJG_LUMA_TABLE)
    assert ZIGZAG[:6] == (0, 1, 8, 16, 9, 2) and sorted(ZIGZAG) == list(range(64))


def test_tables_match_pillow() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG", quality=37)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        pil_tables = im.quantization  # Pillow returns natural (row-major) order
    ours = quant_tables(37, 1)[0].flatten(1).round().int().tolist()
    assert ours[0] == list(pil_tables[0]) and ours[1] == list(pil_tables[1])


def test_quant_tables_interpolate_and_validate() -> None:
    t = quant_tables(torch.tensor([40.0, 40.5, 41.0]), 3)
    assert torch.allclose(t[1], 0.5 * (t[0] + t[2]))
    with pytest.raises(InputError):
        quant_tables(0.5, 1)
    with pytest.raises(InputError):
        quant_tables(torch.tensor([50.0, 60.0]), 3)


# ----------------------------------------------------------------------------------------------- building blocks


def test_color_roundtrip_and_resampling() -> None:
    x = _img(dtype=torch.float64) * 255
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-9)
    gray = torch.full((1, 3, 4, 4), 100.0)
    assert torch.allclose(rgb_to_ycbcr(gray), torch.tensor([100.0, 128.0, 128.0]).view(1, 3, 1, 1).expand(1, 3, 4, 4))
    c = torch.rand(2, 2, 7, 9)
    d = chroma_downsample(c)
    assert d.shape == (2, 2, 4, 5)
    assert torch.allclose(d[0, 0, 0, 0], c[0, 0, :2, :2].mean())
    assert torch.allclose(d[0, 0, 3, 4], c[0, 0, 6, 8])  # odd edges replicated
    u = chroma_upsample(d, (7, 9))
    assert u.shape == c.shape
    row = torch.tensor([[[[0.0, 4.0, 8.0]]]])
    assert chroma_upsample(row, (1, 6))[0, 0, 0].tolist() == [0.0, 1.0, 3.0, 5.0, 7.0, 8.0]  # libjpeg triangle


@pytest.mark.parametrize("block", [8, 16])
def test_block_dct_roundtrip_odd(block: int) -> None:
    x = torch.rand(2, 3, 77, 53, dtype=torch.float64)
    c = block_dct(x, block)
    assert c.shape == (2, 3, -(-77 // block), -(-53 // block), block, block)
    assert torch.allclose(block_idct(c, (77, 53)), x, atol=1e-10)
    flat = torch.full((1, 1, 8, 8), 3.0, dtype=torch.float64)
    assert torch.isclose(block_dct(flat)[0, 0, 0, 0, 0, 0], torch.tensor(24.0, dtype=torch.float64))  # DC = 8*mean


# ----------------------------------------------------------------------------------------------- jpeg proxy


@pytest.mark.parametrize("subsampling", ["420", "444", "400"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_jpeg_proxy_shapes_dtypes(subsampling: str, dtype: torch.dtype) -> None:
    c = 1 if subsampling == "400" else 3
    x = _img(77, 53, c, dtype=dtype).repeat(2, 1, 1, 1)
    out = jpeg_proxy(x, 60, subsampling)
    assert out.image.shape == x.shape and out.image.dtype == dtype and out.image.device == x.device
    assert float(out.image.min()) >= 0 and float(out.image.max()) <= 1
    assert out.coeffs_q[0].shape == (2, 1, 10, 7, 8, 8)
    if subsampling != "400":
        grid = (5, 4) if subsampling == "420" else (10, 7)
        assert out.coeffs_q[1].shape == (2, 2, *grid, 8, 8)
    assert torch.equal(out.coeffs_q[0], out.coeffs_q[0].round())
    bits = jpeg_rate(out)
    assert bits.shape == (2,) and bits.dtype == dtype and bool((bits > 0).all())


def test_jpeg_proxy_rejects_bad_input() -> None:
    with pytest.raises(InputError):
        jpeg_proxy(torch.rand(1, 3, 8, 8), 50, "422")
    with pytest.raises(InputError):
        jpeg_proxy(torch.rand(1, 1, 8, 8), 50, "420")
    with pytest.raises(InputError):
        jpeg_proxy(torch.rand(1, 3, 8, 8), 101)
    with pytest.raises(InputError):
        jpeg_proxy(torch.rand(3, 8, 8), 50)


def test_module_equals_function() -> None:
    x = _img()
    a = JpegProxy(quality=35, subsampling="444")(x)
    b = jpeg_proxy(x, 35, "444")
    assert torch.equal(a.image, b.image)
    assert torch.equal(JpegRate("444")(a), jpeg_rate(b))
    assert torch.equal(IntraProxy(40)(x).image, intra_proxy(x, 40).image)


def test_per_sample_quality_tensor() -> None:
    x = torch.cat([_img(seed=1), _img(seed=2)])
    out = jpeg_proxy(x, torch.tensor([20.0, 80.0]))
    a, b = jpeg_proxy(x[:1], 20), jpeg_proxy(x[1:], 80)
    assert torch.allclose(out.image, torch.cat([a.image, b.image]))
    assert torch.allclose(jpeg_rate(out), torch.cat([jpeg_rate(a), jpeg_rate(b)]))


@pytest.mark.parametrize("subsampling", ["420", "444", "400"])
def test_gradcheck_smooth_path(subsampling: str) -> None:
    c = 1 if subsampling == "400" else 3
    x = (0.3 + 0.4 * torch.rand(1, c, 16, 16, dtype=torch.float64)).requires_grad_()
    q = torch.tensor([90.0], dtype=torch.float64)
    fn = lambda t: jpeg_proxy(t, q, subsampling, differentiable=True).image  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,), fast_mode=True)
    if subsampling == "400":  # full Jacobian check once (cheap: one channel)
        assert torch.autograd.gradcheck(fn, (x,))


def test_ste_gradient_equals_smooth_gradient() -> None:
    x = (0.2 + 0.6 * torch.rand(1, 3, 16, 24, dtype=torch.float64)).requires_grad_()
    w = torch.randn(1, 3, 16, 24, dtype=torch.float64)
    grads = []
    for diff in (False, True):
        (g,) = torch.autograd.grad((jpeg_proxy(x, 50, differentiable=diff).image * w).sum(), x)
        grads.append(g)
    assert torch.allclose(grads[0], grads[1], atol=1e-10)


def test_rate_gradient_reaches_input() -> None:
    x = _img(dtype=torch.float64).requires_grad_()
    out = jpeg_proxy(x, 50)
    bits = jpeg_rate(out).sum() + naive_rate(out).sum()
    (g,) = torch.autograd.grad(bits, x)
    assert torch.isfinite(g).all() and float(g.abs().sum()) > 0


def test_quality_monotonic() -> None:
    x = _img(64, 64, seed=3)
    psnrs, bits = [], []
    for q in (10, 30, 50, 70, 90):
        out = jpeg_proxy(x, q)
        psnrs.append(_psnr(out.image, x))
        bits.append(float(jpeg_rate(out)[0]))
    assert psnrs == sorted(psnrs) and bits == sorted(bits)


def test_fit_rate_model_and_refit_scale() -> None:
    rng = np.random.default_rng(0)
    f = rng.uniform(1, 10, (50, 3))
    w = np.array([2.0, 0.0, 5.0])
    p = fit_rate_model(f, f @ w, ["a", "b", "c"])
    assert np.allclose(p.weights, w, atol=1e-6)
    assert refit_scale(torch.tensor([1.0, 2.0]), torch.tensor([2.0, 4.0])) == pytest.approx(2.0)


# ----------------------------------------------------------------------------------------------- real codec


def _real_jpeg(arr: np.ndarray, q: int, sub: int) -> tuple[np.ndarray, int]:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=q, subsampling=sub, optimize=True)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im.convert("RGB")), 8 * len(buf.getvalue())


@pytest.mark.parametrize("subsampling", ["420", "444"])
def test_proxy_matches_real_jpeg(shared_data, subsampling: str) -> None:
    path = shared_data / "kodak" / "kodim05.png"
    if not path.exists():
        pytest.skip(f"{path} not found")
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))[100:356, 200:456]
    x = torch.from_numpy(arr.transpose(2, 0, 1).copy())[None].float() / 255
    for q in (15, 50, 85):
        dec, real_bits = _real_jpeg(arr, q, 2 if subsampling == "420" else 0)
        with torch.no_grad():
            out = jpeg_proxy(x, q, subsampling)
            pred = float(jpeg_rate(out)[0])
        real_psnr = _psnr(torch.from_numpy(dec.astype(np.float32) / 255).permute(2, 0, 1)[None], x)
        assert abs(_psnr(out.image, x) - real_psnr) < 0.3
        assert abs(pred / real_bits - 1) < 0.2


# ----------------------------------------------------------------------------------------------- intra proxy


def test_intra_proxy_contract() -> None:
    x = _img(77, 53)
    lo, hi = intra_proxy(x, 20), intra_proxy(x, 80)
    assert lo.image.shape == x.shape and lo.image.dtype == x.dtype
    assert _psnr(hi.image, x) > _psnr(lo.image, x)
    assert float(intra_rate(hi)[0]) > float(intra_rate(lo)[0])
    with pytest.raises(InputError):
        intra_proxy(x)
    xd = (0.3 + 0.4 * torch.rand(1, 3, 16, 16, dtype=torch.float64)).requires_grad_()
    fn = lambda t: intra_proxy(t, step=4.0, differentiable=True).image  # noqa: E731
    assert torch.autograd.gradcheck(fn, (xd,), fast_mode=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_outputs_follow_cuda_device() -> None:
    x = _img(40, 56).cuda().requires_grad_()
    q = torch.tensor([30.0], device="cuda")
    for ss in ("420", "444"):
        out = jpeg_proxy(x, q, ss)
        bits = jpeg_rate(out)
        assert out.image.device == x.device and bits.device == x.device
        (g,) = torch.autograd.grad(bits.sum() + out.image.sum(), x)
        assert g.device == x.device and torch.isfinite(g).all()
        ref = jpeg_proxy(x.detach().cpu(), 30, ss)
        assert torch.allclose(out.image.cpu(), ref.image, atol=2 / 255)
        assert abs(float(bits.detach()) / float(jpeg_rate(ref)) - 1) < 0.01
    i = intra_proxy(x, q)
    assert i.image.device == x.device and intra_rate(i).device == x.device
