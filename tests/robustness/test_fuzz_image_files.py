"""``sandwich encode`` / ``sandwich decode`` fed damaged JPEG, AVIF, HEIF and PNG files, empty files and wrong
extensions: each must be refused cleanly (see :func:`fuzz_inputs.assert_refused`); payload bit flips may also
decode, but then to a whole image."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzz_inputs import FLIPS, MUST_FAIL, Corruption, assert_clean, assert_error_line, assert_refused, run_cli, snapshot

from conftest import smooth_image
from neuralwrap.codecs import get_codec
from neuralwrap.io.images import read_image, write_image
from neuralwrap.sandwich.cli.main import main
from neuralwrap.sandwich.inference.codec import load_pretrained

pytestmark = pytest.mark.timeout(120)

SIZE = 64
MODEL = "jpeg420"
#: files ``sandwich decode`` reads: a real sandwich JPEG and plain AVIF / HEIF files
CODED = ("sandwich.jpg", "plain.avif", "plain.heic")
#: files ``sandwich encode`` reads
SOURCES = ("photo.png", "plain.jpg", "plain.avif", "plain.heic")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid files made by the real codecs (a 64x64 photo-like image)."""
    d = tmp_path_factory.mktemp("pristine")
    img = smooth_image(SIZE, SIZE, seed=3, noise=0.02)
    write_image(d / "photo.png", img)
    (d / "sandwich.jpg").write_bytes(load_pretrained(MODEL).encode(img, 30))
    (d / "plain.jpg").write_bytes(get_codec("jpeg").encode(img, quality=80))
    (d / "plain.avif").write_bytes(get_codec("avif").encode(img, quality=60))
    (d / "plain.heic").write_bytes(get_codec("heif").encode(img, quality=60))
    return d


def _damaged(pristine: Path, name: str, corruption: Corruption, tmp_path: Path) -> tuple[Path, Path, Path]:
    """``(damaged input, input folder, empty output folder)`` for one case."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    bad = src / f"bad{Path(name).suffix}"
    bad.write_bytes(corruption((pristine / name).read_bytes()))
    return bad, src, out


def _argv(command: str, bad: Path, out: Path) -> list[str]:
    if command == "decode":
        return ["decode", str(bad), str(out / "x.png")]
    return ["encode", str(bad), str(out / "x.jpg"), "--model", MODEL, "--quality", "30"]


CASES = [("decode", n) for n in CODED] + [("encode", n) for n in SOURCES]


@pytest.mark.parametrize("corruption", MUST_FAIL, ids=str)
@pytest.mark.parametrize(("command", "name"), CASES)
def test_damaged_file_is_refused(
    command: str, name: str, corruption: Corruption, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, src, out = _damaged(pristine, name, corruption, tmp_path)
    assert_refused(main, _argv(command, bad, out), capsys, [src], out)


@pytest.mark.parametrize("corruption", FLIPS, ids=str)
@pytest.mark.parametrize(("command", "name"), CASES)
def test_bit_flips_decode_whole_or_are_refused(
    command: str, name: str, corruption: Corruption, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, src, out = _damaged(pristine, name, corruption, tmp_path)
    before = snapshot(src)
    argv = _argv(command, bad, out)
    rc, err = run_cli(main, argv, capsys)
    assert_clean(err, out, before, [src])
    if rc != 0:
        assert_error_line(err)
        assert not any(out.iterdir())
        return
    result = Path(argv[2])
    decoded = get_codec("jpeg").decode(result.read_bytes()) if command == "encode" else read_image(result)
    assert decoded.shape == (SIZE, SIZE, 3), f"{corruption} of {name} decoded to {decoded.shape}"


@pytest.mark.parametrize(
    ("command", "name", "content", "output"),
    [
        ("decode", "png-as.jpg", "photo.png", "x.png"),  # a PNG is not a coded file, whatever its name
        ("decode", "text.jpg", None, "x.png"),
        ("decode", "sandwich.jpg", "sandwich.jpg", "x.jpg"),  # decode writes lossless formats only
        ("decode", "sandwich.jpg", "sandwich.jpg", "x.avif"),
        ("decode", "sandwich.jpg", "sandwich.jpg", "x"),
        ("encode", "text.png", None, "x.jpg"),
        ("encode", "photo.png", "photo.png", "x.png"),  # a jpeg model writes .jpg
        ("encode", "photo.png", "photo.png", "x.avif"),
        ("encode", "photo.png", "photo.png", "x.txt"),
    ],
)
def test_wrong_extensions_are_refused(
    command: str,
    name: str,
    content: str | None,
    output: str,
    pristine: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    data = (pristine / content).read_bytes() if content else b"this is text, not an image\n" * 4
    (src / name).write_bytes(data)
    argv = [command, str(src / name), str(out / output)]
    if command == "encode":
        argv += ["--model", MODEL, "--quality", "30"]
    assert_refused(main, argv, capsys, [src], out)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(
    ("command", "name", "content"),
    [
        ("encode", "plain.jpg", "plain.jpg"),
        ("decode", "coded.png", "sandwich.jpg"),  # a sandwich JPEG under a .png name: decodable, output == input
    ],
)
def test_output_may_never_be_an_input(
    command: str,
    name: str,
    content: str,
    force: bool,
    pristine: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    shutil.copy(pristine / content, src / name)
    (src / "link.png").symlink_to(src / name)
    for target in (src / name, src / "link.png"):
        argv = [command, str(src / name), str(target)] + (["--force"] if force else [])
        if command == "encode":
            argv += ["--model", MODEL, "--quality", "30"]
        assert_refused(main, argv, capsys, [src], out)


def test_random_bytes_under_every_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Seeded noise named like each supported format."""
    rng = np.random.default_rng(11)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    for suffix in (".jpg", ".avif", ".heic", ".webp", ".png"):
        bad = src / f"noise{suffix}"
        bad.write_bytes(rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes())
        assert_refused(main, ["decode", str(bad), str(out / "x.png")], capsys, [src], out)
        assert_refused(
            main, ["encode", str(bad), str(out / "x.jpg"), "--model", MODEL, "--quality", "30"], capsys, [src], out
        )


@pytest.mark.parametrize("case", ["empty-folder", "truncated-png", "text-png", "missing-folder"])
def test_eval_on_unusable_images_is_refused(
    case: str, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sandwich eval --data`` with no usable test images: refused before any report is written."""
    src, out = tmp_path / "in", tmp_path / "out"
    data = src / "images"
    data.mkdir(parents=True)
    out.mkdir()
    png = (pristine / "photo.png").read_bytes()
    if case == "truncated-png":
        (data / "a.png").write_bytes(png[: len(png) // 2])
    elif case == "text-png":
        (data / "a.png").write_text("not an image")
    elif case == "missing-folder":
        data = src / "nope"
    argv = ["eval", "--model", MODEL, "--data", str(data), "--qualities", "30", "--out", str(out / "eval")]
    assert_refused(main, argv, capsys, [src], out)
