"""What a Dask worker runs: score one partition or generate one range of a seed's names, writing the result
to the job's directory itself and returning a few numbers (never the rows or names).

Tasks are functions of this importable module, never of a script's __main__: Dask pickles those by value,
with a fresh copy of their globals each time, so the per-process model cache below would be lost and the
model loaded for every task.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ..common.errors import DataError, WavenetEdgeError, first_line
from ..model import SHIPPED_MODELS, WavenetModel
from .tables import JSONL, TEXT, Slice, cell_items, column_values, part_name, read_slice, write_bytes_atomic, write_part

__all__ = ["ModelUnavailable", "check_worker", "generate_part", "load_cached", "loads", "score_part", "score_rows"]

_MODELS: dict[tuple[str, str, int, int], WavenetModel] = {}  # per process: (model, provider, mtime, size) -> model
_LOADS: dict[str, int] = {}  # per process: model -> times loaded (tests check that it is once)


class ModelUnavailable(WavenetEdgeError):
    """A worker cannot open the model file (the message names the worker and the path it tried)."""


def _worker_name(worker: Any = None) -> str:
    if worker is not None:
        return worker.address
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()} on {os.uname().nodename}"


def _free_memory_as_usual() -> None:
    """Undo, in this worker process, the MALLOC_TRIM_THRESHOLD_ that Dask's nanny sets for its workers.
    Setting it also freezes glibc's mmap threshold at 128 KiB, so every array of a scoring or generation step
    above that is mapped and unmapped anew: twice the CPU time for the same work. The thresholds set here
    are the ones glibc's own adjustment reaches (32 MiB, and twice that for trimming)."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to undo
        pass


def load_cached(model: str = "default", provider: str = "cpu") -> WavenetModel:
    """The model named `model` (a shipped name or an .onnx path), loaded once per process and reloaded only
    when its file changes; one ONNX Runtime thread (a Dask worker runs one task per thread)."""
    stamp = (0, 0)
    if model not in SHIPPED_MODELS:
        try:
            info = os.stat(model)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            pass  # the load names the problem
    key = (str(model), provider, *stamp)
    if key not in _MODELS:
        if not _MODELS and not _LOADS:
            _free_memory_as_usual()
        for old in [k for k in _MODELS if k[:2] == key[:2]]:
            del _MODELS[old]
        if model in SHIPPED_MODELS:
            _MODELS[key] = WavenetModel.load_shipped(model, provider=provider, threads=1)
        else:
            _MODELS[key] = WavenetModel.load(Path(model), provider=provider, threads=1)
        _LOADS[str(model)] = _LOADS.get(str(model), 0) + 1
    return _MODELS[key]


def loads(model: str) -> int:
    """How many times this process has loaded `model` (Client.run(loads, path) asks every worker)."""
    return _LOADS.get(str(model), 0)


def _model_on_worker(model: str, provider: str, worker: Any = None) -> WavenetModel:
    try:
        return load_cached(model, provider)
    except WavenetEdgeError as err:
        raise ModelUnavailable(f"worker {_worker_name(worker)} cannot open the model: {first_line(err)}") from None


def check_worker(model: str, provider: str, paths: dict[str, str], options: dict[str, Any] | None = None,
                 dask_worker: Any = None) -> str | None:
    """Run on every worker before a job (Client.run): load the model into this process's cache, check that
    the paths the job reads or writes are there and, for generation, draw one name with `options` (seed and
    sampling: a bad prefix or max_len is found before the job). None, or what is wrong, in one line.
    dask_worker: the worker, which Client.run passes."""
    try:
        loaded = _model_on_worker(model, provider, dask_worker)
        if options is not None:
            loaded.draw_range(0, 1, **options)
    except (WavenetEdgeError, ValueError) as err:
        return first_line(err)
    for what, path in paths.items():
        if not os.path.exists(path):
            return (f"worker {_worker_name(dask_worker)} cannot see the {what} {path} (every worker must see the "
                    "input and the output's directory at the same path: a shared file system)")
    return None


def score_rows(values: list[Any], model: WavenetModel) -> dict[str, Any]:
    """logprob, nll_per_char (NaN where not scored) and unscored (None or the reason) for the cells `values`."""
    import numpy as np

    meta = model.metadata
    items, reasons = cell_items(values, meta.vocab.unknown_chars, meta.config.max_len)
    good = [i for i, reason in enumerate(reasons) if reason is None]
    logprob = np.full(len(items), np.nan)
    if good:
        logprob[good] = model.score([items[i] for i in good]).logprobs
    chars = np.fromiter((len(item) + 1 for item in items), dtype=np.float64, count=len(items))
    return {"logprob": logprob, "nll_per_char": -logprob / chars, "unscored": reasons}


def score_part(piece: Slice, column: str, model: str, provider: str, directory: str, kind: str) -> tuple[int, ...]:
    """Score the rows of `piece` and write them with their scores as part piece.index of `directory`;
    return (index, rows, rows scored, bytes of the part's CSV header)."""
    loaded = _model_on_worker(model, provider)
    try:
        rows = read_slice(piece, column)
    except (ValueError, UnicodeDecodeError) as err:  # pandas' ParserError is a ValueError
        raise DataError(f"{piece.path}: rows {piece.start + 1} to {piece.start + piece.rows}: cannot read them: "
                        f"{first_line(err)}") from None
    scores = score_rows(column_values(rows, column), loaded)
    header_len = write_part(rows, scores, Path(directory), piece.index, kind)
    scored = sum(reason is None for reason in scores["unscored"])
    return piece.index, len(scores["unscored"]), scored, header_len


def generate_part(index: int, start: int, count: int, seed: int, model: str, provider: str, directory: str,
                  kind: str, options: dict[str, Any]) -> tuple[int, int]:
    """The seed's names start .. start + count - 1 that wn-generate prints (not empty, within max_len), one a
    line (text) or as wn-generate --format jsonl writes them, as part `index` of `directory`; return (index,
    names written)."""
    loaded = _model_on_worker(model, provider)
    drawn = loaded.draw_range(start, count, seed=seed, **options)
    if kind == JSONL:
        lines = [json.dumps({"name": name, "logprob": round(logprob, 6)}, ensure_ascii=False) + "\n"
                 for _, name, logprob in drawn if name]
    else:
        lines = [name + "\n" for _, name, _ in drawn if name]
    write_bytes_atomic(Path(directory), part_name(index, TEXT if kind == TEXT else JSONL), "".join(lines).encode())
    return index, len(lines)
