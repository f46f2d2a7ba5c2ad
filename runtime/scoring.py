"""Log-probabilities of given items under an exported model: mean NLL per character, ONNX Runtime only.

    result = score(runner, vocab, ["emma", "olivia"])
    result.nll_per_char, result.logprobs

Every item is scored as boundary, its characters, boundary: the targets are its characters and the end
token, each predicted from everything before it (a left context of boundary tokens). Log-softmax and
all sums are float64. Step graphs run over length-sorted, padded batches that shrink as items end;
window graphs get all the windows of a batch of items in one call. Memory is bounded by the batch, not by
the longest item: a step batch gathers its inputs SEGMENT steps at a time, and an item with more than
WINDOW_BATCH windows is scored alone, WINDOW_BATCH windows at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from .common.errors import VocabError, WavenetEdgeError
from .graphs import GraphRunner, WindowRunner
from .sampling import log_softmax
from .vocab import BOUNDARY_ID, Vocab

__all__ = ["ScoreResult", "encode_items", "score", "summarize"]

STEP_BATCH = 1024  # items per step-graph batch
SEGMENT = 256  # step-graph steps whose inputs are gathered at once (items are scored in pieces this long)
WINDOW_BATCH = 8192  # windows per window-graph call


@dataclass(frozen=True)
class ScoreResult:
    logprobs: list[float]  # log p(item followed by the end token), one per item, in input order
    nll_per_char: float  # -sum(logprobs) / n_chars
    n_items: int
    n_chars: int  # targets: characters plus one end token per item


def encode_items(vocab: Vocab, items: Sequence[str]) -> list[list[int]]:
    """Token ids of every item; WavenetEdgeError names the first item (1-based) the model cannot encode."""
    encoded = []
    for number, item in enumerate(items, start=1):
        try:
            encoded.append(vocab.encode(item))
        except VocabError as err:
            raise WavenetEdgeError(f"item {number} {item!r}: {err}") from None
    return encoded


def _segment(seq: list[int], start: int, count: int) -> tuple[list[int], list[int]]:
    """Inputs and targets of steps start .. start + count - 1 of an item with ids `seq`: step t feeds
    boundary (t = 0) or seq[t - 1], and predicts seq[t] or, at t = len(seq), the end token."""
    inputs = ([BOUNDARY_ID] + seq[:count - 1]) if start == 0 else seq[start - 1:start - 1 + count]
    targets = seq[start:start + count]
    return inputs, targets + [BOUNDARY_ID] * (count - len(targets))


Job = Callable[[GraphRunner, np.ndarray], None]  # job(runner, logprobs): fills the log-probabilities of its items


def _step_jobs(encoded: list[list[int]]) -> list[Job]:
    """One job per batch of STEP_BATCH items of similar length."""
    lengths = np.array([len(ids) for ids in encoded], dtype=np.intp)
    order = np.argsort(-lengths, kind="stable")  # longest first: the rows still running are a prefix
    chunks = [order[start:start + STEP_BATCH] for start in range(0, len(order), STEP_BATCH)]
    return [partial(_score_step_batch, encoded, chunk, lengths[chunk]) for chunk in chunks]


def _score_step_batch(encoded: list[list[int]], chunk: np.ndarray, n: np.ndarray, runner: GraphRunner,
                      logprobs: np.ndarray) -> None:
    """Items `chunk` (n [b] characters each, descending) as one batch of rows that shrinks as items end."""
    steps = int(n[0]) + 1
    state = runner.initial_state(len(chunk))
    total = np.zeros(len(chunk))
    for first in range(0, steps, SEGMENT):  # inputs of SEGMENT steps at a time: memory bounded by the batch
        last = min(first + SEGMENT, steps)
        running = np.searchsorted(-n, -np.arange(first, last), side="right")  # [L] rows with n + 1 > t
        inputs = np.zeros((int(running[0]), last - first), dtype=np.int64)  # [k, L]: padding is boundary
        targets = np.zeros_like(inputs)  # [k, L]
        for row, item in enumerate(chunk[:len(inputs)].tolist()):
            count = min(last, int(n[row]) + 1) - first
            inputs[row, :count], targets[row, :count] = _segment(encoded[item], first, count)
        for t in range(last - first):
            k = int(running[t])
            logits, state = runner.advance(state[:k], inputs[:k, t])
            total[:k] += log_softmax(logits)[np.arange(k), targets[:k, t]]
    logprobs[chunk] = total


def _score_long_window_item(ids: list[int], index: int, runner: WindowRunner, logprobs: np.ndarray) -> None:
    """log p(item + end token) of one item with more targets than a window batch, WINDOW_BATCH at a time."""
    field = runner.field
    padded = np.zeros(field + len(ids) + 1, dtype=np.int64)  # boundary^R, ids, end token
    padded[field:field + len(ids)] = ids
    total = 0.0
    for first in range(0, len(ids) + 1, WINDOW_BATCH):
        last = min(first + WINDOW_BATCH, len(ids) + 1)
        windows = np.lib.stride_tricks.sliding_window_view(padded[first:last + field - 1], field)  # [L, R]
        logits = runner.logits(np.ascontiguousarray(windows))  # [L, V]
        total += float(log_softmax(logits)[np.arange(last - first), padded[field + first:field + last]].sum())
    logprobs[index] = total


def _score_window_batch(encoded: list[list[int]], start: int, stop: int, runner: WindowRunner,
                        logprobs: np.ndarray) -> None:
    """Items start..stop-1: all their windows in one call."""
    field = runner.field
    chunk = encoded[start:stop]
    n = np.array([len(ids) for ids in chunk], dtype=np.intp)  # [b]
    width = int(n.max()) + 1  # targets per item, padded
    padded = np.full((len(chunk), field + width), BOUNDARY_ID, dtype=np.int64)  # [b, R + T]
    for row, ids in enumerate(chunk):
        padded[row, field:field + len(ids)] = ids
    all_windows = np.lib.stride_tricks.sliding_window_view(padded, field, axis=1)[:, :width]  # [b, T, R]
    targets = padded[:, field:field + width]  # [b, T]: chars, then boundary = end token
    valid = np.arange(width)[None, :] <= n[:, None]  # [b, T]
    logits = runner.logits(np.ascontiguousarray(all_windows[valid]))  # [N, V]
    chosen = log_softmax(logits)[np.arange(len(logits)), targets[valid]]  # [N]
    owner = np.broadcast_to(np.arange(len(chunk))[:, None], valid.shape)[valid]  # [N] item of each window
    logprobs[start:stop] = np.bincount(owner, weights=chosen, minlength=len(chunk))


def _window_jobs(encoded: list[list[int]]) -> list[Job]:
    """Consecutive items with at most WINDOW_BATCH windows in all per job; a longer item is a job of its own."""
    jobs: list[Job] = []
    start = 0
    while start < len(encoded):
        if len(encoded[start]) + 1 > WINDOW_BATCH:  # a long item on its own, in bounded pieces
            jobs.append(partial(_score_long_window_item, encoded[start], start))
            start += 1
            continue
        stop, windows = start, 0
        while stop < len(encoded) and windows + len(encoded[stop]) + 1 <= WINDOW_BATCH:
            windows += len(encoded[stop]) + 1
            stop += 1
        jobs.append(partial(_score_window_batch, encoded, start, stop))
        start = stop
    return jobs


def _run_jobs(jobs: list[Job], runners: Sequence[GraphRunner], logprobs: np.ndarray) -> None:
    """Every job once, on len(runners) threads (one runner each); jobs write disjoint entries of logprobs."""
    workers = min(len(runners), len(jobs))
    if workers <= 1:
        for job in jobs:
            job(runners[0], logprobs)
        return
    pending = iter(jobs)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(runner: GraphRunner) -> None:
        while not errors:
            with lock:
                job = next(pending, None)
            if job is None:
                return
            try:
                job(runner, logprobs)
            except BaseException as err:  # raised again by the caller
                errors.append(err)

    threads = [threading.Thread(target=work, args=(runner,), daemon=True) for runner in runners[:workers]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def score(runners: GraphRunner | Sequence[GraphRunner], vocab: Vocab, items: Sequence[str]) -> ScoreResult:
    """Score `items` (strings of the model's characters) with the model behind `runners` (one per thread:
    batches of items are spread over them; each item's number does not depend on how many)."""
    runners = [runners] if isinstance(runners, GraphRunner) else list(runners)
    items = list(items)
    if not items:
        raise WavenetEdgeError("nothing to score: no items")
    encoded = encode_items(vocab, items)
    logprobs = np.zeros(len(encoded))
    jobs = _window_jobs(encoded) if isinstance(runners[0], WindowRunner) else _step_jobs(encoded)
    _run_jobs(jobs, runners, logprobs)
    return summarize(encoded, logprobs)


def summarize(encoded: Sequence[Sequence[int]], logprobs: Sequence[float] | np.ndarray) -> ScoreResult:
    """The ScoreResult of items with token ids `encoded` and log-probabilities `logprobs` (in the same order;
    worker processes send their blocks' values, merged here as one process's)."""
    values = np.asarray(logprobs, dtype=np.float64)
    n_chars = sum(len(ids) + 1 for ids in encoded)
    return ScoreResult(logprobs=[float(x) for x in values], nll_per_char=float(-values.sum() / n_chars),
                       n_items=len(encoded), n_chars=n_chars)
