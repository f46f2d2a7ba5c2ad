"""Every GPU goal of issue 16 in one run: correctness against the CPU, generation speed, training speed.

    python benchmarks/gpu.py                       # on a machine with onnxruntime-gpu and a CUDA GPU
    python benchmarks/gpu.py --out results/gpu.txt # the same, also written to a file
    python benchmarks/gpu.py --stand-in --quick    # no GPU: the same checks through tests/bind_copy.py
    python benchmarks/gpu.py --sampler-only        # any machine: the host sampler at 65,536 rows, 1 thread or blocks

Without the CUDA execution provider it prints one line and exits 0. With it (about 5 minutes on an H200):
  1. correctness: 20,000 names at batch 256 and 4,096, seed 0, CUDA against the CPU session: >= 99% equal
     (float near-ties only) and the mean NLL of the CUDA names within 0.005 of the CPU names' (both scored
     on the CPU);
  2. generation speed (chars/s, end tokens included): CUDA at batch 1, 1,024, 16,384 and 65,536; the CPU
     runtime at batch 16,384 with 1, 2, 4, ... and all cores. Goals: >= 5,000,000 chars/s and >= 3x the best
     CPU figure at batch >= 16,384; <= 250 us per character at batch 1;
     The host sampler at batch 65,536: one thread against the row blocks of a device session (the threads
     `WavenetModel.load` gives it), and its share of a device step (goal: <= 50%);
  3. training: `wn-train --recipe default` steps/s on CUDA against one CPU core of the same machine (>= 4x),
     when torch sees a GPU (`--no-train` skips it).
  0. the load-time device check (runtime/graphs.py): the device path against the CPU, and its cost.
Each goal is printed as PASS or MISS with its figure. `--stand-in` runs the same code on the CPU through a
session that copies bound inputs at bind time as CUDA does (the figures then say nothing about a GPU; it
exists so that CI runs this script's code). On the GPU the generation state lives in device memory
(runtime/graphs.py `_DeviceRingRows`); speed also prints the same session with the state on the host.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the stand-in session (tests/bind_copy.py)

from wavenet_edge.runtime import WavenetModel, graphs  # noqa: E402
from wavenet_edge.runtime.model import SAMPLER_THREADS, shipped_model_path  # noqa: E402
from wavenet_edge.runtime.sampling import BlockSampler, Sampler, SamplingParams  # noqa: E402
from wavenet_edge.runtime.workers import physical_cores  # noqa: E402

CUDA = "CUDAExecutionProvider"
GOAL_CHARS_PER_S = 5_000_000
GOAL_OVER_CPU = 3.0
GOAL_BATCH1_US = 250.0
GOAL_AGREE = 0.99
GOAL_NLL = 0.005
GOAL_TRAIN = 4.0


def say(line: str, out: list[str]) -> None:
    print(line, flush=True)
    out.append(line)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def chars_per_s(model: WavenetModel, batch: int, names: int, seed: int = 0) -> float:
    """Best of 2 runs of `names` names at `batch` (after a warm-up), end tokens counted."""
    model.generate(min(names, 2 * batch), batch_size=batch, seed=seed)
    best = 0.0
    for repeat in range(2):
        start = time.perf_counter()
        out = model.generate(names, batch_size=batch, seed=seed + 1 + repeat)
        best = max(best, sum(len(n) + 1 for n in out) / (time.perf_counter() - start))
    return best


def device_model(path: Path, stand_in: bool) -> WavenetModel:
    if stand_in:  # its "device" memory is host memory that its sessions read in place (tests/bind_copy.py)
        from bind_copy import BindCopySession, StandInDevice

        graphs.device_state = lambda session: getattr(session, "device", None)
        cpu = WavenetModel.load(path, provider="cpu", threads=1)
        return WavenetModel(BindCopySession(cpu.session, StandInDevice(cpu.session)), cpu.metadata, cpu.path,
                            threads=1)
    try:
        return WavenetModel.load(path, provider="cuda")
    except graphs.ProviderDisagrees as err:  # wrong either way: measured anyway, its check line says MISS
        print(f"note: {err}", flush=True)
        model = WavenetModel(err.runner.session, err.runner.metadata, path, threads=1)
        model.runner.device_check = err.runner.device_check  # type: ignore[attr-defined]
        model.runner.state_on_device = False  # type: ignore[attr-defined]
        return model


def host_ring_model(gpu: WavenetModel) -> WavenetModel:
    """The same session with the state kept on the host, every queue slot a step reads copied to the
    device and every one it writes copied back (the runtime before the state moved to the device)."""
    graphs.device_state = lambda session: None
    return WavenetModel(gpu.session, gpu.metadata, gpu.path, threads=1)


def check_device(gpu: WavenetModel, path: Path, stand_in: bool, out: list[str]) -> None:
    """The load-time device check (runtime/graphs.py check_device_path): its verdict and its cost. On CUDA
    WavenetModel.load ran it; the stand-in model is built around its session, so it runs here."""
    check = gpu.runner.device_check  # type: ignore[attr-defined]
    if check is None and stand_in:
        graphs.check_device_path(gpu.runner, path, auto=False)
        check = gpu.runner.device_check  # type: ignore[attr-defined]
    if check is None:
        say("MISS  load-time device check: it did not run (no device state on this session)", out)
        return
    say(f"{verdict(check.device_ok)}  load-time device check: the device path against the CPU "
        f"{check.device:.1e}, the host path {check.host:.1e} (tolerance {graphs.LOGIT_TOLERANCE:g}); it took "
        f"{check.seconds * 1e3:.1f} ms", out)


def check_correctness(gpu: WavenetModel, cpu: WavenetModel, names: int, out: list[str]) -> None:
    for batch in (256, 4096):
        want = cpu.generate(names, seed=0, batch_size=batch)
        got = gpu.generate(names, seed=0, batch_size=batch)
        agree = sum(a == b for a, b in zip(want, got, strict=True)) / names
        nll_cpu, nll_gpu = cpu.score(want).nll_per_char, cpu.score(got).nll_per_char
        say(f"{verdict(agree >= GOAL_AGREE)}  names equal to the CPU's at batch {batch}: {agree:.2%} of {names:,} "
            f"(goal >= {GOAL_AGREE:.0%})", out)
        say(f"{verdict(abs(nll_gpu - nll_cpu) <= GOAL_NLL)}  mean NLL of the device names at batch {batch}: "
            f"{nll_gpu:.4f} against the CPU names' {nll_cpu:.4f} (goal: within {GOAL_NLL})", out)


def check_speed(path: Path, gpu: WavenetModel, quick: bool, out: list[str]) -> None:
    # --quick: a smoke run of the same code, small batches standing in for the large ones
    runs = ((1, 200), (64, 1000), (256, 1000), (1024, 2048)) if quick else \
        ((1, 2000), (1024, 20_000), (16_384, 100_000), (65_536, 262_144))
    big, cpu_names = (runs[2][0], runs[2][1]) if quick else (16_384, 100_000)
    gpu_speed = {}
    for batch, names in runs:
        gpu_speed[batch] = chars_per_s(gpu, batch, names)
        say(f"      device batch {batch:6,}: {gpu_speed[batch]:12,.0f} chars/s ({1e6 / gpu_speed[batch]:8.2f} us/char)",
            out)
    found = graphs.device_state
    host = chars_per_s(host_ring_model(gpu), big, runs[2][1])
    graphs.device_state = found
    say(f"      device batch {big:6,}, state on the host (rebound each step): {host:12,.0f} chars/s; the state on "
        f"the device: {gpu_speed[big] / host:.2f}x that", out)
    cores = physical_cores()
    counts = sorted({1 << k for k in range(cores.bit_length()) if 1 << k <= cores} | {cores})
    cpu_speed = {}
    for threads in counts:
        cpu = WavenetModel.load(path, provider="cpu", threads=threads)
        cpu_speed[threads] = chars_per_s(cpu, big, cpu_names)
        say(f"      CPU batch {big:6,}, {threads:2d} thread(s): {cpu_speed[threads]:12,.0f} chars/s", out)
    best_cpu = max(cpu_speed.values())
    best_gpu = max(gpu_speed[runs[2][0]], gpu_speed[runs[3][0]])
    say(f"{verdict(best_gpu >= GOAL_CHARS_PER_S)}  device at batch >= {big:,}: {best_gpu:,.0f} chars/s "
        f"(goal >= {GOAL_CHARS_PER_S:,})", out)
    say(f"{verdict(best_gpu >= GOAL_OVER_CPU * best_cpu)}  device against the best CPU figure: "
        f"{best_gpu / best_cpu:.2f}x (goal >= {GOAL_OVER_CPU}x)", out)
    us = 1e6 / gpu_speed[1]
    say(f"{verdict(us <= GOAL_BATCH1_US)}  device at batch 1: {us:.1f} us per character (goal <= {GOAL_BATCH1_US})",
        out)
    check_sampler(gpu, runs[3][0], gpu_speed[runs[3][0]], out)


def sampler_ms(model: WavenetModel, batch: int, threads: int) -> float:
    """Milliseconds per step of drawing `batch` rows' tokens on the host (plain sampling, logprobs on), on
    `threads` threads in row blocks (runtime.sampling.BlockSampler; 1: one call), best of 5 x 5."""
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((batch, model.metadata.config.vocab_size)) * 3).astype(np.float32)
    u, out = 1.0 - rng.random((batch, 1)), np.empty(batch, dtype=np.int64)
    sampler = Sampler(SamplingParams())
    draw = sampler if threads == 1 else BlockSampler(sampler, ThreadPoolExecutor(threads), threads)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(5):
            draw(logits, u, out, True)
        best = min(best, (time.perf_counter() - start) / 5 * 1e3)
    return best


def check_sampler(gpu: WavenetModel, batch: int, device_chars_per_s: float, out: list[str]) -> None:
    """The host-side sampler at the largest batch: one thread against the device session's row blocks, and its
    share of a device step there (a step makes `batch` characters; its time from the measured chars/s)."""
    threads = max(gpu.runner.sampler_threads, 2)
    one, blocked = sampler_ms(gpu, batch, 1), sampler_ms(gpu, batch, threads)
    step_ms = batch / device_chars_per_s * 1e3
    say(f"      host sampler at batch {batch:,}: {one:.2f} ms per step on 1 thread, {blocked:.2f} ms on {threads} "
        f"(row blocks); a device step there takes {step_ms:.2f} ms", out)
    share = blocked / step_ms
    say(f"{verdict(share <= 0.5)}  the sampler's share of a device step at batch {batch:,}: {share:.0%} "
        f"(goal: it does not dominate, <= 50%)", out)


def train_steps_per_s(device: str, steps: int, data: Path, work: Path) -> float:
    """Steps per second of `wn-train --recipe default` over `steps` steps (its own log's wall time)."""
    ckpt = work / f"{device}.pt"
    cmd = [sys.executable, "-m", "wavenet_edge.train", "--data", str(data), "--recipe", "default", "--out", str(ckpt),
           "--steps", str(steps), "--eval-every", str(steps), "--device", device, "--threads", "1", "--samples", "0"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return steps / (time.perf_counter() - start)


def check_training(steps: int, out: list[str]) -> None:
    import torch

    if not torch.cuda.is_available():
        say("MISS  training on CUDA: not measured (this torch sees no CUDA device)", out)
        return
    data = ROOT.parent / "shared" / "data" / "names.txt"
    with tempfile.TemporaryDirectory() as tmp:
        if not data.is_file():
            data = Path(tmp) / "names.txt"
            rng = np.random.default_rng(0)
            data.write_text("\n".join("".join(rng.choice(list("abcdefghij"), rng.integers(3, 9))) for _ in range(5000)))
        cuda = train_steps_per_s("cuda", steps, data, Path(tmp))
        cpu = train_steps_per_s("cpu", steps, data, Path(tmp))
    say(f"{verdict(cuda >= GOAL_TRAIN * cpu)}  wn-train --device cuda: {cuda:.1f} steps/s against {cpu:.1f} on one CPU "
        f"core: {cuda / cpu:.2f}x (goal >= {GOAL_TRAIN}x; start-up and evaluation included)", out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="an exported .onnx (default: the shipped model)")
    parser.add_argument("--stand-in", action="store_true", help="no GPU: the bind-time-copying stand-in session")
    parser.add_argument("--quick", action="store_true", help="fewer names and steps (a smoke run)")
    parser.add_argument("--no-train", action="store_true", help="skip the training check")
    parser.add_argument("--out", type=Path, default=None, help="also write the lines to this file")
    parser.add_argument("--sampler-only", action="store_true",
                        help="only time the host sampler at 65,536 rows, 1 thread against row blocks (any machine)")
    args = parser.parse_args()
    if args.sampler_only:
        model = WavenetModel.load(args.model or shipped_model_path(), provider="cpu", threads=1)
        threads = max(2, min(physical_cores(), SAMPLER_THREADS))
        one, blocked = sampler_ms(model, 65_536, 1), sampler_ms(model, 65_536, threads)
        print(f"host sampler at batch 65,536 ({physical_cores()} physical cores): {one:.2f} ms per step on 1 thread, "
              f"{blocked:.2f} ms in row blocks on {threads} ({one / blocked:.2f}x); one thread caps a device at "
              f"{65_536 / one * 1e3:,.0f} chars/s")
        return 0
    if not args.stand_in and CUDA not in ort.get_available_providers():
        print(f"no GPU: this onnxruntime ({ort.__version__}) has no CUDA execution provider (install onnxruntime-gpu "
              f"on a machine with an NVIDIA GPU); nothing measured")
        return 0
    path = args.model or shipped_model_path()
    out: list[str] = []
    gpu = device_model(path, args.stand_in)
    what = "stand-in (CPU, copies inputs at bind time; not a GPU figure)" if args.stand_in else ", ".join(gpu.providers)
    say(f"{path}: {gpu.metadata.parameters:,} parameters; device {what}; {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs, onnxruntime {ort.__version__}", out)
    check_device(gpu, path, args.stand_in, out)
    cpu = WavenetModel.load(path, provider="cpu", threads=1)
    check_correctness(gpu, cpu, 2000 if args.quick else 20_000, out)
    check_speed(path, gpu, args.quick, out)
    if not args.no_train:
        check_training(300 if args.quick else 2000, out)
    if args.out:
        args.out.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
