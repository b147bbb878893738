"""onnxruntime vs PyTorch: post-processor time and agreement at 768×512 (issue 20 §2), and int8 quantisation.

For one model (default ``jpeg420``) and a 768×512 photo (Kodak kodim01: a speed measurement, no training) coded at
q 50, this times the post-processor alone (decoded code image → uint8 image) with PyTorch (channels-last, as
``SandwichCodec`` runs it) and with onnxruntime (CPU), at 1 and 2 intra-op threads, N repetitions each after a
warm-up (median and best), and the PSNR of the onnxruntime output against PyTorch's. Then int8 variants of the
post-processor graph: onnxruntime's dynamic quantisation (weights int8, activations quantised per call; convolutions
become ConvInteger) and static QDQ quantisation (activation ranges calibrated on the shipped demo photos),
each timed and compared with the float graph (PSNR of the uint8 outputs); static QDQ quantisation is
calibrated as ``sandwich export-onnx --int8`` does it (the shipped demo photos, 5 qualities). Last, a quality table
on 384×256 Kodak crops at several qualities: each variant vs the source, and int8 vs float.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/onnx_speed.py --repeat 7 --out runs/onnx_speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from neuralwrap.codecs import get_codec
from neuralwrap.io.images import to_float, to_uint8
from neuralwrap.metrics import psnr
from neuralwrap.resources import default_data
from neuralwrap.sandwich import load_pretrained
from neuralwrap.sandwich.onnx import OnnxDecoder, export_onnx, read_manifest
from neuralwrap.sandwich.onnx.quantize import calibration_samples, quantize_post


def _times(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, dict[str, float]]:
    """Median and best wall time (ms) of each function, interleaved (one call of each per round), so every
    function sees the same load on a shared machine; one warm-up call each first."""
    for fn in fns.values():
        fn()  # warm-up (graph optimisation, allocations)
    ts: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(repeat):
        for label, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            ts[label].append(time.perf_counter() - t0)
    return {k: {"median_ms": 1000 * statistics.median(v), "best_ms": 1000 * min(v)} for k, v in ts.items()}


def _session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, decoded: np.ndarray, q: int) -> np.ndarray:
    x = np.ascontiguousarray(to_float(decoded).transpose(2, 0, 1))[None]
    out = session.run(None, {"decoded": x, "quality": np.array([float(q)], np.float32)})[0]
    return to_uint8(np.clip(out[0].transpose(1, 2, 0), 0, 1))


def _quality_table(sc, work: Path, variants: dict[str, Path], kodak: list[int], qualities: list[int]) -> list[dict]:
    """PSNR of each graph's output vs the source on 384×256 Kodak crops, and of int8 vs float."""
    sessions = {label: _session(path, 1) for label, path in variants.items()}
    rows = []
    for k in kodak:
        path = default_data(f"kodak/kodim{k:02d}.png")
        img = np.asarray(Image.open(path).convert("RGB"))[:256, :384]
        for q in qualities:
            dec = get_codec("jpeg").decode(sc.encode(img, q))
            outs = {label: _run(s, dec, q) for label, s in sessions.items()}
            row = {"image": f"kodim{k:02d}", "quality": q}
            row.update({f"{label}_vs_source_db": psnr(o, img) for label, o in outs.items()})
            row.update(
                {f"{label}_vs_float_db": psnr(o, outs["float"]) for label, o in outs.items() if label != "float"}
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="jpeg420")
    ap.add_argument("--quality", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--image", default=str(default_data("kodak/kodim01.png")))
    ap.add_argument("--skip-static", action="store_true", help="skip static QDQ quantisation (slow calibration)")
    ap.add_argument("--kodak", default="2,5,13,21", help="Kodak images of the int8 quality table ('' = skip)")
    ap.add_argument("--qualities", default="5,50,80,95", help="qualities of the int8 quality table")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    sc = load_pretrained(args.model)
    image = np.asarray(Image.open(args.image).convert("RGB"))
    data = sc.encode(image, args.quality)
    decoded = get_codec("jpeg").decode(data)
    work = Path(tempfile.mkdtemp(prefix="onnx_speed_"))
    export_onnx(sc, work)
    post = work / read_manifest(work)["models"][args.model]["post"]
    prep = work / "post.prep.onnx"
    quant_pre_process(str(post), str(prep), skip_symbolic_shape=True)  # the symbolic pass cannot follow the padding
    variants = {"float": post}
    quantize_dynamic(str(prep), str(work / "post.int8dyn.onnx"), weight_type=QuantType.QInt8)
    variants["int8-dynamic"] = work / "post.int8dyn.onnx"
    if not args.skip_static:  # what `sandwich export-onnx --int8` ships: calibrated on the demo photos
        (work / "post.int8qdq.onnx").write_bytes(quantize_post(post.read_bytes(), calibration_samples(sc)))
        variants["int8-static-qdq"] = work / "post.int8qdq.onnx"
    ref = sc.postprocess(decoded, args.quality)  # the PyTorch decode (channels-last, inference mode)
    results: dict[str, object] = {
        "model": args.model,
        "image": args.image,
        "size": f"{image.shape[1]}x{image.shape[0]}",
        "quality": args.quality,
        "repeat": args.repeat,
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
        "runs": [],
    }
    float_out = _run(_session(post, 1), decoded, args.quality)
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        fns: dict[str, Callable[[], object]] = {"torch": lambda: sc.postprocess(decoded, args.quality)}
        row: dict[str, object] = {"threads": threads}
        slow: dict[str, Callable[[], object]] = {}
        for label, path in variants.items():
            s = _session(path, threads)
            out = _run(s, decoded, args.quality)
            row[label] = {"psnr_vs_torch_db": psnr(out, ref), "psnr_vs_float_db": psnr(out, float_out)}
            row[label]["bytes"] = path.stat().st_size  # type: ignore[index]
            (slow if label == "int8-dynamic" else fns)[label] = lambda s=s: _run(s, decoded, args.quality)
        dec = OnnxDecoder(work, threads=threads)  # the whole torch-free file decode: tag, JPEG, post, rounding
        fns["onnx_file_decode"] = lambda dec=dec: dec.decode(data)
        timed = {**_times(fns, args.repeat), **_times(slow, max(1, args.repeat // 3))}  # int8-dynamic is ~8x slower
        for label, t in timed.items():
            row[label] = {**row.get(label, {}), **t}  # type: ignore[dict-item]
        results["runs"].append(row)  # type: ignore[union-attr]
        print(json.dumps(row), flush=True)
    if args.kodak:
        results["quality_table"] = _quality_table(
            sc, work, variants, [int(k) for k in args.kodak.split(",")], [int(q) for q in args.qualities.split(",")]
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
