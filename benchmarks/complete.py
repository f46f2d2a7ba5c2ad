"""Speed of exact completions: `complete(prefix, 10)` on the shipped model, median over the 100 most common
2-letter prefixes of names.txt (issue 21's goal: <= 20 ms in Python).

    python benchmarks/complete.py [--data data/names.txt] [--model FILE] [--k 10]

Prints the median, the 90th percentile and the worst, then the goal as PASS/MISS.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from pathlib import Path

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.common.dataset import read_items

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 20.0


def common_prefixes(items: list[str], count: int = 100, length: int = 2) -> list[str]:
    """The `count` most common `length`-letter prefixes, most common first (ties: first seen)."""
    counts = collections.Counter(item[:length] for item in items if len(item) >= length)
    return [prefix for prefix, _ in counts.most_common(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "names.txt")
    parser.add_argument("--model", type=Path, default=None, help="an exported .onnx (default: the shipped model)")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    model = WavenetModel.load(args.model, provider="cpu", threads=1) if args.model else \
        WavenetModel.load_shipped(provider="cpu", threads=1)
    prefixes = common_prefixes(read_items(args.data))
    model.complete(prefixes[0], args.k)  # warm-up
    times = []
    for prefix in prefixes:
        start = time.perf_counter()
        model.complete(prefix, args.k)
        times.append((time.perf_counter() - start) * 1e3)
    median = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1]
    print(f"{model.path}: complete(prefix, {args.k}) over the {len(prefixes)} most common 2-letter prefixes of "
          f"{args.data.name}: median {median:.2f} ms, 90th percentile {p90:.2f} ms, worst {max(times):.2f} ms")
    print(f"{'PASS' if median <= GOAL_MS else 'MISS'}  Python: median <= {GOAL_MS:g} ms: {median:.2f} ms")


if __name__ == "__main__":
    main()
