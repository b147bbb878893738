"""ONNX export and the torch-free onnxruntime decoder (issue 20 §2): the exported graphs pass onnx.checker, decode
like PyTorch (≥ 45 dB, at sizes other than the export's: padding, 2× pixel-shuffle/bicubic, carriers of a gray
code), ``sandwich decode --backend onnx`` never imports torch, and bad export folders are one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

from neuralwrap.errors import UnsupportedOptionError  # noqa: E402
from neuralwrap.metrics import psnr  # noqa: E402
from neuralwrap.sandwich import load_pretrained  # noqa: E402
from neuralwrap.sandwich.cli.main import main  # noqa: E402
from neuralwrap.sandwich.onnx import MANIFEST, OnnxDecoder, export_onnx, read_manifest  # noqa: E402
from sandwich_helpers import textured_image  # noqa: E402

#: one plain model, one 2× model (pixel-shuffle + bicubic), one 1-channel code with carriers
MODELS = ("jpeg420", "lowres-2x", "rgb-over-gray")
#: sides that are not multiples of 4 (the U-Nets pad) nor of 8 (the carriers tile), and not the export's size
H, W = 50, 66


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx")
    for name in MODELS:
        export_onnx(name, out, int8=name == "jpeg420")
    return out


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``jpeg420`` file of a 66×50 photo, at q 30."""
    out = tmp_path_factory.mktemp("coded") / "photo.jpg"
    out.write_bytes(load_pretrained("jpeg420").encode(textured_image(H, W, seed=3), 30))
    return out


def test_export_writes_checked_graphs_and_manifest(onnx_dir: Path) -> None:
    manifest = read_manifest(onnx_dir)
    assert manifest["format"] == "neuralwrap-onnx" and sorted(manifest["models"]) == sorted(MODELS)
    gray, x2 = manifest["models"]["rgb-over-gray"], manifest["models"]["lowres-2x"]
    assert (gray["code_channels"], gray["subsampling"], x2["scale"]) == (1, "400", 2)
    for entry in manifest["models"].values():
        for kind in ("pre", "post"):
            onnx.checker.check_model(str(onnx_dir / entry[kind]), full_check=True)
        assert set(entry["sha256"]) == {entry["pre"], entry["post"]} | ({entry["post_int8"]} - {None})
    assert manifest["models"]["jpeg420"]["post_int8"] == "jpeg420.post.int8.onnx"


@pytest.mark.parametrize("name", MODELS)
def test_onnx_decode_matches_torch(onnx_dir: Path, name: str) -> None:
    sc = load_pretrained(name)
    image = textured_image(H * sc.config.scale, W * sc.config.scale, seed=1)
    data = sc.encode(image, 40)
    ours, tag = OnnxDecoder(onnx_dir, threads=1).decode(data)
    ref = sc.decode(data)
    assert tag is not None and tag.model == name and ours.shape == ref.shape == image.shape
    assert psnr(ours, ref) >= 45.0
    code = OnnxDecoder(onnx_dir, threads=1).model(name).code_image(image, 40)  # the pre-processor graph too
    assert code.shape == sc.code_image(image, 40).shape
    assert psnr(code, sc.code_image(image, 40)) >= 45.0


def test_int8_post_processor_stays_within_40_db_of_float(onnx_dir: Path, coded: Path) -> None:
    data = coded.read_bytes()
    float_out, _ = OnnxDecoder(onnx_dir, threads=1).decode(data)
    int8_out, _ = OnnxDecoder(onnx_dir, threads=1, int8=True).decode(data)
    assert psnr(int8_out, float_out) >= 40.0
    with pytest.raises(UnsupportedOptionError, match="--int8"):  # exported without it
        OnnxDecoder(onnx_dir, int8=True).model("lowres-2x").postprocess(np.zeros((16, 16, 3), np.uint8), 50)


def test_cli_decode_onnx_never_imports_torch(onnx_dir: Path, coded: Path, tmp_path: Path) -> None:
    out = tmp_path / "onnx.png"
    code = (
        "import sys; from neuralwrap.sandwich.cli.main import main; "
        f"rc = main(['-q', 'decode', {str(coded)!r}, {str(out)!r}, '--backend', 'onnx', '--onnx-dir', "
        f"{str(onnx_dir)!r}]); print(rc, 'torch' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip().splitlines()[-1] == "0 False", run.stdout + run.stderr
    ref = load_pretrained("jpeg420").decode(coded.read_bytes())
    assert psnr(np.asarray(Image.open(out)), ref) >= 45.0


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> None:
    code = main(["-q", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_bad_onnx_folders_are_one_line_errors(
    onnx_dir: Path, coded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out.png")
    decode = ["decode", str(coded), out, "--backend", "onnx", "--onnx-dir"]
    _refused([*decode, str(tmp_path / "missing")], capsys, "not found")
    _refused(["decode", str(coded), out, "--backend", "onnx"], capsys, "--onnx-dir")
    other = tmp_path / "other"  # a folder whose manifest lacks the file's model
    other.mkdir()
    manifest = json.loads((onnx_dir / MANIFEST).read_text())
    (other / MANIFEST).write_text(json.dumps({**manifest, "models": {"x": manifest["models"]["lowres-2x"]}}))
    _refused([*decode, str(other)], capsys, "jpeg420", "export-onnx")
    tampered = tmp_path / "tampered"  # the manifest's model with one byte of its post-processor changed
    tampered.mkdir()
    (tampered / MANIFEST).write_text(json.dumps({**manifest, "models": {"jpeg420": manifest["models"]["jpeg420"]}}))
    post = bytearray((onnx_dir / "jpeg420.post.onnx").read_bytes())
    post[-100] ^= 1
    (tampered / "jpeg420.post.onnx").write_bytes(bytes(post))
    _refused([*decode, str(tampered)], capsys, "sha256")
    (tampered / MANIFEST).write_text('{"format": "something else"}')
    _refused([*decode, str(tampered)], capsys, "manifest")
    assert not Path(out).exists()


def test_export_cli_refuses_multi_file_models_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(["export-onnx", "mc6-jpeg", str(tmp_path / "o")], capsys, "one-file")
    _refused(["export-onnx", "hevc444-video", str(tmp_path / "o")], capsys, "video")
    _refused(["export-onnx", "--all", "jpeg420", str(tmp_path / "o")], capsys, "--all")
    assert not (tmp_path / "o").exists()
