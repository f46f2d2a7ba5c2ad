"""Generation on several cores: the names of one request are dealt out to k worker threads, each running
its own generation loop on its own rows of the same ONNX Runtime session, and merged back in index order.

    stream = parallel_stream(runners, vocab, GenerationRequest(n=1000, seed=0, batch_size=1024))
    for index, name, logprob in stream: ...                 # exactly what generate_stream would give

Worker w generates names w, w + k, w + 2k, ... with those names' own random numbers (generate_stream's
first/stride), so the names and log-probabilities are exactly those of one thread, whatever k. Threads,
not processes: onnxruntime releases the GIL while a graph runs, and numpy while it works on whole
arrays, so k threads keep k cores busy at large batches without copying the model or the names between
processes. Each session runs its kernels on the calling thread (intra-op threads 1): the per-node work
of this model is too small to split (2 intra-op threads were slower than 1 at batch 1024).
"""

from __future__ import annotations

import collections
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from .generation import GenerationRequest, generate_chunks, generate_stream
from .graphs import GraphRunner
from .vocab import Vocab

__all__ = ["MIN_ROWS_PER_WORKER", "physical_cores", "parallel_stream", "worker_count"]

MIN_ROWS_PER_WORKER = 64  # below this many rows a worker's per-step Python overhead outweighs the second core
_QUEUE_CHUNKS = 256  # lists of names (one per step) a worker may run ahead of the reader
_POLL_S = 0.1


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


def worker_count(threads: int, request: GenerationRequest) -> int:
    """Workers for a request: at most `threads`, and at least MIN_ROWS_PER_WORKER rows each (batch 1: one)."""
    width = request.batch_size if request.n is None else min(request.batch_size, request.n)
    return max(1, min(threads, width // MIN_ROWS_PER_WORKER))


def _share(request: GenerationRequest, worker: int, workers: int) -> GenerationRequest:
    """Worker `worker`'s part: names worker, worker + workers, ...; its share of the batch."""
    n = None if request.n is None else (request.n - worker + workers - 1) // workers
    return replace(request, n=n, batch_size=(request.batch_size + workers - 1) // workers)


def parallel_stream(runners: Sequence[GraphRunner], vocab: Vocab, request: GenerationRequest,
                    logprobs: bool = True, offset: int = 0) -> Iterator[tuple[int, str, float | None]]:
    """generate_stream over len(runners) worker threads (one runner each); the same items in the same order.
    offset: the stream's names are the request's names offset, offset + 1, ... (their random numbers too)."""
    workers = len(runners)
    if workers == 1:
        for index, name, logprob in generate_stream(runners[0], vocab, request, logprobs, first=offset):
            yield index + offset, name, logprob
        return
    stop = threading.Event()
    queues: list[queue.Queue] = [queue.Queue(maxsize=_QUEUE_CHUNKS) for _ in range(workers)]

    def put(worker: int, item) -> bool:
        while not stop.is_set():
            try:
                queues[worker].put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work(worker: int) -> None:
        share = _share(request, worker, workers)
        try:
            if share.n == 0:
                return
            for chunk in generate_chunks(runners[worker], vocab, share, logprobs, first=offset + worker,
                                         stride=workers):
                if not put(worker, chunk):  # one list per step: one hand-over for all the names it finished
                    return
        except BaseException as err:  # handed to the reader, which raises it
            put(worker, err)

    threads = [threading.Thread(target=work, args=(w,), daemon=True, name=f"wavenet-edge-{w}") for w in range(workers)]
    for thread in threads:
        thread.start()
    # names handed over and not yet yielded
    buffers: list[collections.deque] = [collections.deque() for _ in range(workers)]
    try:
        index = 0
        while request.n is None or index < request.n:
            buffer = buffers[index % workers]
            while not buffer:
                chunk = queues[index % workers].get()
                if isinstance(chunk, BaseException):
                    raise chunk
                buffer.extend(chunk)
            _, name, logprob = buffer.popleft()
            yield index + offset, name, logprob
            index += 1
    finally:
        stop.set()
        for thread in threads:
            if thread is not threading.current_thread():  # an abandoned stream may be collected by a worker
                thread.join()
