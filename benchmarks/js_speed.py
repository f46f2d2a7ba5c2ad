"""JavaScript runtime speed against the Python runtime, same model, one intra-op thread everywhere.

    python benchmarks/js_speed.py                                    # ~2 min on 2 cores
    python benchmarks/js_speed.py --rounds 5 --json runs/js_speed.json

Needs node, js/node_modules (cd js && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts) and chromium.

Microseconds per generated character (end tokens included) at batch 1 and 256 for:
    python   WavenetModel.generate (onnxruntime, IOBinding), in this process
    node     the wavenet-edge npm package on onnxruntime-node (js/bench/speed.mjs)
    browser  the demo page on onnxruntime-web, wasm, headless Chromium (js/bench/browser_speed.mjs)
Python and Node alternate for --rounds rounds (a busy machine slows both alike); each figure is the best
run. CPU time per character (the process's, all threads) is printed beside the wall-clock figures for
python and node: steadier when other jobs share the cores. Goals, on wall-clock time: node within 1.5x of
python, the browser within 2.5x, at both batch sizes; the demo page shows its first names within 1.5 s
of opening (fresh browser, first page load, model and wasm fetched from a local server).

Also printed: the graph call alone (python: IOBinding on preallocated buffers; node: onnxruntime-node's run
on preallocated buffers), CPU us per row and step, to tell the binding's cost from the JS package's own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from wavenet_edge.runtime import WavenetModel

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 256)
GOALS = {"node": 1.5, "browser": 2.5}
FIRST_NAMES_MS = 1500


def python_run(model: WavenetModel, batch: int, n: int) -> tuple[float, float]:
    """(wall, CPU) microseconds per character of one generation of n names."""
    cpu, start = time.process_time(), time.perf_counter()
    names = model.generate(n, batch_size=batch, seed=0)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    chars = sum(len(name) + 1 for name in names)
    return wall / chars * 1e6, used / chars * 1e6


def python_graph(model: WavenetModel, batch: int, repeat: int) -> float:
    """CPU microseconds per row of one graph call (the runtime's IOBinding rows), best of `repeat`."""
    rows = model.runner.rows(model.runner.initial_state(1)[0], 0, batch)
    steps = -(-20000 // batch)
    best = float("inf")
    for r in range(repeat + 1):
        cpu = time.process_time()
        for _ in range(steps):
            rows.step()
        if r:  # r = 0 warms up
            best = min(best, (time.process_time() - cpu) / steps / batch * 1e6)
    return best


def node_run(model: str, batch: int, n: int) -> tuple[float, float, float]:
    out = subprocess.run(["node", "js/bench/speed.mjs", "--model", model, "--batch", str(batch), "--n", str(n),
                          "--repeat", "1"], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["us_per_char"], result["cpu_us_per_char"], result["graph_cpu_us_per_row_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/wavenet.onnx", help="step-graph model, relative to the repo root")
    parser.add_argument("--n1", type=int, default=1000, help="names per run at batch 1")
    parser.add_argument("--n256", type=int, default=10000, help="names per run at batch 256")
    parser.add_argument("--rounds", type=int, default=3, help="alternating python/node runs per batch size")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    sizes = {1: args.n1, 256: args.n256}
    model = WavenetModel.load(ROOT / args.model, provider="cpu", threads=1)
    for batch in BATCHES:
        model.generate(50, batch_size=batch, seed=99)  # warm-up
    best: dict[str, dict[int, list[float]]] = {k: {b: [float("inf")] * 3 for b in BATCHES} for k in ("python", "node")}
    for _ in range(args.rounds):
        for batch in BATCHES:
            for name, run in (("python", lambda b, n: (*python_run(model, b, n), python_graph(model, b, 1))),
                              ("node", lambda b, n: node_run(args.model, b, n))):
                best[name][batch] = [min(old, new) for old, new in zip(best[name][batch], run(batch, sizes[batch]),
                                                                        strict=True)]
    page_model = os.path.relpath(ROOT / args.model, ROOT / "js" / "demo")
    out = subprocess.run(["node", "js/bench/browser_speed.mjs", "--n1", str(args.n1), "--n256", str(args.n256),
                          "--repeat", str(args.rounds), "--model", page_model],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    browser = json.loads(out.stdout.strip().splitlines()[-1])
    load = os.getloadavg()[0]
    print(f"# {args.model}, 1 thread, best of {args.rounds}; load average {load:.2f} at the end (noisy if > 1)")
    print("| runtime | batch | us/char (wall) | vs python | us/char (CPU) | vs python | goal |")
    print("|---|--:|--:|--:|--:|--:|---|")
    figures: dict = {"model": args.model, "rounds": args.rounds, "load_average": load, "runs": {}}
    verdicts = []
    for batch in BATCHES:
        py_wall, py_cpu, _ = best["python"][batch]
        rows = [("python", py_wall, py_cpu), ("node", *best["node"][batch][:2]),
                ("browser", browser[f"batch_{batch}_us_per_char"], None)]
        for name, wall, cpu in rows:
            ratio = wall / py_wall
            goal = ""
            if name in GOALS:
                ok = ratio <= GOALS[name]
                goal = f"{'PASS' if ok else 'MISS'} (<= {GOALS[name]}x)"
                verdicts.append(ok)
            cpu_text = f"{cpu:.2f} | {cpu / py_cpu:.2f}x" if cpu is not None else "| "
            print(f"| {name} | {batch} | {wall:.2f} | {ratio:.2f}x | {cpu_text} | {goal} |")
            figures["runs"][f"{name}/{batch}"] = {"us_per_char": wall, "cpu_us_per_char": cpu, "vs_python": ratio}
    for batch in BATCHES:
        py_graph, node_graph = best["python"][batch][2], best["node"][batch][2]
        print(f"graph call alone, batch {batch}: python {py_graph:.2f}, node {node_graph:.2f} CPU us per row "
              f"({node_graph / py_graph:.2f}x)")
        figures[f"graph_cpu_us_per_row_step/{batch}"] = {"python": py_graph, "node": node_graph}
    first = browser["first_names_ms"]
    ok = first <= FIRST_NAMES_MS
    verdicts.append(ok)
    print(f"demo page: first names {first:.0f} ms after opening: {'PASS' if ok else 'MISS'} (<= {FIRST_NAMES_MS} ms)")
    figures["first_names_ms"] = first
    print(f"goals: {sum(verdicts)}/{len(verdicts)} PASS")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
