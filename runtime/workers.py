"""How many workers a request gets: one (this process) for small requests, up to `threads` worker
processes (runtime/process_pool.py) for big ones.

    worker_count(threads=4, request=GenerationRequest(n=1_000_000, batch_size=4096))   # 4
    worker_count(threads=4, request=GenerationRequest(n=1_000))                         # 1: not worth a process

A worker process costs its start-up once per model (python, numpy and onnxruntime imported, the session
opened: 0.26 s for one and 0.43 s for two started together on this project's 2-core machine while two
training runs used it, when one process made 20,000 names of the shipped model at batch 256 in 0.51 s),
then a few milliseconds per call. So a request starts the workers only from START_NAMES names on (where
two of them save about as much as their start-up costs); once they run, it uses as many of them as give
each at least MIN_NAMES_PER_WORKER names. Each worker also keeps at least MIN_ROWS_PER_WORKER rows
of the batch (a batch of 64 rows or fewer, batch 1 among them, stays in one process). The split never
changes the output: names and scores are those of one process, whatever the count.
"""

from __future__ import annotations

import os
from pathlib import Path

from .generation import GenerationRequest

__all__ = ["MIN_NAMES_PER_WORKER", "MIN_ROWS_PER_WORKER", "START_NAMES", "physical_cores", "score_worker_count",
           "worker_count"]

MIN_ROWS_PER_WORKER = 64  # below this many rows a worker's per-step overhead outweighs the second core
START_NAMES = 50_000  # names (or items to score) from which a request starts worker processes
MIN_NAMES_PER_WORKER = 4_096  # names (or items) per worker once they run: a call costs a few ms


def physical_cores() -> int:
    """Physical cores this process may run on (hyperthread siblings counted once); at least 1."""
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
    cores = set()
    for cpu in allowed:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def _by_size(threads: int, count: int | None, started: int) -> int:
    """Workers for `count` names or items (None: endless) with `started` worker processes running already."""
    if count is None:
        return threads
    workers = max(1, min(threads, count // MIN_NAMES_PER_WORKER))
    if workers > started and count < START_NAMES:  # more processes would not pay for their start-up
        workers = max(1, min(workers, started))
    return workers


def worker_count(threads: int, request: GenerationRequest, started: int = 0, names: int | None = None) -> int:
    """Workers for a generation request: at most `threads`, each with at least MIN_ROWS_PER_WORKER rows of the
    batch, and by its size (see the module). names: for an endless request, the names it is expected to
    need (unique, exclude, constraints: at least n); None: as many as it is given. 1 means this process."""
    width = request.batch_size if request.n is None else min(request.batch_size, request.n)
    by_rows = max(1, min(threads, width // MIN_ROWS_PER_WORKER))
    return _by_size(by_rows, request.n if request.n is not None else names, started)


def score_worker_count(threads: int, items: int, started: int = 0) -> int:
    """Workers for scoring `items` items (see the module). 1 means this process."""
    return _by_size(threads, items, started)
