"""Log-probabilities of given items under an exported model: mean NLL per character, ONNX Runtime only.

    result = score(runner, vocab, ["emma", "olivia"])
    result.nll_per_char, result.logprobs

Every item is scored as boundary, its characters, boundary: the targets are its characters and the end
token, each predicted from everything before it (a left context of boundary tokens). Log-softmax and
all sums are float64. Step graphs run over length-sorted, padded batches that shrink as items end;
window graphs get all the windows of a batch of items in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .common.errors import VocabError, WavenetEdgeError
from .graphs import GraphRunner, WindowRunner
from .sampling import log_softmax
from .vocab import BOUNDARY_ID, Vocab

__all__ = ["ScoreResult", "encode_items", "score"]

STEP_BATCH = 1024  # items per step-graph batch
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


def _score_step(runner: GraphRunner, encoded: list[list[int]]) -> np.ndarray:
    lengths = np.array([len(ids) for ids in encoded], dtype=np.intp)
    order = np.argsort(-lengths, kind="stable")  # longest first: the rows still running are a prefix
    logprobs = np.zeros(len(encoded))
    for start in range(0, len(order), STEP_BATCH):
        chunk = order[start:start + STEP_BATCH]
        n = lengths[chunk]  # [b], descending
        steps = int(n[0]) + 1
        inputs = np.zeros((len(chunk), steps), dtype=np.int64)  # [b, T]: boundary, chars, padding
        targets = np.zeros((len(chunk), steps), dtype=np.int64)  # [b, T]: chars, end token, padding
        for row, item in enumerate(chunk.tolist()):
            inputs[row, 1:n[row] + 1] = encoded[item]
            targets[row, :n[row]] = encoded[item]
        running = np.searchsorted(-n, -np.arange(steps), side="right")  # [T] rows with n + 1 > t
        state = runner.initial_state(len(chunk))
        total = np.zeros(len(chunk))
        for t in range(steps):
            k = int(running[t])
            logits, state = runner.advance(state[:k], inputs[:k, t])
            total[:k] += log_softmax(logits)[np.arange(k), targets[:k, t]]
        logprobs[chunk] = total
    return logprobs


def _score_windows(runner: WindowRunner, encoded: list[list[int]]) -> np.ndarray:
    field = runner.field
    logprobs = np.zeros(len(encoded))
    start = 0
    while start < len(encoded):
        stop, windows = start, 0
        while stop < len(encoded) and (stop == start or windows + len(encoded[stop]) + 1 <= WINDOW_BATCH):
            windows += len(encoded[stop]) + 1
            stop += 1
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
        start = stop
    return logprobs


def score(runner: GraphRunner, vocab: Vocab, items: Sequence[str]) -> ScoreResult:
    """Score `items` (strings of the model's characters) with the model behind `runner`."""
    items = list(items)
    if not items:
        raise WavenetEdgeError("nothing to score: no items")
    encoded = encode_items(vocab, items)
    if isinstance(runner, WindowRunner):
        logprobs = _score_windows(runner, encoded)
    else:
        logprobs = _score_step(runner, encoded)
    n_chars = sum(len(ids) + 1 for ids in encoded)
    return ScoreResult(logprobs=[float(x) for x in logprobs], nll_per_char=float(-logprobs.sum() / n_chars),
                       n_items=len(items), n_chars=n_chars)
