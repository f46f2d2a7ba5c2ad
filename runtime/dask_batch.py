"""Scoring and generation beyond one machine, on Dask (`pip install "wavenet-edge[scale]"`).

    from dask.distributed import Client
    from wavenet_edge.runtime import dask_batch
    client = Client("tcp://scheduler:8786")            # or Client(n_workers=2) for a local cluster
    scored = dask_batch.score_frame(dd.read_parquet("items.parquet"), "name", model="default")
    scored.to_parquet("scored.parquet")                 # the items, logprob and nll_per_char beside them
    names = dask_batch.generate_names(client, 1_000_000, seed=1, model="default")   # = wn-generate's names

    python -m wavenet_edge.runtime.dask_batch score items.csv --column name --out scored.csv
    python -m wavenet_edge.runtime.dask_batch generate -n 100000 --seed 1 --out names.txt [--scheduler ADDR]

Why Dask: it is pure Python from PyPI, a local cluster needs no JVM (Spark) or separate runtime (Ray),
and its dataframes are pandas partitions, which is what a column of strings to score is. Dask schedules;
this module only says what one partition does:
- `score_partition(frame, column, model)`: the model is loaded once per worker process (a cache keyed by
  model and provider) and scores the column; items it cannot score (characters outside its vocabulary,
  longer than its max_len) get NaN and a reason, so one bad row does not fail a job of millions.
- `generate_range(start, count, seed, model, ...)`: the seed's names start..start+count-1 (each name's
  random numbers depend only on the seed and its index, runtime/sampling.py), without the empty ones and
  those over max_len; `generate_names` concatenates ranges in order and tops up the dropped ones, so the
  result is exactly `wn-generate -n N --seed S`'s names, whatever the number of workers or partitions.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .model import SHIPPED_MODELS, WavenetModel

__all__ = ["generate_names", "generate_range", "load_cached", "score_frame", "score_partition"]

_MODELS: dict[tuple[str, str], WavenetModel] = {}  # per worker process: (model, provider) -> loaded model


def load_cached(model: str = "default", provider: str = "cpu") -> WavenetModel:
    """The model named `model` (a shipped name, "default" or "large", or an .onnx path), loaded once per
    process; one ONNX Runtime thread (Dask runs one task per worker thread)."""
    key = (str(model), provider)
    if key not in _MODELS:
        if model in SHIPPED_MODELS:
            _MODELS[key] = WavenetModel.load_shipped(model, provider=provider, threads=1)
        else:
            _MODELS[key] = WavenetModel.load(Path(model), provider=provider, threads=1)
    return _MODELS[key]


def score_partition(frame: Any, column: str, model: str = "default", provider: str = "cpu") -> Any:
    """`frame` (a pandas DataFrame) with columns logprob (log p(item + end token)), nll_per_char and
    unscored (None, or why the item has no score) added."""
    import numpy as np
    import pandas as pd

    loaded = load_cached(model, provider)
    vocab, max_len = loaded.metadata.vocab, loaded.metadata.config.max_len
    items = ["" if pd.isna(value) else str(value).strip() for value in frame[column].tolist()]  # NA: empty
    reasons: list[str | None] = []
    for item in items:
        unknown = vocab.unknown_chars(item)
        if not item:
            reasons.append("empty")
        elif unknown:
            reasons.append(f"characters not in the model's vocabulary: {''.join(unknown)!r}")
        elif len(item) > max_len:
            reasons.append(f"{len(item)} characters, more than the model's max_len {max_len}")
        else:
            reasons.append(None)
    good = [i for i, reason in enumerate(reasons) if reason is None]
    logprob = np.full(len(items), np.nan)
    if good:
        logprob[good] = loaded.score([items[i] for i in good]).logprobs
    chars = np.array([len(item) + 1 for item in items], dtype=np.float64)
    return frame.assign(logprob=logprob, nll_per_char=-logprob / chars, unscored=reasons)


def score_frame(frame: Any, column: str, model: str = "default", provider: str = "cpu") -> Any:
    """A Dask DataFrame scored partition by partition (lazy: compute it, or write it with to_parquet/to_csv)."""
    import pandas as pd

    meta = frame._meta.assign(logprob=pd.Series(dtype="float64"), nll_per_char=pd.Series(dtype="float64"),
                              unscored=pd.Series(dtype="object"))
    return frame.map_partitions(score_partition, column, model, provider, meta=meta)


def generate_range(start: int, count: int, seed: int, model: str = "default", provider: str = "cpu",
                   **options: Any) -> list[str]:
    """The seed's names start..start + count - 1 that wn-generate would print: not empty, at most max_len
    characters. options: temperature, top_k, top_p, prefix, max_len, batch_size (as for generate)."""
    loaded = load_cached(model, provider)
    return [name for _, name, _ in loaded.draw_range(start, count, seed=seed, **options) if name]


def generate_names(client: Any, n: int, seed: int, model: str = "default", partitions: int | None = None,
                   provider: str = "cpu", **options: Any) -> list[str]:
    """wn-generate -n N --seed S's names, computed in `partitions` contiguous ranges of the seed's names
    on the cluster of `client` (default: two per worker), concatenated in order; then the names dropped
    (empty, over max_len) are made up from the following indices, as wn-generate does."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    parts = partitions or max(1, 2 * len(client.scheduler_info()["workers"]))
    names: list[str] = []
    start = 0
    while len(names) < n:
        want = n - len(names)
        bounds = _ranges(start, want, parts if want >= parts else 1)
        futures = client.map(generate_range, [a for a, _ in bounds], [c for _, c in bounds], seed=seed, model=model,
                             provider=provider, pure=False, **options)
        for chunk in client.gather(futures):
            names.extend(chunk)
        start += want
    return names[:n]


def _ranges(start: int, count: int, parts: int) -> list[tuple[int, int]]:
    """`count` indices from `start` in `parts` contiguous (start, count) ranges, sizes differing by at most 1."""
    base, extra = divmod(count, parts)
    out, at = [], start
    for part in range(parts):
        size = base + (part < extra)
        if size:
            out.append((at, size))
            at += size
    return out


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m wavenet_edge.runtime.dask_batch",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=2, help="local cluster: worker processes (default 2)")
    parser.add_argument("--model", default="default", help="default, large or an .onnx path")
    sub = parser.add_subparsers(dest="command", required=True)
    score_cmd = sub.add_parser("score", help="score a column of a CSV or Parquet file; write the scores beside it")
    score_cmd.add_argument("input")
    score_cmd.add_argument("--column", required=True)
    score_cmd.add_argument("--out", required=True, help="a .csv or .parquet path")
    gen = sub.add_parser("generate", help="wn-generate's names for a seed, computed on the cluster")
    gen.add_argument("-n", type=int, required=True)
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--out", required=True, help="a text file: one name per line")
    args = parser.parse_args(argv)

    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    cluster = None if args.scheduler else LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                      dashboard_address=None)
    with Client(args.scheduler or cluster) as client:
        if args.command == "score":
            reader = dd.read_parquet if args.input.endswith(".parquet") else dd.read_csv
            scored = score_frame(reader(args.input), args.column, model=args.model)
            if args.out.endswith(".parquet"):
                scored.to_parquet(args.out)
            else:
                scored.compute().to_csv(args.out, index=False)
        else:
            names = generate_names(client, args.n, seed=args.seed, model=args.model)
            Path(args.out).write_text("".join(name + "\n" for name in names), encoding="utf-8")
    if cluster is not None:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
