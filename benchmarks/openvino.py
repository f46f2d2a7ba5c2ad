"""OpenVINO against the CPU execution provider: generation speed at batch 1, 1,024 and 16,384, the same
thread count on both, and whether the names are the same.

    python benchmarks/openvino.py                  # under onnxruntime-openvino; 1 thread each
    python benchmarks/openvino.py --threads 4      # 4 threads each (and the CPU runtime's 4 worker processes)
    python benchmarks/openvino.py --quick          # a smoke run: small batches and few names

Without the OpenVINO execution provider it prints one line and exits 0. Engines, each on the shipped default
model (or --model): "openvino" (OpenVINO, its thread pool at --threads threads), "cpu" (the CPU provider,
one session at --threads intra-op threads) and, with --threads above 1, "cpu-processes" (the CPU runtime as
WavenetModel.load runs it: --threads worker processes of one thread each). Characters per second count the
end tokens; each figure is the best of --repeats runs after a warm-up. docs/providers.md gives the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import onnxruntime as ort

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.model import shipped_model_path
from wavenet_edge.runtime.providers import OPENVINO, make_session_options

RUNS = ((1, 2_000), (1_024, 20_000), (16_384, 65_536))  # batch size, names per run
QUICK = ((1, 50), (64, 500), (256, 1_000))


def chars_per_s(model: WavenetModel, batch: int, names: int, repeats: int) -> tuple[float, list[str]]:
    model.generate(min(names, batch), batch_size=batch, seed=0)  # warm-up: bindings, the provider's compilation
    best, out = 0.0, []
    for repeat in range(repeats):
        start = time.perf_counter()
        out = model.generate(names, batch_size=batch, seed=1)
        best = max(best, sum(len(n) + 1 for n in out) / (time.perf_counter() - start))
        del repeat
    return best, out


def engines(path: Path, threads: int) -> dict[str, WavenetModel]:
    found = {"openvino": WavenetModel.load(path, provider="openvino", threads=threads),
             "cpu": WavenetModel.load(path, provider="cpu", threads=threads,
                                      session_options=make_session_options(threads))}
    if threads > 1:
        found["cpu-processes"] = WavenetModel.load(path, provider="cpu", threads=threads)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="an exported .onnx (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=1, help="threads for each engine (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure, the best kept (default 3)")
    parser.add_argument("--quick", action="store_true", help="small batches and few names (a smoke run)")
    args = parser.parse_args()
    if OPENVINO not in ort.get_available_providers():
        print(f"no OpenVINO: this onnxruntime ({ort.__version__}) has no OpenVINO execution provider (install "
              f"onnxruntime-openvino in place of onnxruntime); nothing measured")
        return 0
    path = args.model or shipped_model_path()
    models = engines(path, args.threads)
    print(f"{path}: {models['cpu'].metadata.parameters:,} parameters; onnxruntime-openvino {ort.__version__}; "
          f"{platform.machine()}, {os.cpu_count()} logical CPUs; {args.threads} thread(s) per engine; chars/s, "
          f"best of {args.repeats}")
    print(f"{'batch':>7} {'names':>7} " + " ".join(f"{name:>14}" for name in models) + "  openvino/cpu  names equal")
    for batch, names in QUICK if args.quick else RUNS:
        speed, made = {}, {}
        for name, model in models.items():
            speed[name], made[name] = chars_per_s(model, batch, names, args.repeats)
        equal = sum(a == b for a, b in zip(made["openvino"], made["cpu"], strict=True))
        print(f"{batch:>7,} {names:>7,} " + " ".join(f"{speed[name]:>14,.0f}" for name in models)
              + f"  {speed['openvino'] / speed['cpu']:>11.2f}x  {equal:,} of {names:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
