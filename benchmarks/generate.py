"""Generation speed: the lecture's torch loop against the cached step and the ONNX runtime, same threads.

    python benchmarks/generate.py                      # the shipped model (models/wavenet.pt, .onnx), ~6 min
    python benchmarks/generate.py --results benchmarks/results       # also writes generate.txt and generate.json
    python benchmarks/generate.py --seconds 1 --repeats 2 --cli-runs 3 --no-compile   # ~1 min, a rough look
    python benchmarks/generate.py --scaling-only       # worker processes alone: 1 against 2, 3 runs (~1 min)

Contenders, each at batch 1 and batch 1024 (rows generated concurrently), all with the same thread
count k (torch.set_num_threads(k), ONNX Runtime intra-op threads k):

    (a) torch eager, the lecture's loop: the model recomputed over the whole window (receptive field)
        for every character, torch.multinomial sampling
    (b) torch eager, the cached step: export.wrappers.StepGraph (Fast WaveNet), torch sampling
    (c) ONNX Runtime, window graph: WavenetModel.generate on a window-graph export
    (d) ONNX Runtime, step graph: WavenetModel.generate on a step-graph export (the product's path)
    (e) torch.compile of (b)'s step (what a torch user would try first); skipped, saying why, where
        torch.compile cannot run (e.g. no C++ compiler), or with --no-compile

A character is one sampled token, end token included, counted per row. The torch loops refill a finished
row with a new name at once, as the runtime does, so no contender spends work on finished rows (the
lecture's own loop, train.samples.sample_names, keeps computing finished rows until the longest row of
the batch ends, so the ratios against (a) are the conservative ones). (a) runs the model with
padding_shortcut=False: every position of the window is computed, as in the lecture, without the
training-time shortcut that computes the all-boundary padding once. Rows end at max_len characters
with a forced end token, as in the runtime.

Each measurement: a warm-up, a calibration run, then --repeats runs sized to --seconds in all (or to
--chars characters each); the best run's characters per wall-clock second is reported.

With k threads, torch runs with torch.set_num_threads(k) and the runtime with threads=k (up to k worker
processes for a big request, each with a contiguous block of the names: runtime/process_pool.py).

Worker processes (issue 17, item 1), also alone with --scaling-only: --scaling-runs back-to-back runs, each
timing WavenetModel.generate of --scaling-names names at each --scaling-batches batch size in this process
(threads=1) and on 2 worker processes (threads=2, its pool started before: it lives with the model), the
two giving the same names (checked), and two independent one-process generators side by side (each half the
names at half the batch, no pool, no merge: what the machine's two cores give at all, the ceiling of 2
workers). The goal: >= 1.9x in every run. On a machine with 16 physical cores
16 workers are measured too (goal >= 12x); elsewhere the script prints a MODEL of 16 workers, labelled as
such: Amdahl's law with the serial fraction s = 2 / S2 - 1 that the worst run's 2-worker speedup S2 implies,
capped by the merging process's own ceiling (one core's names per second over its CPU seconds per name,
measured in the same runs).

Also measured, in the same run: the matrix-product ceiling of (d)'s step graph: the very Gemms of one step
(the shapes of the graph's weight matrices, at the large batch), alone, in onnxruntime (one graph of just
those Gemms) and in numpy (np.matmul into preallocated outputs), one thread; the graph's time per step
(through IOBinding, as inside generate) as a share of the faster of the two; numpy's 1024^3 fp32 GEMM for
scale. Where (d)'s time per step goes (graph alone, sampler alone, the rest: Python/numpy bookkeeping);
the wall time of `wn-generate -n 10 --seed 1` against `python -c "import torch"` (median of --cli-runs).
Every goal of issue 10 is printed as PASS or MISS at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, numpy_helper
from torch.nn import functional as F

from wavenet_edge.export.exporter import export_checkpoint
from wavenet_edge.export.wrappers import StepGraph, initial_state
from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.sampling import Sampler, SamplingParams
from wavenet_edge.runtime.vocab import BOUNDARY_ID
from wavenet_edge.runtime.workers import physical_cores
from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint
from wavenet_edge.train.models import WaveNet, count_parameters

CONTENDERS = {
    "a": "torch eager, window recomputed per char (lecture)",
    "b": "torch eager, cached step (StepGraph)",
    "c": "ONNX Runtime, window graph (WavenetModel)",
    "d": "ONNX Runtime, step graph (WavenetModel)",
    "e": "torch.compile, cached step (StepGraph)",
}
GOAL_RATIO_B1 = 30.0  # (d) / (a) at batch 1
GOAL_RATIO_BIG = 20.0  # (d) / (a) at the large batch, one thread
GOAL_CEILING_SHARE = 0.80  # (d)'s graph at the large batch, one thread, of the same matmuls alone
GOAL_THREAD_SCALING = 1.8  # (d) with 2 threads / with 1 thread, at the large batch
GOAL_CLI_S = 0.25  # wn-generate -n 10, wall seconds
GOAL_WORKERS_2 = 1.9  # 2 worker processes / 1 process, at batch >= 4096, in every run (issue 17)
GOAL_WORKERS_16 = 12.0  # 16 worker processes / 1 process (measured on 16 physical cores, modelled elsewhere)
MODEL_WORKERS = 16
CLI_MODULE = "wavenet_edge.runtime.cli"  # what wn-generate imports before it does anything
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
GEMM_SCRIPT = """
import sys, time
import numpy as np
n, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
c = np.empty((n, n), dtype=np.float32)
np.matmul(a, b, out=c)
best = float("inf")
for _ in range(repeats):
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    best = min(best, time.perf_counter() - t0)
print(2 * n ** 3 / best / 1e9)
"""


# ---------------------------------------------------------------------------------------------- torch loops

class WindowRows:
    """(a) The lecture's state: the last R tokens of every row; the model reruns over all of them per char."""

    def __init__(self, model: WaveNet, batch: int):
        self.model = model
        self.window = torch.full((batch, model.receptive_field), BOUNDARY_ID, dtype=torch.long)  # (B, R)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        # tokens (B,) -> logits (B, V) of the token after the window that ends with them
        self.window = torch.cat([self.window[:, 1:], tokens.unsqueeze(1)], dim=1)  # (B, R)
        return self.model(self.window, padding_shortcut=False)[:, -1]  # the whole window, as the lecture

    def reset(self, ended: torch.Tensor) -> None:
        self.window[ended] = BOUNDARY_ID  # (B,) bool: these rows start a new name


class StepRows:
    """(b) Fast WaveNet in torch: per-layer queues [B, S] and one StepGraph step per char ((e): compiled)."""

    def __init__(self, model: WaveNet, batch: int, compiled: bool = False):
        self.graph = StepGraph(model).eval()
        self.advance = torch.compile(self.graph.advance, dynamic=False) if compiled else self.graph.advance
        self.start = initial_state(model)  # (S,) the state after only boundary tokens
        self.state = self.start.repeat(batch, 1)  # (B, S)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        logits, self.state = self.advance(tokens, self.state)  # (B, V), (B, S)
        return logits

    def reset(self, ended: torch.Tensor) -> None:
        self.state[ended] = self.start


class TorchGenerator:
    """Batched sampling in torch eager; a row that ends starts a new name in the next step.

    run(steps) advances every row `steps` times and returns the characters generated (steps x B: every
    row-step samples one token, a character or the end token)."""

    def __init__(self, rows: WindowRows | StepRows, batch: int, max_len: int, seed: int = 0):
        self.rows, self.batch, self.max_len = rows, batch, max_len
        self.tokens = torch.full((batch,), BOUNDARY_ID, dtype=torch.long)  # (B,) fed to the next step
        self.length = torch.zeros(batch, dtype=torch.long)  # (B,) tokens sampled in each row's name
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def run(self, steps: int) -> int:
        rows, tokens, length = self.rows, self.tokens, self.length
        for _ in range(steps):
            probs = F.softmax(rows.step(tokens), dim=-1)  # (B, V)
            tokens = torch.multinomial(probs, 1, generator=self.generator).squeeze(1)  # (B,)
            length += 1
            tokens.masked_fill_(length > self.max_len, BOUNDARY_ID)  # max_len characters: the end is forced
            ended = tokens == BOUNDARY_ID  # (B,)
            if bool(ended.any()):
                rows.reset(ended)
                length.masked_fill_(ended, 0)
        self.tokens = tokens
        return steps * self.batch


class RuntimeGenerator:
    """(c)/(d) WavenetModel.generate: run(rounds) generates rounds x B names at batch_size B."""

    def __init__(self, model: WavenetModel, batch: int):
        self.model, self.batch, self.seed = model, batch, 0

    def run(self, rounds: int) -> int:
        names = self.model.generate(rounds * self.batch, seed=self.seed, batch_size=self.batch)
        self.seed += 1
        return sum(len(name) + 1 for name in names)  # the end token counts


# ---------------------------------------------------------------------------------------------- measuring

@dataclass
class Measurement:
    contender: str
    batch: int
    threads: int
    chars_per_s: float  # best run, wall clock
    cpu_chars_per_s: float  # the same run, process CPU time (steadier on a shared machine)
    chars: int  # of the best run
    runs: list[float] = field(default_factory=list)  # chars/s of every run


def measure(run: Callable[[int], int], contender: str, batch: int, threads: int, seconds: float, repeats: int,
            chars: int | None, unit: int) -> Measurement:
    """Warm up and calibrate `run(units) -> characters`, then time `repeats` runs sized to `seconds` in all
    (or to `chars` characters each)."""
    run(unit)  # warm-up: first calls allocate, ORT sizes its arena for this batch
    t0 = time.perf_counter()
    got = run(unit)
    took = time.perf_counter() - t0
    if chars is not None:
        units = max(unit, math.ceil(chars / (got / unit)))
    else:
        units = max(unit, round(unit * seconds / repeats / took))
    best = Measurement(contender, batch, threads, 0.0, 0.0, 0)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        got = run(units)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best.runs.append(got / wall)
        if got / wall > best.chars_per_s:
            best.chars_per_s, best.cpu_chars_per_s, best.chars = got / wall, got / max(cpu, 1e-9), got
    return best


def graph_and_sampler_us(model: WavenetModel, batch: int, seconds: float) -> tuple[float, float]:
    """Microseconds per step of (d)'s graph alone (IOBinding run at width `batch`, as inside generate)
    and of its sampler alone on those logits (temperature 1)."""
    runner = model.runner  # the runtime's own runner: the same session call generate makes
    rows = runner.rows(runner.initial_state(1)[0], BOUNDARY_ID, batch)
    rows.step()
    steps = max(20, int(seconds * 2e4 / batch))  # ~20k row-steps per second of budget at the least

    def per_step(func: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(steps):
                func()
            best = min(best, (time.perf_counter() - t0) / steps * 1e6)
        return best

    graph = per_step(rows.step)
    logits = rows.step().copy()  # [B, V]
    u = np.random.default_rng(0).random((batch, 1))  # [B, 1]
    out = np.empty(batch, dtype=np.int64)
    sampler = Sampler(SamplingParams())
    return graph, per_step(lambda: sampler(logits, u, out))


def gemm_gflops(threads: int, n: int = 1024, repeats: int = 10) -> float:
    """numpy fp32 n x n @ n x n, best of `repeats`, in a subprocess whose BLAS uses `threads` threads."""
    env = {**os.environ, **{var: str(threads) for var in BLAS_THREAD_VARS}}
    done = subprocess.run([sys.executable, "-c", GEMM_SCRIPT, str(n), str(repeats)], env=env, check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip())


def step_gemm_shapes(path: Path) -> list[tuple[int, int]]:
    """(K, N) of every Gemm/MatMul weight in a step-graph file: the matrix products of one step."""
    proto = onnx.load(str(path))
    inits = {init.name: init for init in proto.graph.initializer}
    shapes = []
    for node in proto.graph.node:
        if node.op_type in ("Gemm", "MatMul") and node.input[1] in inits:
            k, n = inits[node.input[1]].dims
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            shapes.append((n, k) if trans_b else (k, n))
    return shapes


def matmul_ceiling_us(shapes: list[tuple[int, int]], batch: int, seconds: float) -> dict[str, float]:
    """Microseconds per step of the same matrix products alone, one thread: onnxruntime (a graph of just these
    Gemms, inputs and outputs bound once) and numpy (np.matmul into preallocated outputs); best of 3 runs."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    xs = [rng.standard_normal((batch, k), dtype=np.float32) for k, _ in shapes]
    outs = [np.empty((batch, n), dtype=np.float32) for _, n in shapes]
    nodes, inits, inputs, outputs = [], [], [], []
    for i, (k, n) in enumerate(shapes):
        inputs.append(helper.make_tensor_value_info(f"x{i}", onnx.TensorProto.FLOAT, ["batch", k]))
        outputs.append(helper.make_tensor_value_info(f"y{i}", onnx.TensorProto.FLOAT, ["batch", n]))
        inits.append(numpy_helper.from_array(weights[i], f"w{i}"))
        nodes.append(helper.make_node("Gemm", [f"x{i}", f"w{i}"], [f"y{i}"]))
    graph = helper.make_graph(nodes, "matmuls", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])
    binding = session.io_binding()
    for i in range(len(shapes)):
        binding.bind_cpu_input(f"x{i}", xs[i])
        binding.bind_output(f"y{i}", "cpu", 0, np.float32, list(outs[i].shape), outs[i].ctypes.data)

    def numpy_step() -> None:
        for x, w, out in zip(xs, weights, outs, strict=True):
            np.matmul(x, w, out=out)

    return {"onnxruntime": time_per_call(lambda: session.run_with_iobinding(binding), seconds),
            "numpy": time_per_call(numpy_step, seconds)}


def time_per_call(func: Callable[[], object], seconds: float, repeats: int = 3) -> float:
    """Best of `repeats` runs of calls sized to `seconds` in all: microseconds per call."""
    t0 = time.perf_counter()
    func()
    calls = max(3, int(seconds / repeats / max(time.perf_counter() - t0, 1e-7)))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            func()
        best = min(best, (time.perf_counter() - t0) / calls * 1e6)
    return best


def median_wall(command: list[str], runs: int) -> float:
    """Median wall seconds of `runs` runs of `command` (after one untimed run that warms the file cache)."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wn_generate_path() -> str:
    beside = Path(sys.executable).parent / "wn-generate"
    found = str(beside) if beside.is_file() else shutil.which("wn-generate")
    if found is None:
        sys.exit("wn-generate not found (pip install -e . in this environment)")
    return found


# ---------------------------------------------------------------------------------------------- worker processes

@dataclass
class ScalingRun:
    batch: int
    names: int
    chars: int
    seconds: dict[int, float]  # workers -> wall seconds of the same names
    parent_cpu_s: dict[int, float]  # workers -> this process's CPU seconds (the merge, for k > 1)
    side_by_side_s: float  # two independent processes, each half the names at half the batch: the slower one's

    def speedup(self, workers: int) -> float:
        return self.seconds[1] / self.seconds[workers]

    @property
    def ceiling(self) -> float:
        """What two cores of this machine give at all: one process against two independent ones side by side."""
        return self.seconds[1] / self.side_by_side_s


def _side_by_side(conn, path: str, barrier) -> None:
    """A helper process of the machine's ceiling: on each (names, seed, batch) it waits for its twin, then
    generates in one process (threads=1) and sends back its wall seconds; None ends it."""
    model = WavenetModel.load(path, provider="cpu", threads=1)
    model.generate(2_000, seed=0)
    while (job := conn.recv()) is not None:
        names, seed, batch = job
        barrier.wait(timeout=300)  # a twin that died breaks it (BrokenBarrierError), not a hang
        t0 = time.perf_counter()
        model.generate(names, seed=seed, batch_size=batch)
        conn.send(time.perf_counter() - t0)


class SideBySide:
    """Two independent one-process generators (no pool, no merge) started together: the 2-core ceiling."""

    def __init__(self, path: Path):
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(2)  # kept: the helpers open it after this returns
        self.conns, self.procs = [], []
        for _ in range(2):
            ours, theirs = context.Pipe()
            proc = context.Process(target=_side_by_side, args=(theirs, str(path), self.barrier), daemon=True)
            proc.start()
            self.conns.append(ours)
            self.procs.append(proc)

    def seconds(self, names: int, seed: int, batch: int) -> float:
        """The slower helper's wall seconds for half the names each, at half the batch (as 2 workers get)."""
        for number, conn in enumerate(self.conns):
            conn.send((math.ceil(names / 2), seed + 7919 * number, math.ceil(batch / 2)))
        return max(conn.recv() for conn in self.conns)

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join(timeout=10)


def worker_scaling(step_path: Path, batches: list[int], names: int, runs: int) -> list[ScalingRun]:
    """`runs` back-to-back rounds: at each batch size, `names` names in this process, on 2 worker processes,
    and on 16 where the machine has 16 physical cores; the same names every time (checked)."""
    counts = [2] + ([MODEL_WORKERS] if physical_cores() >= MODEL_WORKERS else [])
    models = {1: WavenetModel.load(step_path, provider="cpu", threads=1)}
    for k in counts:
        models[k] = WavenetModel.load(step_path, provider="cpu", threads=k)
        models[k].generate(names, seed=0, batch_size=max(batches))  # starts its pool; warms every session
    models[1].generate(min(names, 20_000), seed=0, batch_size=max(batches))
    twins = SideBySide(step_path)
    twins.seconds(min(names, 20_000), 0, max(batches))  # warm
    done = []
    for run_number in range(runs):
        for batch in batches:
            seed = 1000 + run_number
            seconds, cpu, outputs = {}, {}, {}
            for k, model in models.items():
                t0, c0 = time.perf_counter(), time.process_time()
                outputs[k] = model.generate(names, seed=seed, batch_size=batch)
                seconds[k], cpu[k] = time.perf_counter() - t0, time.process_time() - c0
            if any(out != outputs[1] for out in outputs.values()):
                sys.exit(f"worker processes gave other names than one process (seed {seed}, batch {batch})")
            chars = sum(len(name) + 1 for name in outputs[1])
            done.append(ScalingRun(batch, names, chars, seconds, cpu, twins.seconds(names, seed, batch)))
            print(f"  run {run_number + 1}, batch {batch}: " + ", ".join(
                f"{k} worker(s) {seconds[k]:.3f} s ({chars / seconds[k]:,.0f} chars/s)" for k in seconds)
                + f", 2 independent processes {done[-1].side_by_side_s:.3f} s", file=sys.stderr, flush=True)
    twins.close()
    for model in models.values():
        model.close()
    return done


def start_cost(step_path: Path, counts: tuple[int, ...] = (20_000, 50_000, 100_000)) -> list[dict]:
    """When worker processes pay (runtime/workers.py START_NAMES): seconds for n names at the default batch size
    in this process, on 2 workers started by that call (a fresh model), and on 2 workers already running."""
    print()
    print("When workers pay (default batch size; seconds; a fresh model for 'with their start'):")
    print()
    print("| names | 1 process | 2 workers, with their start | 2 workers, running | workers started |")
    print("|--:|--:|--:|--:|--:|")
    rows = []
    for n in counts:
        one = WavenetModel.load(step_path, provider="cpu", threads=1)
        one.generate(100, seed=0)  # warm
        t0 = time.perf_counter()
        names = one.generate(n, seed=1)
        seconds = {"one": time.perf_counter() - t0}
        with WavenetModel.load(step_path, provider="cpu", threads=2) as two:
            t0 = time.perf_counter()
            same = two.generate(n, seed=1) == names
            seconds["start"] = time.perf_counter() - t0
            started = len(two.worker_pids)
            t0 = time.perf_counter()
            two.generate(n, seed=2)
            seconds["running"] = time.perf_counter() - t0
        if not same:
            sys.exit(f"worker processes gave other names than one process ({n} names)")
        print(f"| {n:,} | {seconds['one']:.2f} | {seconds['start']:.2f} | {seconds['running']:.2f} | {started} |")
        rows.append({"names": n, **seconds, "workers": started})
    return rows


def amdahl(serial: float, workers: int) -> float:
    """Amdahl's law: the speedup of `workers` workers when a fraction `serial` of one worker's time does not split."""
    return 1.0 / (serial + (1.0 - serial) / workers)


def scaling_report(runs: list[ScalingRun]) -> tuple[list[tuple[str, str, bool]], dict]:
    """Print the table and the 16-worker model; the goals (text, value, pass) and a record for the JSON."""
    print()
    print(f"Worker processes (threads=k: k processes, contiguous blocks of the names), {runs[0].names:,} names "
          f"per call, wall clock; the same names on every count:")
    print()
    counts = sorted(runs[0].seconds)
    print("| run | batch |" + "".join(f" {k} worker(s), chars/s |" for k in counts) + "".join(
        f" {k} vs 1 |" for k in counts[1:]) + " merge CPU s per name (2) | 2 independent processes vs 1 | "
        "2 workers / 2 independent |")
    print("|--:|--:|" + "--:|" * (2 * len(counts) - 1) + "--:|--:|--:|")
    for number, run in enumerate(runs):
        print(f"| {number // len({r.batch for r in runs}) + 1} | {run.batch} |"
              + "".join(f" {run.chars / run.seconds[k]:,.0f} |" for k in counts)
              + "".join(f" {run.speedup(k):.2f}x |" for k in counts[1:])
              + f" {run.parent_cpu_s[2] / run.names * 1e6:.2f} us | {run.ceiling:.2f}x | "
              f"{run.speedup(2) / run.ceiling:.2f} |")
    print()
    print("2 independent processes: two one-process generators side by side, each half the names at half the batch, "
          "no pool and no merge (the slower one's time): what this machine's two cores give at all, the ceiling "
          "of 2 workers.")
    shares = [run.speedup(2) / run.ceiling for run in runs]
    ceilings = [run.ceiling for run in runs]
    print(f"The machine's ceiling over these runs: {min(ceilings):.2f}x..{max(ceilings):.2f}x; 2 workers reached "
          f"{min(shares):.2f}..{max(shares):.2f} of it.")
    goals = []
    big = [run for run in runs if run.batch >= 4096]
    for run_number, run in enumerate(big):
        goals.append((f"2 workers >= {GOAL_WORKERS_2}x 1 at batch {run.batch} (run {run_number + 1} of {len(big)})",
                      f"{run.speedup(2):.2f}x", run.speedup(2) >= GOAL_WORKERS_2))
    record: dict = {"runs": [asdict(run) for run in runs]}
    if MODEL_WORKERS in counts:
        worst = min(run.speedup(MODEL_WORKERS) for run in big or runs)
        goals.append((f"{MODEL_WORKERS} workers >= {GOAL_WORKERS_16:.0f}x 1 (measured, worst run)", f"{worst:.2f}x",
                       worst >= GOAL_WORKERS_16))
        return goals, record
    # A MODEL, not a measurement: Amdahl's law from the serial fraction the 2-worker runs imply, capped by the
    # merging process (it handles every name: its CPU seconds per name bound the names per second).
    basis = big or runs
    worst = min(basis, key=lambda run: run.speedup(2))
    serial = max(0.0, 2.0 / worst.speedup(2) - 1.0)
    one_rate = worst.names / worst.seconds[1]  # names per second, one process
    merge_rate = worst.names / max(worst.parent_cpu_s[2], 1e-9)  # names per CPU second of the merging process
    ceiling = merge_rate / one_rate
    modelled = min(amdahl(serial, MODEL_WORKERS), ceiling)
    print()
    print(f"MODEL (not a measurement; this machine has {physical_cores()} physical cores): {MODEL_WORKERS} workers "
          f"~ {modelled:.1f}x one process = min(Amdahl with serial fraction s = 2 / {worst.speedup(2):.2f} - 1 = "
          f"{serial:.3f} (the worst 2-worker run, batch {worst.batch}): {amdahl(serial, MODEL_WORKERS):.1f}x; the "
          f"merging process's ceiling, {merge_rate:,.0f} names per CPU second / {one_rate:,.0f} names per second "
          f"of one process: {ceiling:.1f}x)")
    goals.append((f"MODEL, not measured: {MODEL_WORKERS} workers >= {GOAL_WORKERS_16:.0f}x 1 (Amdahl from the "
                  f"measured serial fraction {serial:.3f}, merge ceiling {ceiling:.1f}x)", f"{modelled:.1f}x",
                  modelled >= GOAL_WORKERS_16))
    record["model_16"] = {"serial_fraction": serial, "amdahl": amdahl(serial, MODEL_WORKERS),
                          "merge_ceiling": ceiling, "modelled": modelled, "measured": False}
    return goals, record


# ---------------------------------------------------------------------------------------------- report

def results_table(results: dict, threads: list[int], batches: list[int], labels: dict[str, str],
                  rate: str = "chars_per_s", unit: str = "chars/s") -> str:
    """Markdown: one row per contender x batch; `rate` and its ratio vs (a) per thread count."""
    head = "| contender | batch |" + "".join(f" {unit}, {k} thr | vs (a) |" for k in threads)
    rule = "|---|--:|" + "--:|--:|" * len(threads)
    lines = [head, rule]
    for key, label in labels.items():
        for batch in batches:
            cells = ""
            for k in threads:
                value = getattr(results[k][batch][key], rate)
                cells += f" {value:,.0f} | {value / getattr(results[k][batch]['a'], rate):.1f}x |"
            lines.append(f"| ({key}) {label} | {batch} |{cells}")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class Tee(io.TextIOBase):
    """Writes to the real stdout and keeps a copy (--results writes the copy to generate.txt)."""

    def __init__(self, out):
        self.out, self.copy = out, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="models/wavenet.pt", help="a wavenet checkpoint (wn-train's .pt)")
    parser.add_argument("--onnx", default="models/wavenet.onnx", help="its step-graph export ('' to export it here)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--batches", default="1,1024", help="comma-separated batch sizes")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per contender and batch")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (best one counts)")
    parser.add_argument("--chars", type=int, default=None, help="characters per timed run instead of --seconds")
    parser.add_argument("--cli-runs", type=int, default=5, help="runs of wn-generate / import torch (median)")
    parser.add_argument("--no-compile", action="store_true", help="skip (e), the torch.compile contender")
    parser.add_argument("--scaling-only", action="store_true",
                        help="only the worker processes' check (1 against 2 workers; the 16-worker model)")
    parser.add_argument("--scaling-batches", default="4096,16384", help="batch sizes of the worker processes' check")
    parser.add_argument("--scaling-names", type=int, default=200_000, help="names per call in that check")
    parser.add_argument("--scaling-runs", type=int, default=3, help="back-to-back runs of that check")
    parser.add_argument("--json", default=None, help="write all results to this file")
    parser.add_argument("--results", default=None, help="write generate.txt (this output) and generate.json here")
    args = parser.parse_args()
    tee = Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        record = run_scaling(args) if args.scaling_only else run(args)
    if args.results:
        out = Path(args.results)
        out.mkdir(parents=True, exist_ok=True)
        (out / "generate.txt").write_text(tee.copy.getvalue())
        (out / "generate.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")


def compile_failure(model: WaveNet) -> str | None:
    """Why (e) cannot run here (torch.compile of the cached step), or None when it can."""
    try:
        rows = StepRows(model, 2, compiled=True)
        with torch.no_grad():
            rows.step(torch.zeros(2, dtype=torch.long))
    except Exception as err:  # inductor fails in many ways (no compiler, unsupported platform)
        return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    return None


def run(args: argparse.Namespace) -> dict:
    threads = [int(k) for k in args.threads.split(",") if k.strip()]
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    big, small = max(batches), min(batches)

    ckpt = load_checkpoint(args.checkpoint)
    config = ckpt.config
    if config.arch != "wavenet":
        sys.exit(f"{args.checkpoint}: a {config.arch} checkpoint; this benchmark needs a wavenet (step graph)")
    model = model_from_checkpoint(ckpt, args.checkpoint)
    flops_per_char = 2 * (count_parameters(model) - model.embedding.weight.numel())
    load = os.getloadavg()
    print(f"# {args.checkpoint}: wavenet, {count_parameters(model):,} parameters, receptive field "
          f"{model.receptive_field}, {flops_per_char:,} FLOPs per char (2 x non-embedding parameters)")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load[0]:.2f} at start; torch {torch.__version__}, numpy {np.__version__}, "
          f"onnxruntime {ort.__version__}", flush=True)
    why_not_compiled = "--no-compile" if args.no_compile else compile_failure(model)
    if why_not_compiled:
        print(f"# (e) torch.compile skipped: {why_not_compiled}")
    contenders = [key for key in CONTENDERS if key != "e" or not why_not_compiled]

    with tempfile.TemporaryDirectory(prefix="genbench-") as tmp:
        window_path = Path(tmp) / "window.onnx"
        export_checkpoint(args.checkpoint, window_path, graph="window")
        if args.onnx:
            step_path = Path(args.onnx)
            meta = WavenetModel.load(step_path, provider="cpu", threads=1).metadata
            if meta.graph != "step":
                sys.exit(f"{step_path}: a {meta.graph} graph; --onnx must be a step-graph export")
            if meta.config != config or meta.metrics != ckpt.metrics:
                print(f"# WARNING: {step_path} is not the model of {args.checkpoint}: (d) runs another model")
        else:
            step_path = Path(tmp) / "step.onnx"
            export_checkpoint(args.checkpoint, step_path, graph="step")

        results: dict[int, dict[int, dict[str, Measurement]]] = {}
        breakdown: dict[int, dict[int, dict[str, float]]] = {}
        for k in threads:
            torch.set_num_threads(k)
            window_model = WavenetModel.load(window_path, provider="cpu", threads=k)
            step_model = WavenetModel.load(step_path, provider="cpu", threads=k)
            results[k], breakdown[k] = {}, {}
            for batch in batches:
                runs = {
                    "a": (TorchGenerator(WindowRows(model, batch), batch, config.max_len).run, 8),
                    "b": (TorchGenerator(StepRows(model, batch), batch, config.max_len).run, 16),
                    "c": (RuntimeGenerator(window_model, batch).run, 2),
                    "d": (RuntimeGenerator(step_model, batch).run, 2),
                }
                if "e" in contenders:
                    runs["e"] = (TorchGenerator(StepRows(model, batch, compiled=True), batch, config.max_len).run, 16)
                results[k][batch] = {}
                for key, (func, unit) in runs.items():
                    print(f"  {k} thread(s), batch {batch}: ({key}) ...", file=sys.stderr, flush=True)
                    unit = unit if batch > 1 else unit * 16  # batch 1: steps / names are cheap
                    results[k][batch][key] = measure(func, key, batch, k, args.seconds, args.repeats, args.chars,
                                                     unit)
                graph_us, sampler_us = graph_and_sampler_us(step_model, batch, min(args.seconds, 2.0) / 4)
                total_us = batch / results[k][batch]["d"].chars_per_s * 1e6  # per step at full width
                breakdown[k][batch] = {"total_us_per_step": total_us, "graph_us_per_step": graph_us,
                                       "sampler_us_per_step": sampler_us,
                                       "rest_us_per_step": total_us - graph_us - sampler_us}
        print("  matrix-product ceiling ...", file=sys.stderr, flush=True)
        one_thread_model = WavenetModel.load(step_path, provider="cpu", threads=1)
        graph_big_us, _ = graph_and_sampler_us(one_thread_model, big, min(args.seconds, 2.0) / 2)
        ceiling = matmul_ceiling_us(step_gemm_shapes(step_path), big, min(args.seconds, 2.0))
        gemm = gemm_gflops(1)

        wn_generate = [wn_generate_path(), "-n", "10", "--seed", "1", "--onnx", str(step_path)]
        print("  wn-generate / import torch ...", file=sys.stderr, flush=True)
        cli_s = median_wall(wn_generate, args.cli_runs)
        torch_import_s = median_wall([sys.executable, "-c", "import torch"], args.cli_runs)
        cli_import_s = median_wall([sys.executable, "-c", f"import {CLI_MODULE}"], args.cli_runs)
        python_s = median_wall([sys.executable, "-c", "pass"], args.cli_runs)

    labels = {key: CONTENDERS[key] for key in contenders}
    print()
    print(results_table(results, threads, batches, labels=labels))
    print()
    print("The same runs per second of process CPU time (all threads): steadier where other jobs share the cores")
    print()
    print(results_table(results, threads, batches, labels=labels, rate="cpu_chars_per_s", unit="chars/CPU-s"))
    print()
    best_ceiling = min(ceiling.values())
    share = best_ceiling / graph_big_us
    print(f"Matrix-product ceiling at batch {big}, one thread: the step graph's {len(step_gemm_shapes(step_path))} "
          f"Gemms alone take {ceiling['onnxruntime']:.0f} us in onnxruntime, {ceiling['numpy']:.0f} us in numpy; "
          f"the whole step graph {graph_big_us:.0f} us = {share:.1%} of the faster "
          f"(numpy fp32 GEMM 1024^3: {gemm:.1f} GFLOP/s; the graph: "
          f"{big * flops_per_char / graph_big_us / 1e3:.1f} GFLOP/s)")
    for k in threads:
        for batch in batches:
            part = breakdown[k][batch]
            total = part["total_us_per_step"]
            print(f"  {k} thread(s), (d) batch {batch}: {total:.1f} us per step = graph (one worker's session run, "
                  f"IOBinding) {part['graph_us_per_step']:.1f} ({part['graph_us_per_step'] / total:.0%}) + sampler "
                  f"{part['sampler_us_per_step']:.1f} ({part['sampler_us_per_step'] / total:.0%}) + rest "
                  f"{part['rest_us_per_step']:.1f} ({part['rest_us_per_step'] / total:.0%})")
    print(f"wn-generate -n 10 --seed 1: {cli_s:.3f} s (median of {args.cli_runs}); python -c 'import torch': "
          f"{torch_import_s:.3f} s; its imports alone (import {CLI_MODULE}): {cli_import_s:.3f} s; "
          f"python -c 'pass': {python_s:.3f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")

    print()
    print("Goals (issue 10):")
    goals = []
    for k in threads:
        r1 = results[k][small]["d"].chars_per_s / results[k][small]["a"].chars_per_s
        rb = results[k][big]["d"].chars_per_s / results[k][big]["a"].chars_per_s
        goals += [
            (f"{k} thr: (d) >= {GOAL_RATIO_B1:.0f}x (a) at batch {small}", f"{r1:.1f}x", r1 >= GOAL_RATIO_B1),
            (f"{k} thr: (d) >= {GOAL_RATIO_BIG:.0f}x (a) at batch {big}", f"{rb:.1f}x", rb >= GOAL_RATIO_BIG),
        ]
    goals.append((f"1 thr: step graph >= {GOAL_CEILING_SHARE:.0%} of the matrix-product ceiling at batch {big}",
                  f"{share:.1%}", share >= GOAL_CEILING_SHARE))
    if 1 in threads and 2 in threads:
        scaling = results[2][big]["d"].chars_per_s / results[1][big]["d"].chars_per_s
        goals.append((f"(d) 2 thr >= {GOAL_THREAD_SCALING}x 1 thr at batch {big}", f"{scaling:.2f}x",
                      scaling >= GOAL_THREAD_SCALING))
    goals.append((f"wn-generate -n 10 <= {GOAL_CLI_S} s", f"{cli_s:.3f} s", cli_s <= GOAL_CLI_S))
    for text, value, ok in goals:
        print(f"  {verdict(ok)}  {text}: {value}")
    scaling = run_scaling(args, step_path)

    return {
        "checkpoint": args.checkpoint, "onnx": args.onnx, "parameters": count_parameters(model),
        "flops_per_char": flops_per_char, "contenders": labels, "load_average_start": load[0],
        "compile_skipped": why_not_compiled,
        "settings": {"seconds": args.seconds, "repeats": args.repeats, "chars": args.chars},
        "results": [asdict(m) for k in threads for b in batches for m in results[k][b].values()],
        "breakdown_d": {str(k): {str(b): v for b, v in by_batch.items()} for k, by_batch in breakdown.items()},
        "ceiling_us": {**ceiling, "graph": graph_big_us, "share": share, "batch": big},
        "gemm_gflops_1024": gemm,
        "wn_generate_s": cli_s, "import_torch_s": torch_import_s, "cli_import_s": cli_import_s,
        "python_s": python_s,
        "goals": [{"goal": text, "value": value, "pass": ok} for text, value, ok in goals],
        "worker_processes": scaling,
    }


def run_scaling(args: argparse.Namespace, step_path: Path | None = None) -> dict:
    """The worker processes' check (issue 17, item 1): its table, the 16-worker model and its goals."""
    step_path = step_path or Path(args.onnx or "models/wavenet.onnx")
    batches = [int(b) for b in args.scaling_batches.split(",") if b.strip()]
    load = os.getloadavg()
    print(f"# worker processes: {step_path}, {physical_cores()} physical cores ({os.cpu_count()} CPUs), load "
          f"average {load[0]:.2f} at start", flush=True)
    runs = worker_scaling(step_path, batches, args.scaling_names, args.scaling_runs)
    goals, record = scaling_report(runs)
    record["start_cost"] = start_cost(step_path)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print()
    print("Goals (issue 17, item 1: worker processes):")
    for text, value, ok in goals:
        print(f"  {verdict(ok)}  {text}: {value}")
    return {**record, "load_average_start": load[0],
            "goals": [{"goal": text, "value": value, "pass": ok} for text, value, ok in goals]}


if __name__ == "__main__":
    main()
