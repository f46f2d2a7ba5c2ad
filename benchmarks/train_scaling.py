"""Wall time of the same training run on 1 process x 1 thread, 1 process x 2 threads and 2 processes x 1 thread
(torchrun, DistributedDataParallel over gloo; each process takes half of every global batch).

    python benchmarks/train_scaling.py --data /work/shared/data/names.txt --steps 2000
    python benchmarks/train_scaling.py --steps 200 --configs 1x1,2x1          # a quick look

Each configuration runs `wn-train --recipe RECIPE --steps STEPS` in a fresh process (start-up included in
`wall`; `train` is the trainer's own clock, start-up excluded) with one evaluation, at the end. Prints a
table, writes --json, and checks that each parallel configuration is faster than 1 x 1 (PASS/MISS). On a
shared machine the figures are noisy: run it on a quiet one. Val losses differ between the configurations
because dropout draws different masks per process; the trajectories agree with dropout off (tests/test_ddp.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CONFIGS = {"1x1": (1, 1), "1x2": (1, 2), "2x1": (2, 1)}  # name: (processes, threads per process)


def run(config: str, args: argparse.Namespace, work: Path) -> dict:
    procs, threads = CONFIGS[config]
    out = work / f"{config}.pt"
    train = ["--data", args.data, "--recipe", args.recipe, "--steps", str(args.steps), "--eval-every",
             str(args.steps), "--samples", "0", "--threads", str(threads), "--device", "cpu", "--quiet",
             "--out", str(out)]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(procs), "--standalone",
                "-m", "wavenet_edge.train"] if procs > 1 else [sys.executable, "-m", "wavenet_edge.train"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    done = subprocess.run([*launcher, *train], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{config}: wn-train failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    record = json.loads((work / f"{config}.metrics.jsonl").read_text().splitlines()[-1])
    return {"config": config, "processes": procs, "threads": threads, "wall_s": round(wall, 2),
            "train_s": record["elapsed_s"], "steps_per_s": round(args.steps / record["elapsed_s"], 2),
            "val_loss": record["val_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="names", help="data file or known data set (default: names)")
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--configs", default="1x1,1x2,2x1", help=f"comma-separated, from {', '.join(CONFIGS)}")
    parser.add_argument("--json", default="runs/benchmark/train_scaling.json")
    args = parser.parse_args()
    configs = args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or args.steps < 1:
        sys.exit(f"Error: unknown --configs {unknown} (choose from {', '.join(CONFIGS)})" if unknown
                 else "Error: --steps must be at least 1")

    with tempfile.TemporaryDirectory(prefix="wn-scaling-") as tmp:
        results = [run(c, args, Path(tmp)) for c in configs]
    load = os.getloadavg()[0]
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, load average {load:.2f}"
    print(f"recipe {args.recipe}, {args.steps} steps; {machine}")
    print("| processes x threads | wall (s) | training (s) | steps/s | val |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['processes']} x {r['threads']} | {r['wall_s']:.1f} | {r['train_s']:.1f} | "
              f"{r['steps_per_s']:.1f} | {r['val_loss']:.4f} |")
    base = next((r for r in results if r["config"] == "1x1"), None)
    for r in results:
        if base is not None and r is not base:
            speedup = base["train_s"] / r["train_s"]
            print(f"{r['config']}: {speedup:.2f}x the training speed of 1x1: {'PASS' if speedup > 1 else 'MISS'}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"recipe": args.recipe, "steps": args.steps, "machine": machine,
                                           "results": results}, indent=1))
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
