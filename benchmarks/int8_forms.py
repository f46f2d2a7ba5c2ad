"""The int8 file's two forms under a plain `onnxruntime.InferenceSession(path)`: time per step and logits.

    python benchmarks/int8_forms.py                               # models/wavenet.onnx, batch 1 and 1024
    python benchmarks/int8_forms.py --onnx models/wavenet-large.onnx --repeats 9
    python benchmarks/int8_forms.py --batches 1,64 --repeats 2 --min-time 0.05     # a quick check that it runs

Both forms are made here from the fp32 file by export/quantize.py, with the same int8 values and scales:

    cast        (written by wn-export) int8 -> Cast -> Mul(scale): constant folding makes the fp32 weights
    dequantize  (older files) int8 -> DequantizeLinear: under default options onnxruntime fuses each one
                with its Gemm into a MatMulNBits kernel; with `session.disable_quant_qdq` it folds them

Rows: each form under default session options ("plain", what an app gets from InferenceSession(path)),
the dequantize form with disable_quant_qdq (what the runtimes set), and the fp32 file. For each row and
batch size: microseconds per step (one intra-op thread, the same random step inputs every call, the
best of --repeats rounds of at least --min-time seconds each; the rows take turns within each round) and
the largest logit difference from the fp32-folded reference (the dequantize form with
disable_quant_qdq, which the runtimes have always used). File sizes are printed as a share of fp32.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from wavenet_edge.export.quantize import FORM_CAST, FORM_DEQUANTIZE, quantize_weights


def session(path: Path, disable_quant_qdq: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()  # onnxruntime's defaults, but one thread so that rows compare fairly
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    if disable_quant_qdq:
        options.add_session_config_entry("session.disable_quant_qdq", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def step_inputs(sess: ort.InferenceSession, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random tokens and queue vectors of the right widths (the numbers do not change the time)."""
    feeds = {}
    for arg in sess.get_inputs():
        if arg.type == "tensor(int64)":
            feeds[arg.name] = rng.integers(1, 27, size=[batch, *arg.shape[1:]]).astype(np.int64)
        else:
            feeds[arg.name] = rng.standard_normal((batch, arg.shape[1])).astype(np.float32)
    return feeds


def time_per_step(sess: ort.InferenceSession, feeds: dict, min_time: float) -> float:
    """Microseconds per run, over at least min_time seconds."""
    sess.run(None, feeds)
    calls, start = 0, time.perf_counter()
    while True:
        sess.run(None, feeds)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, default=Path("models/wavenet.onnx"), help="the fp32 file")
    parser.add_argument("--batches", default="1,1024", help="batch sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the best round counts")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per measurement")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = onnx.load(str(args.onnx))
        files = {}
        for form in (FORM_CAST, FORM_DEQUANTIZE):
            files[form] = Path(tmp) / f"{form}.int8.onnx"
            onnx.save_model(quantize_weights(fp32, form), str(files[form]))
        size = args.onnx.stat().st_size
        print(f"{args.onnx}: fp32 {size:,} bytes; int8 cast {files[FORM_CAST].stat().st_size:,} bytes "
              f"({files[FORM_CAST].stat().st_size / size:.1%}), int8 dequantize "
              f"{files[FORM_DEQUANTIZE].stat().st_size:,} bytes ({files[FORM_DEQUANTIZE].stat().st_size / size:.1%})")
        rows = {
            "int8 cast, plain session": session(files[FORM_CAST], False),
            "int8 dequantize, plain session": session(files[FORM_DEQUANTIZE], False),
            "int8 dequantize, disable_quant_qdq": session(files[FORM_DEQUANTIZE], True),
            "fp32, plain session": session(args.onnx, False),
        }
        reference = rows["int8 dequantize, disable_quant_qdq"]
        print(f"onnxruntime {ort.__version__}, one thread; us per step, best of {args.repeats} rounds; "
              f"max |logits - reference| (reference: int8 dequantize, disable_quant_qdq)")
        for batch in batches:
            feeds = step_inputs(reference, batch, np.random.default_rng(batch))
            want = reference.run(None, feeds)[0]
            best = dict.fromkeys(rows, float("inf"))
            for _ in range(args.repeats):
                for name, sess in rows.items():
                    best[name] = min(best[name], time_per_step(sess, feeds, args.min_time))
            for name, sess in rows.items():
                diff = float(np.abs(sess.run(None, feeds)[0] - want).max())
                print(f"batch {batch:5d}  {name:36s} {best[name]:10.1f} us/step  max diff {diff:.2e}")


if __name__ == "__main__":
    main()
