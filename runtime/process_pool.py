"""Worker processes for one model file: generation and scoring on k cores, each process with its own ONNX
Runtime session (one intra-op thread), the results merged in index order (runtime/process_worker.py is
the worker side). WavenetModel owns one pool and decides when to use it (runtime/workers.py).

    pool = ProcessPool(path, file_stat(path), size=4)
    for chunk in pool.generate_chunks(request, workers=4): ...   # generate_stream's items, in lists
    pool.score(items, workers=4)                                           # [len(items)] float64, in order
    pool.close()                                                           # also when collected, and at exit

Determinism: a request's names are cut into contiguous blocks, names first .. first + count - 1, and a
block is one generate_chunks run with those names' own random numbers (a name's characters depend only
on the seed, its index and the model's logits for its row, which ONNX Runtime computes row by row), so
the merged stream is, to the bit, the names and log-probabilities of one process, for every number of
workers and every batch size. Scoring cuts the items into contiguous blocks the same way.

How the work is dealt: block j goes to worker j mod k; each worker has at most AHEAD blocks sent and not
yet read back (so it never waits for the parent, and the names held in this process are bounded by
about k x AHEAD blocks); its rows are a k-th of the batch size (the rows of a request stay batch_size in
all). Scoring blocks (at most SCORE_BLOCK items) go one at a time to whichever worker is free: a block's
items and scores outgrow the sockets' buffers, and a worker busy with one block does not read the next.
Workers start on the first call that needs them (all at once, in parallel), stay for later calls,
and end on close(), when the pool is collected, at interpreter exit, or when this process dies (they
see end of file on their socket). A worker is started in its own session and ignores SIGINT: a Ctrl-C
reaches only this process, which stops them. A stream that is closed early (islice, a reader gone)
cancels its blocks; one interrupted inside a read of a worker's message (Ctrl-C) closes the pool, whose
connections may then be cut mid-message, and the next call starts fresh workers.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing import connection
from pathlib import Path
from typing import IO

from .common.errors import WavenetEdgeError
from .generation import GenerationRequest

__all__ = ["AHEAD", "BLOCK_BATCHES", "HELD_NAMES", "MIN_BLOCK", "SCORE_BLOCK", "ProcessPool", "WorkerError",
           "block_size", "processes_supported"]

log = logging.getLogger("wavenet_edge")

AHEAD = 2  # blocks sent to a worker and not yet read back: one running, one waiting
BLOCK_BATCHES = 64  # a block is at least this many of its worker's batches: each block ends in a ramp-down of its
# rows (the last, longest names on few rows); at 4 batches per block 2 workers gave 1.6-1.74x one process at batch
# 4,096 to 16,384, at 32 1.81-2.04x, at 64 1.80-2.08x (benchmarks/generate.py --scaling-only, this 2-core machine)...
MIN_BLOCK = 16_384  # ... and at least this many names, unless the request is smaller...
HELD_NAMES = 2_097_152  # ... and at most this many over all the blocks in flight (workers x AHEAD): the names a
# reader slower than the workers leaves in this process (about 60 bytes each), whatever the batch size
SCORE_BLOCK = 65_536  # items per scoring block (one pickled message each way)
START_TIMEOUT_S = 120.0  # a worker that has not opened the model by then is given up
STOP_TIMEOUT_S = 5.0  # after SIGTERM, before SIGKILL
_WORKER_MODULE = __name__.rpartition(".")[0] + ".process_worker"


class WorkerError(WavenetEdgeError):
    """A worker process failed through no fault of the input (it died, or its session failed)."""

    exit_code = 1


def processes_supported() -> bool:
    """Worker processes need POSIX (a socket handed to the child by descriptor) and a Python executable."""
    return os.name == "posix" and bool(sys.executable)


def block_size(n: int | None, workers: int, batch: int) -> int:
    """Names per block for `workers` workers of `batch` rows each: BLOCK_BATCHES batches, at least MIN_BLOCK
    names and at most HELD_NAMES in all the blocks in flight; a finite request is cut into equal rounds of
    one block per worker."""
    most = max(min(BLOCK_BATCHES * batch, HELD_NAMES // (workers * AHEAD)), MIN_BLOCK)
    if n is None:
        return most
    rounds = math.ceil(n / (workers * most))
    return math.ceil(n / (workers * rounds))


def _error_class(kind: str) -> type[WavenetEdgeError]:
    """The wavenet-edge error class a worker named (its subclasses too), WorkerError for an unknown one."""
    todo: list[type[WavenetEdgeError]] = [WavenetEdgeError]
    while todo:
        cls = todo.pop()
        if cls.__name__ == kind:
            return cls
        todo.extend(cls.__subclasses__())
    return WorkerError


def _raise_failure(message: tuple) -> None:
    _, _, kind, text = message
    raise _error_class(kind)(text) if kind else WorkerError(text)


@dataclass
class _Worker:
    popen: subprocess.Popen
    conn: connection.Connection
    stderr: IO[bytes]  # the worker's stderr, a temporary file: its last line explains a death

    def last_words(self) -> str:
        """The worker's exit status and the last line it wrote to stderr."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=1.0)
        status = self.popen.returncode
        said = ""
        with contextlib.suppress(OSError, ValueError):
            self.stderr.seek(0)
            lines = [line for line in self.stderr.read().decode("utf-8", "replace").splitlines() if line.strip()]
            said = f": {lines[-1].strip()}" if lines else ""
        how = "still running" if status is None else (f"killed by signal {-status}" if status < 0
                                                      else f"exit status {status}")
        return f"{how}{said}"


def _stop(workers: list[_Worker], owner: int) -> None:
    """End `workers` (no zombie left): close their sockets, SIGTERM, reap; SIGKILL any that lingers. Only
    the process that started them signals them (a forked child just closes its copies of the sockets)."""
    for worker in workers:
        with contextlib.suppress(OSError):
            worker.conn.close()
    if os.getpid() == owner:
        for worker in workers:
            if worker.popen.poll() is None:
                with contextlib.suppress(OSError):
                    worker.popen.terminate()
        for worker in workers:
            try:
                worker.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                worker.popen.kill()
                worker.popen.wait()
    for worker in workers:
        with contextlib.suppress(OSError):
            worker.stderr.close()
    workers.clear()


class ProcessPool:
    """Up to `size` worker processes serving the model file `path` (`stat`: its file_stat when the model was
    loaded; a worker refuses a file written over since). Nothing starts until a call needs workers."""

    def __init__(self, path: str | Path, stat: tuple[int, int, int], size: int):
        self.path, self.stat, self.size = str(path), tuple(stat), size
        self._workers: list[_Worker] = []
        self._inbox: dict[int, collections.deque] = {}  # job id -> its messages not yet taken
        self._jobs = itertools.count()
        self._lock = threading.RLock()  # sends, reads and the worker list: one thread at a time
        self._owner = os.getpid()
        self._finalizer = weakref.finalize(self, _stop, self._workers, self._owner)

    @property
    def started(self) -> int:
        """Worker processes running now."""
        return len(self._workers)

    @property
    def pids(self) -> list[int]:
        return [worker.popen.pid for worker in self._workers]

    def close(self) -> None:
        """Stop every worker (a later call starts new ones)."""
        with self._lock:
            self._inbox.clear()
            _stop(self._workers, self._owner)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ workers

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        stderr = tempfile.TemporaryFile(prefix="wavenet-edge-worker-")
        try:
            code = (f"import sys; sys.path[:] = {sys.path!r}; "
                    f"from {_WORKER_MODULE} import serve; serve({theirs.fileno()})")
            popen = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(theirs.fileno(),),
                                     start_new_session=True)
        except BaseException:
            ours.close()
            stderr.close()
            raise
        finally:
            theirs.close()
        worker = _Worker(popen, connection.Connection(ours.detach()), stderr)
        self._workers.append(worker)  # from here on, close() and the finalizer stop it
        worker.conn.send(("init", self.path, self.stat))
        return worker

    def _ensure(self, count: int) -> list[_Worker]:
        """The first `count` workers (at most `size`), starting the missing ones and waiting until they are ready."""
        count = min(count, self.size)
        with self._lock:
            if len(self._workers) >= count:
                return self._workers[:count]
            if os.getpid() != self._owner:  # a forked copy of the model: its parent's workers are not ours
                self._workers.clear()
                self._owner = os.getpid()
                self._finalizer.detach()
                self._finalizer = weakref.finalize(self, _stop, self._workers, self._owner)
            t0 = time.perf_counter()
            fresh = []
            try:
                while len(self._workers) < count:
                    fresh.append(self._spawn())
                for worker in fresh:
                    self._await_ready(worker)
            except BaseException:
                self.close()
                raise
            log.info("started %d worker process(es) (pids %s) in %.2f s", len(fresh),
                     ", ".join(str(w.popen.pid) for w in fresh), time.perf_counter() - t0)
            return self._workers[:count]

    def _await_ready(self, worker: _Worker) -> None:
        try:
            if not worker.conn.poll(START_TIMEOUT_S):
                raise WorkerError(f"worker process {worker.popen.pid} did not open the model within "
                                  f"{START_TIMEOUT_S:.0f} s")
            message = worker.conn.recv()
        except (EOFError, OSError):
            raise WorkerError(f"worker process {worker.popen.pid} ended before it was ready "
                              f"({worker.last_words()})") from None
        if message[0] == "error":
            _raise_failure(message)

    def _send(self, worker: _Worker, message: tuple) -> None:
        try:
            worker.conn.send(message)
        except OSError:
            self._died(worker)

    def _died(self, worker: _Worker) -> None:
        words = worker.last_words()
        self.close()
        raise WorkerError(f"worker process {worker.popen.pid} ended unexpectedly ({words})")

    def _pump(self) -> None:
        """Wait for a message from any worker, then file every message already sent into its job's inbox
        (a job nobody waits for any more: dropped)."""
        with self._lock:
            by_conn = {worker.conn: worker for worker in self._workers}
            for ready in connection.wait(list(by_conn)):
                worker = by_conn[ready]  # type: ignore[index]
                try:
                    while True:
                        message = worker.conn.recv()
                        box = self._inbox.get(message[1])
                        if box is not None:
                            box.append(message)
                        if not worker.conn.poll():
                            break
                except (EOFError, OSError):
                    self._died(worker)

    def _take(self, job: int) -> tuple:
        """The next message of `job`, waiting for it; an error message is raised."""
        box = self._inbox[job]
        while not box:
            self._pump()
        message = box.popleft()
        if message[0] == "error":
            _raise_failure(message)
        return message

    def _submit(self, worker: _Worker, message: tuple) -> int:
        """Send a job (message without its id) to `worker`; its id."""
        with self._lock:
            job = next(self._jobs)
            self._inbox[job] = collections.deque()
            self._send(worker, (message[0], job, *message[1:]))
            return job

    def _cancel(self, jobs: dict[int, _Worker]) -> None:
        """Forget `jobs` and tell their workers to drop them (a worker that has gone needs no telling)."""
        with self._lock:
            per_worker: dict[int, list[int]] = collections.defaultdict(list)
            for job, worker in jobs.items():
                self._inbox.pop(job, None)
                per_worker[id(worker)].append(job)
            for worker in self._workers:
                if id(worker) in per_worker:
                    with contextlib.suppress(OSError):
                        worker.conn.send(("cancel", per_worker[id(worker)]))

    def _guarded(self, jobs: dict[int, _Worker], err: BaseException) -> None:
        """What a call does when it ends early: its jobs cancelled; after anything but a reader that stopped or a
        failure a worker reported (both leave the sockets between messages), the pool closed."""
        if isinstance(err, (GeneratorExit, WavenetEdgeError)) and self._workers:
            self._cancel(jobs)
        else:
            self.close()

    # ------------------------------------------------------------------------------------------ jobs

    def generate_chunks(self, request: GenerationRequest, logprobs: bool = True, workers: int = 2,
                        offset: int = 0) -> Iterator[list[tuple[int, str, float | None]]]:
        """(index, name, log-probability) of the request's names offset, offset + 1, ... (n of them, or
        endless), made by `workers` workers in contiguous blocks: exactly generate_stream's items, in lists,
        one per message of a worker (built in C: no Python frame per name)."""
        team = self._ensure(workers)
        k = len(team)
        share = replace(request, batch_size=math.ceil(request.batch_size / k))
        block = block_size(request.n, k, share.batch_size)
        blocks = None if request.n is None else math.ceil(request.n / block)
        outstanding: dict[int, _Worker] = {}
        queued: collections.deque[tuple[int, int, int]] = collections.deque()  # (job, first name, count)
        sent = 0

        def send_block(number: int) -> None:
            first = offset + number * block
            count = block if request.n is None else min(block, request.n - number * block)
            worker = team[number % k]
            job = self._submit(worker, ("gen", replace(share, n=count), first, logprobs))
            outstanding[job] = worker
            queued.append((job, first, count))

        try:
            while sent < (k * AHEAD if blocks is None else min(blocks, k * AHEAD)):
                send_block(sent)
                sent += 1
            while queued:
                job, first, count = queued.popleft()
                done = 0
                while done < count:
                    _, _, names, scores = self._take(job)
                    yield list(zip(range(first + done, first + done + len(names)), names,
                                   itertools.repeat(None, len(names)) if scores is None else scores, strict=True))
                    done += len(names)
                del outstanding[job]
                self._inbox.pop(job, None)
                if blocks is None or sent < blocks:  # its worker's next block
                    send_block(sent)
                    sent += 1
        except BaseException as err:
            self._guarded(outstanding, err)
            raise

    def score(self, items: Sequence[str], workers: int = 2) -> list[float]:
        """log p(item + end token) of every item (strings the model's vocabulary encodes), in order, scored by
        `workers` workers in contiguous blocks: exactly scoring.score's logprobs."""
        team = self._ensure(workers)
        block = min(math.ceil(len(items) / len(team)), SCORE_BLOCK)
        todo = collections.deque(range(0, len(items), block))  # first item of each block not yet sent
        logprobs = [0.0] * len(items)
        outstanding: dict[int, _Worker] = {}
        starts: dict[int, int] = {}

        def send_block(worker: _Worker) -> None:
            start = todo.popleft()
            job = self._submit(worker, ("score", list(items[start:start + block])))
            outstanding[job], starts[job] = worker, start

        try:
            for worker in team:  # one block each at a time: a block's items and scores outgrow the sockets'
                if todo:         # buffers, and a worker busy with a second one would not read (a deadlock)
                    send_block(worker)
            while outstanding:
                finished = [job for job in outstanding if self._inbox[job]]
                if not finished:
                    self._pump()
                    continue
                for job in finished:
                    _, _, values = self._take(job)
                    logprobs[starts[job]:starts[job] + len(values)] = values
                    worker = outstanding.pop(job)
                    self._inbox.pop(job, None)
                    if todo:  # the worker that finished takes the next block
                        send_block(worker)
        except BaseException as err:
            self._guarded(outstanding, err)
            raise
        return logprobs
