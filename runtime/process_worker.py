"""What one worker process runs: its own ONNX Runtime session of the model, and a loop that generates
the blocks of names and scores the blocks of items it is sent (runtime/process_pool.py starts it, sends
it jobs and merges their results in order).

    python -c "...; from wavenet_edge.runtime.process_worker import serve; serve(FD)"   # FD: a socket to the parent

Messages (multiprocessing Connection, pickled tuples), parent to worker:
    ("init", path, stat)                     open `path` (its file_stat must still be `stat`: the file loaded)
    ("gen", job, request, first, logprobs)   names first .. first + request.n - 1 (generate_chunks)
    ("score", job, items)                    log p(item + end token) of every item (scoring.score)
    ("cancel", jobs)                         drop those jobs, the running generation job too
worker to parent:
    ("ready", pid)                           the session is open
    ("names", job, names, logprobs)          the job's next names in index order (logprobs None, or one float each)
    ("scores", job, logprobs)                the job's items' log-probabilities, in order
    ("error", job, kind, text)               the job (None: the start-up) failed: `kind` is the class name of a
                                             wavenet-edge error (raised again as such by the parent, with `text`),
                                             or "" for anything else (text then names the worker and the
                                             exception); after a job's error the worker goes on serving

A block is one generate_chunks run, so its names and log-probabilities are those of one thread to the bit.
The worker sends its names SEND_NAMES at a time (or after SEND_S), so a stream's first names come early,
a pickled message stays small, and a cancel is seen soon (it is read after every message sent). It
ignores SIGINT (the parent, which the terminal's Ctrl-C reaches, ends it) and ends quietly when the
parent goes away (end of file or a broken pipe on its socket).
"""

from __future__ import annotations

import collections
import os
import signal
import time
from multiprocessing.connection import Connection

__all__ = ["SEND_NAMES", "SEND_S", "file_stat", "serve"]

SEND_NAMES = 1024  # names per message: ~10 KB pickled; per-message cost (~20 us) is then 0.02 us per name
SEND_S = 0.05  # ... or whatever is ready after this long (batch 1, slow models: the stream keeps flowing)


def file_stat(path: str) -> tuple[int, int, int]:
    """What tells the file a model was loaded from from a file written over it since: size, mtime, inode."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def _open(path: str, stat: tuple[int, int, int]):
    """(runner, vocab) of the model at `path` on the CPU with one intra-op thread, as WavenetModel.load opens it."""
    import onnxruntime as ort

    from .common.errors import ModelFileError
    from .contract import ModelMetadata
    from .graphs import make_runner
    from .providers import CPU, make_session_options

    session = ort.InferenceSession(path, sess_options=make_session_options(1), providers=[CPU])
    if file_stat(path) != tuple(stat):
        raise ModelFileError(f"{path}: the file changed since the model was loaded (load it again)")
    metadata = ModelMetadata.from_props(session.get_modelmeta().custom_metadata_map, where=path)
    return make_runner(session, metadata), metadata.vocab


def _failure(job: int | None, err: Exception) -> tuple:
    """The ("error", ...) message for `err`: a wavenet-edge error by class and text, anything else in one line."""
    from .common.errors import WavenetEdgeError, first_line

    if isinstance(err, WavenetEdgeError):
        return "error", job, type(err).__name__, str(err)
    doing = "could not open the model" if job is None else "failed"
    return "error", job, "", f"worker process {os.getpid()} {doing}: {type(err).__name__}: {first_line(err)}"


class _Cancelled(Exception):
    """The running job was cancelled by the parent."""


class _Worker:
    def __init__(self, conn: Connection, runner, vocab):
        self.conn, self.runner, self.vocab = conn, runner, vocab
        self.pending: collections.deque[tuple] = collections.deque()  # job messages not started
        self.running: int | None = None  # job id being generated

    def handle(self, message: tuple) -> None:
        if message[0] in ("gen", "score"):
            self.pending.append(message)
        elif message[0] == "cancel":
            dropped = set(message[1])
            self.pending = collections.deque(m for m in self.pending if m[1] not in dropped)
            if self.running in dropped:
                raise _Cancelled

    def read_waiting(self) -> None:
        """Handle every message already sent (raises _Cancelled when the running job is dropped)."""
        while self.conn.poll():
            self.handle(self.conn.recv())

    def generate(self, job: int, request, first: int, logprobs: bool) -> None:
        from .generation import generate_chunks

        self.running = job
        names: list[str] = []
        scores: list[float | None] = []
        last = time.perf_counter()
        try:
            chunks = generate_chunks(self.runner, self.vocab, request, logprobs, first=first)
            while True:
                try:
                    chunk = next(chunks, None)
                except Exception as err:  # a bad request, a bug or a broken session: one line, not a hang
                    self.conn.send(_failure(job, err))
                    return
                if chunk is not None:
                    names.extend([item[1] for item in chunk])
                    if logprobs:
                        scores.extend([item[2] for item in chunk])
                now = time.perf_counter()
                if names and (chunk is None or len(names) >= SEND_NAMES or now - last >= SEND_S):
                    self.conn.send(("names", job, names, scores if logprobs else None))
                    names, scores, last = [], [], now
                    self.read_waiting()
                if chunk is None:
                    return
        except _Cancelled:
            return
        finally:
            self.running = None

    def score(self, job: int, items: list[str]) -> None:
        from .scoring import score

        try:
            result = score(self.runner, self.vocab, items)
        except Exception as err:
            self.conn.send(_failure(job, err))
            return
        self.conn.send(("scores", job, result.logprobs))

    def loop(self) -> None:
        while True:
            if not self.pending:
                self.handle(self.conn.recv())
            self.read_waiting()
            if self.pending:
                message = self.pending.popleft()
                if message[0] == "gen":
                    self.generate(*message[1:])
                else:
                    self.score(*message[1:])


def serve(fd: int) -> None:
    """The worker process's main: open the model named by the first message, then work until the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # its own session already: no terminal's Ctrl-C reaches it
    conn = Connection(fd)
    try:
        _, path, stat = conn.recv()
        try:
            runner, vocab = _open(path, stat)
        except Exception as err:
            conn.send(_failure(None, err))
            return
        conn.send(("ready", os.getpid()))
        _Worker(conn, runner, vocab).loop()
    except (EOFError, OSError):  # the parent has gone (or closed the pool): nobody to tell
        return
