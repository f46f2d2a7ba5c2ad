"""Dask DataFrame helpers, for scoring inside your own Dask pipeline (`pip install "wavenet-edge[scale]"`).
Jobs from a file to a file are the command `wn-dask` and runtime/cluster/ (score_file, generate_file).

    import dask.dataframe as dd
    from wavenet_edge.runtime import dask_batch
    scored = dask_batch.score_frame(dd.read_parquet("items.parquet"), "name", model="default")
    scored.to_parquet("scored/")         # the rows with logprob, nll_per_char and unscored beside them

- `score_partition(frame, column, model)`: the model is loaded once per worker process (runtime/cluster/
  tasks.py: a cache keyed by model, provider and file) and scores the column by the string rules of
  runtime/cluster/tables.py; rows it cannot score get NaN and a reason in `unscored`, so one bad row does
  not fail a job of millions.
- `generate_range(start, count, seed, model, ...)`, `generate_names(client, n, seed, ...)`: the seed's names
  as lists, for small n (generate_file writes big ones on the workers).

Read a CSV with `dd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)`: pandas' defaults
read `nan`, `null` or `NA` as missing values, which are not scored.
"""

from __future__ import annotations

import sys
from typing import Any

from .cluster.tasks import load_cached, score_rows

__all__ = ["generate_names", "generate_range", "load_cached", "score_frame", "score_partition"]

NEW_COMMAND = ("python -m wavenet_edge.runtime.dask_batch is now the command wn-dask: wn-dask score --data items.csv "
               "--column name --out scored.parquet, wn-dask generate -n 1000 --seed 1 --out names.txt "
               "(wn-dask --help)")


def score_partition(frame: Any, column: str, model: str = "default", provider: str = "cpu") -> Any:
    """`frame` (a pandas DataFrame) with columns logprob (log p(item + end token)), nll_per_char and
    unscored (missing, or why the item has no score) added; the column itself unchanged."""
    import pandas as pd

    scores = score_rows(frame[column].tolist(), load_cached(model, provider))
    return frame.assign(logprob=scores["logprob"], nll_per_char=scores["nll_per_char"],
                        unscored=pd.array(scores["unscored"], dtype="string"))


def score_frame(frame: Any, column: str, model: str = "default", provider: str = "cpu") -> Any:
    """A Dask DataFrame scored partition by partition (lazy: write it with to_parquet/to_csv, or compute it)."""
    import pandas as pd

    meta = frame._meta.assign(logprob=pd.Series(dtype="float64"), nll_per_char=pd.Series(dtype="float64"),
                              unscored=pd.Series(dtype="string"))
    return frame.map_partitions(score_partition, column, model, provider, meta=meta)


def generate_range(start: int, count: int, seed: int, model: str = "default", provider: str = "cpu",
                   **options: Any) -> str:
    """The seed's names start..start + count - 1 that wn-generate would print (not empty, at most max_len
    characters), each followed by a newline, as one string (compact to send back). options: temperature,
    top_k, top_p, prefix, max_len, batch_size."""
    loaded = load_cached(model, provider)
    return "".join(name + "\n" for _, name, _ in loaded.draw_range(start, count, seed=seed, **options) if name)


def generate_names(client: Any, n: int, seed: int, model: str = "default", partitions: int | None = None,
                   provider: str = "cpu", **options: Any) -> list[str]:
    """wn-generate -n N --seed S's names, computed in `partitions` contiguous ranges of the seed's names
    on the cluster of `client` (default: two per worker), concatenated in order; then the names dropped
    (empty, over max_len) are made up from the following indices, as wn-generate does. The list is on the
    client: for millions of names, write them with cluster.generate_file."""
    from .cluster.jobs import _ranges

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    parts = partitions or max(1, 2 * len(client.nthreads()))
    names: list[str] = []
    start = 0
    while len(names) < n:
        want = n - len(names)
        bounds = _ranges(start, want, min(parts, want))
        futures = client.map(generate_range, [a for a, _ in bounds], [c for _, c in bounds], seed=seed, model=model,
                             provider=provider, pure=False, **options)
        for chunk in client.gather(futures):
            names.extend(chunk.split("\n")[:-1])
        start += want
    return names[:n]


if __name__ == "__main__":
    print(NEW_COMMAND, file=sys.stderr)
    sys.exit(2)
