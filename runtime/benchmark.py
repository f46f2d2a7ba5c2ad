"""Generation speed of an exported model: microseconds per generated character, per batch size.

    python -m wavenet_edge.runtime.benchmark model.onnx --batch-sizes 1,1024 --threads 1

A character is one sampled token, end tokens included. For each batch size it reports the best of
`--repeats` runs of `generate` (wall-clock and process CPU time: on a busy machine CPU time is the steadier
number) and the cost of the graph alone (one `step` of a full batch, the same IOBinding path), so the rest
is the Python/numpy cost of sampling and bookkeeping.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import numpy as np

from .common.commands import THREADS, command
from .model import WavenetModel, shipped_model_path
from .vocab import BOUNDARY_ID

__all__ = ["SpeedResult", "measure_speed"]


@dataclass(frozen=True)
class SpeedResult:
    batch_size: int
    names: int
    chars: int  # sampled tokens, end tokens included, of the last run
    wall_us_per_char: float  # best run
    cpu_us_per_char: float  # best run, process CPU time
    graph_us_per_row_step: float  # the graph alone, CPU time per row and step


def _graph_cost(model: WavenetModel, batch_size: int, steps: int) -> float:
    runner = model.runner
    rows = runner.rows(runner.initial_state(1)[0], BOUNDARY_ID, batch_size)
    rows.step()
    start = time.process_time()
    for _ in range(steps):
        rows.step()
    return (time.process_time() - start) / (steps * batch_size) * 1e6


def measure_speed(model: WavenetModel, batch_size: int, names: int | None = None, repeats: int = 5,
                  seed: int = 0) -> SpeedResult:
    """Best-of-`repeats` cost of generating `names` names (default: 20 per row of the batch, at least 3000)."""
    names = names if names is not None else max(3000, 20 * batch_size)
    model.generate(min(names, 2 * batch_size), batch_size=batch_size, seed=seed)  # warm up
    wall = cpu = float("inf")
    chars = 0
    for repeat in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = model.generate(names, batch_size=batch_size, seed=seed + repeat)
        t1, c1 = time.perf_counter(), time.process_time()
        chars = sum(len(name) + 1 for name in out)
        wall, cpu = min(wall, (t1 - t0) / chars * 1e6), min(cpu, (c1 - c0) / chars * 1e6)
    graph = min(_graph_cost(model, batch_size, max(5, 20000 // batch_size)) for _ in range(3))
    return SpeedResult(batch_size, names, chars, wall, cpu, graph)


@command()
@click.argument("path", metavar="PATH", required=False)
@click.option("--batch-sizes", default="1,1024", show_default=True, help="Comma-separated batch sizes.")
@click.option("--names", type=int, default=None, help="Names per run (default: max(3000, 20 x batch size)).")
@click.option("--repeats", type=int, default=5, show_default=True)
@click.option("--threads", type=THREADS, default=1, show_default=True, help="Intra-op threads of ONNX Runtime.")
@click.option("--provider", default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per batch size.")
def main(path, batch_sizes, names, repeats, threads, provider, as_json):
    """Microseconds per generated character of PATH (default: the shipped model)."""
    model = WavenetModel.load(Path(path) if path else shipped_model_path(), provider=provider, threads=threads)
    sizes = [int(s) for s in batch_sizes.split(",") if s.strip()]
    if not as_json:
        click.echo(f"{model.path}: {model.graph} graph, {model.metadata.parameters:,} parameters, "
                   f"providers {', '.join(model.providers)}, {threads} thread(s)")
    for size in sizes:
        result = measure_speed(model, size, names=names, repeats=repeats)
        if as_json:
            click.echo(json.dumps(asdict(result)))
        else:
            click.echo(f"batch {size:5d}: {result.wall_us_per_char:8.2f} us/char wall, {result.cpu_us_per_char:8.2f} "
                       f"us/char CPU (graph alone {result.graph_us_per_row_step:.2f}; {result.chars} chars, "
                       f"{np.round(result.chars / result.names - 1, 1)} per name)")


if __name__ == "__main__":
    main()
