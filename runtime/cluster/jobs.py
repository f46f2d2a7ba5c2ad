"""The client side of a cluster job: plan the partitions, check the workers, submit one task per partition,
wait, and finish the output atomically. The client holds no rows and no names: workers write part files
into a hidden staging directory beside the output, and a task returns a few numbers.

    with cluster_client("tcp://10.0.0.5:8786") as client:        # or cluster_client(None, threads=2): local
        score_file(client, "items.csv", "scored.parquet", column="name")
        generate_file(client, "names.txt", 1_000_000, seed=1)

The finish: a directory output is the staging directory renamed into place with a `_SUCCESS` file in it;
a single file is written by streaming the parts in order into a temporary file renamed over the output.
A job that fails, is interrupted or is killed leaves no output (at most a hidden `.NAME.HOST.PID.job`
directory, removed by the next job of the same output on that machine once its process is gone).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.errors import ModelFileError, OutputError, WavenetEdgeError, first_line
from ..common.files import _alive, atomic_path, check_output_path
from ..model import SHIPPED_MODELS
from . import tasks
from .tables import CSV, JSONL, PARQUET, TEXT, assemble, format_of, plan_input

__all__ = ["ClusterError", "JobResult", "ROWS_PER_PARTITION", "cluster_client", "generate_file", "generate_target",
           "prepare_score", "resolve_model", "score_file"]

ROWS_PER_PARTITION = 100_000  # a few seconds of one worker: a kill redoes little, a task's overhead is noise
TOP_UP_PER_PARTITION = 10_000  # names made up for dropped ones: fewer, bigger tasks than the first round's
NO_WORKERS_S = 60.0  # a job whose cluster has had no worker this long fails
SUCCESS = "_SUCCESS"


class ClusterError(WavenetEdgeError):
    """The cluster failed the job through no fault of the input (unreachable scheduler, dead workers)."""

    exit_code = 1


@dataclass(frozen=True)
class JobResult:
    out: str  # what was written: a file, or a directory of part files with _SUCCESS
    rows: int  # rows (score) or names (generate) written
    scored: int  # score: rows with a score; generate: = rows
    partitions: int
    seconds: float


@contextlib.contextmanager
def cluster_client(scheduler: str | None, threads: int = 2, timeout: float = 20.0,
                   quiet: bool = True) -> Iterator[Any]:
    """A dask.distributed Client of the scheduler at `scheduler`, or of a local cluster of `threads` worker
    processes with one thread each; ClusterError in one line when the scheduler cannot be reached or has
    no worker within `timeout` seconds."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:
        raise ClusterError(f"this needs the scale extra ({err.name or 'dask'} not installed): "
                           "pip install 'wavenet-edge[scale]'") from None
    if quiet:  # the client's own warnings (a worker lost, a connection retried) are not the command's output
        names = [name for name in logging.root.manager.loggerDict if name.startswith(("distributed", "tornado"))]
        for name in {"distributed", "tornado", *names}:  # Dask's configuration sets levels on the children too
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if scheduler is None:
        with _main_without_a_missing_file():
            try:
                with _workers_ignore_ctrl_c():
                    cluster = LocalCluster(n_workers=threads, threads_per_worker=1, processes=True,
                                           dashboard_address=":0",  # any free port: never a warning
                                           silence_logs=logging.CRITICAL if quiet else logging.WARNING)
            except Exception as err:
                raise ClusterError(f"cannot start a local cluster of {threads} workers: {first_line(err)}") from None
            with cluster, Client(cluster, set_as_default=False) as client:
                yield client
        return
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as err:  # OSError, TimeoutError, ValueError for a malformed address
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {first_line(err)}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception:
            raise ClusterError(f"the Dask scheduler at {scheduler} has no workers (waited {timeout:g} s)") from None
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start the local cluster's processes with SIGINT ignored (an ignored signal stays ignored in a child):
    Ctrl-C at a terminal reaches the whole process group, and the client, not each worker, answers it
    (cancel, clean up, close the cluster) instead of every worker printing a KeyboardInterrupt traceback.
    A Ctrl-C during these seconds of start-up is lost."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _main_without_a_missing_file() -> Iterator[None]:
    """Worker processes are spawned, and a spawned process runs the parent's __main__ file again first. A
    script read from standard input (`python - < job.py`) names a file that does not exist ("<stdin>"), so
    while the local cluster lives its __main__ is treated as `python -c` code is: not run again."""
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or os.path.isfile(path) or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def resolve_model(onnx_path: str | os.PathLike | None, shipped: str | None = None) -> str:
    """What the workers load: a shipped model's name, or an absolute .onnx path. A relative path is resolved
    here, on the client (a worker's working directory is not the user's), and must exist here."""
    if onnx_path is not None and shipped is not None:
        raise WavenetEdgeError("--onnx and --model both name a model: give one")
    if onnx_path is None:
        return shipped or "default"
    text = os.fspath(onnx_path)
    if text in SHIPPED_MODELS and not os.path.exists(text):
        return text
    path = Path(text).expanduser()
    if not path.is_absolute():
        resolved = path.resolve()
        if not resolved.exists():
            raise ModelFileError(f"{text}: no such file (a relative model path is resolved on the client: "
                                 f"{resolved})")
        return str(resolved)
    return str(path)


@dataclass(frozen=True)
class _Target:
    path: Path  # absolute
    directory: bool
    kind: str


def _target(out: str | os.PathLike, kind: str | None, kinds: Sequence[str], default: str,
            inputs: dict[str, str] | None = None) -> _Target:
    """The output: a directory of part files when `out` ends with a slash, has no suffix or is a directory,
    else a file (for scores, its suffix gives the format; `kind`, when given, must agree)."""
    text = os.fspath(out)
    path = Path(text).expanduser().absolute()
    directory = text.endswith(("/", os.sep)) or path.is_dir() or not path.suffix
    if directory:
        if path.exists() and any(path.iterdir()):
            raise OutputError(f"--out {text}: the directory exists and is not empty; a job writes a new directory "
                              "(remove it or choose another)")
        if not path.parent.is_dir():
            raise OutputError(f"--out {text}: directory {path.parent} does not exist")
        return _Target(path, True, kind or default)
    named = format_of(path) if default in (CSV, PARQUET) else None
    if default in (CSV, PARQUET) and named is None:
        raise OutputError(f"--out {text}: cannot tell the format: end it with .parquet or .csv, or with / for a "
                          "directory of part files")
    chosen = named or kind or default
    if kind is not None and kind != chosen:
        raise OutputError(f"--out {text}: the name says {chosen}, --format says {kind}")
    if chosen not in kinds:
        raise OutputError(f"--out {text}: {chosen} is not an output format here (choose from: {', '.join(kinds)})")
    check_output_path(path, "--out", inputs)
    return _Target(path, False, chosen)


class _Staging:
    """The hidden directory beside the output that the workers write their parts into."""

    def __init__(self, target: _Target):
        self.target = target
        parent, name = target.path.parent, target.path.name
        self.prefix = f".{name}.{os.uname().nodename}."
        self.path = parent / f"{self.prefix}{os.getpid()}.job"

    def create(self) -> None:
        parent = self.path.parent
        with contextlib.suppress(OSError), os.scandir(parent) as entries:  # those of killed jobs on this machine
            for entry in entries:
                pid = entry.name[len(self.prefix):-len(".job")]
                if entry.name.startswith(self.prefix) and entry.name.endswith(".job") and pid.isdigit() \
                        and int(pid) != os.getpid() and not _alive(int(pid)):
                    shutil.rmtree(entry.path, ignore_errors=True)
        try:
            self.path.mkdir()
        except FileExistsError:
            shutil.rmtree(self.path)
            self.path.mkdir()
        except OSError as err:
            raise OutputError(f"--out {self.target.path}: cannot write in {parent}: {err.strerror}") from None

    def finish(self, parts: Sequence[tuple[int, int]], kind: str) -> None:
        if self.target.directory:
            (self.path / SUCCESS).write_bytes(b"")
            with contextlib.suppress(FileNotFoundError):
                self.target.path.rmdir()  # empty (checked before the job)
            os.rename(self.path, self.target.path)
            return
        with atomic_path(self.target.path) as tmp:
            assemble(self.path, parts, kind, tmp)
        self.discard()

    def discard(self) -> None:
        """Remove the staging directory; a worker still writing a part may recreate a file in it: retry."""
        for _ in range(20):
            shutil.rmtree(self.path, ignore_errors=True)
            if not self.path.exists():
                return
            time.sleep(0.1)


def _worker_count(client: Any) -> int:
    return len(client.nthreads())


def _check_workers(client: Any, model: str, provider: str, paths: dict[str, str],
                   options: dict[str, Any] | None = None) -> None:
    """Run tasks.check_worker on every worker: the model loads (into each worker's cache), the paths are there."""
    answers = client.run(tasks.check_worker, model, provider, paths, options)
    for address in sorted(answers):
        if answers[address] is not None:
            raise WavenetEdgeError(answers[address])


def _gather(client: Any, futures: dict[Any, int], label: Callable[[int], str]) -> list[Any]:
    """The results of `futures` (future -> partition), waiting with the cluster watched; on any failure or
    Ctrl-C the job's futures are cancelled and the error raised in one line."""
    from dask.distributed import wait
    from distributed.client import FutureCancelledError

    try:
        from distributed import KilledWorker
    except ImportError:  # older distributed
        from distributed.scheduler import KilledWorker

    results: dict[int, Any] = {}
    pending = set(futures)
    lonely_since: float | None = None
    try:
        while pending:
            try:
                with client.as_current():
                    done, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                part = futures[future]
                if future.status == "finished":
                    results[part] = future.result()
                    continue
                try:
                    future.result()
                except KilledWorker:
                    allowed = _allowed_failures()
                    times = "once" if allowed == 0 else f"{allowed + 1} times"
                    raise ClusterError(f"{label(part)}: the worker running it died, {times} (Dask's "
                                       f"distributed.scheduler.allowed-failures is {allowed}); nothing was "
                                       "written") from None
                except WavenetEdgeError:
                    raise
                except (FutureCancelledError, TimeoutError) as err:
                    raise ClusterError(f"{label(part)} was cancelled on the cluster ({first_line(err)}); "
                                       "nothing was written") from None
                except Exception as err:
                    raise ClusterError(f"{label(part)} failed on a worker: {type(err).__name__}: "
                                       f"{first_line(err)}") from None
            if not done and pending:
                if _worker_count(client):
                    lonely_since = None
                elif lonely_since is None:
                    lonely_since = time.monotonic()
                elif time.monotonic() - lonely_since > NO_WORKERS_S:
                    raise ClusterError(f"the cluster has had no workers for {NO_WORKERS_S:g} s; nothing was written")
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures), force=True)
        raise
    return [results[part] for part in sorted(results)]


def _allowed_failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures", 3))


def _partitions(rows: int, partitions: int | None, client: Any) -> int:
    if partitions is not None:
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise WavenetEdgeError(f"partitions must be a positive integer, got {partitions!r}")
        return partitions
    return max(2 * max(1, _worker_count(client)), math.ceil(rows / ROWS_PER_PARTITION))


def prepare_score(data: str | os.PathLike, out: str | os.PathLike, column: str = "name",
                  fmt: str | None = None) -> tuple[Any, _Target]:
    """The input's plan and the output, checked before any cluster work (bad input: one line)."""
    source = Path(os.fspath(data)).expanduser().absolute()
    plan = plan_input(source, column)
    return plan, _target(out, fmt, (CSV, PARQUET), PARQUET, {"--data": str(source)})


def score_file(client: Any, data: str | os.PathLike, out: str | os.PathLike, column: str = "name",
               model: str = "default", provider: str = "auto", partitions: int | None = None,
               fmt: str | None = None, prepared: tuple[Any, _Target] | None = None) -> JobResult:
    """Score `column` of the CSV or Parquet file `data` on the cluster of `client`, writing every row with
    logprob, nll_per_char and unscored beside it to `out` (a .parquet or .csv file, or a directory of part
    files: `fmt` parquet by default). Scores equal WavenetModel.score's; see tables.py for the string rules.
    prepared: prepare_score's answer for the same arguments, when already made."""
    started = time.perf_counter()
    plan, target = prepared or prepare_score(data, out, column, fmt)
    model = resolve_model(model) if model not in SHIPPED_MODELS else model
    pieces = plan.slices(_partitions(plan.rows, partitions, client))
    staging = _Staging(target)
    staging.create()
    try:
        _check_workers(client, model, provider, {"input": plan.path, "output's staging directory": str(staging.path)})
        job = uuid.uuid4().hex[:8]
        futures = {client.submit(tasks.score_part, piece, column, model, provider, str(staging.path), target.kind,
                                 key=f"wn-score-{job}-{piece.index}", pure=False): piece.index for piece in pieces}
        results = _gather(client, futures, lambda i: f"partition {i}")
        staging.finish([(index, header) for index, _, _, header in results], target.kind)
    except BaseException:
        staging.discard()
        raise
    return JobResult(str(target.path), sum(r[1] for r in results), sum(r[2] for r in results), len(pieces),
                     time.perf_counter() - started)


def generate_file(client: Any, out: str | os.PathLike, n: int, seed: int, model: str = "default",
                  provider: str = "auto", partitions: int | None = None, fmt: str | None = None,
                  **options: Any) -> JobResult:
    """wn-generate -n N --seed S's names (options: temperature, top_k, top_p, prefix, max_len, batch_size) to
    `out`: a file holding exactly wn-generate's output (fmt text or jsonl), or a directory of part files
    whose concatenation in name order is that output. Ranges of the seed's names are drawn on the workers;
    the names dropped (empty, over max_len) are made up from the following indices, as wn-generate does."""
    from ..constraints import default_budget

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise WavenetEdgeError(f"-n must be a positive integer, got {n!r}")
    started = time.perf_counter()
    target = generate_target(out, fmt)
    model = resolve_model(model) if model not in SHIPPED_MODELS else model
    parts = _partitions(n, partitions, client)
    staging = _Staging(target)
    staging.create()
    written: list[tuple[int, int]] = []  # (part, names)
    try:
        _check_workers(client, model, provider, {"output's staging directory": str(staging.path)},
                       {"seed": seed, **options})
        job = uuid.uuid4().hex[:8]
        found = drawn = 0
        budget = default_budget(n)
        while found < n:
            if drawn >= budget:
                raise WavenetEdgeError(f"only {found} of {n} names after {drawn} draws: too few names within "
                                       "max_len")
            want = min(n - found, budget - drawn)
            split = parts if not written else max(1, min(parts, want // TOP_UP_PER_PARTITION))  # a few dropped
            bounds = _ranges(drawn, want, min(split, want))
            first = len(written)
            futures = {client.submit(tasks.generate_part, first + i, a, c, seed, model, provider, str(staging.path),
                                     target.kind, options, key=f"wn-generate-{job}-{first + i}", pure=False): first + i
                       for i, (a, c) in enumerate(bounds)}
            results = _gather(client, futures, lambda i: f"names part {i}")
            written.extend(results)
            found += sum(count for _, count in results)
            drawn += want
        staging.finish([(index, 0) for index, _ in written], target.kind)
    except BaseException:
        staging.discard()
        raise
    return JobResult(str(target.path), found, found, len(written), time.perf_counter() - started)


def generate_target(out: str | os.PathLike, fmt: str | None = None) -> _Target:
    """generate_file's output, checked before any cluster work."""
    return _target(out, fmt, (TEXT, JSONL), fmt or TEXT)


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
