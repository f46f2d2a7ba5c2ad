"""Exact top-k completions of a prefix: the k most probable complete names (end token included) that
start with it, best first, by a best-first search over the graph.

    completions = complete(runner, vocab, "ka", k=10)    # [(name, probability), ...], most probable first

Why exact: a name's probability is a product of per-character probabilities (each <= 1), so extending a
partial name never makes it more probable. A max-heap of partial and complete names, keyed by
probability, pops a complete name only when nothing left in it, nor anything still to be expanded from
it, can beat that name: the popped complete names are the true top k in order (Dijkstra's argument;
Russell & Norvig's uniform-cost search with costs -log p). Each round pops the best open (partial)
names at the top of the heap, up to EXPAND_PER_ROUND of them, and computes all their children with one
graph call; extra nodes expanded that way cost time, never exactness.

Ties: equal log-probabilities (float64) are ordered by the name's text (Python string order, which is
code point order), so the JS runtime (js/src/complete.js) lists the same names in the same order.

Bounded: at most `max_nodes` partial names are expanded (CompletionError names how many completions
were found by then); memory is one state per expanded node plus the heap, growing with the frontier, not
with max_len. Names longer than `max_len` characters are not considered (they are not completions the
model was trained to give), nor is the empty name (the model ending at once; wn-generate skips it too).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from .common.errors import WavenetEdgeError
from .generation import encode_prefix
from .graphs import GraphRunner
from .sampling import log_softmax
from .vocab import BOUNDARY_ID, Vocab

__all__ = ["DEFAULT_MAX_NODES", "EXPAND_PER_ROUND", "Completion", "CompletionError", "complete"]

DEFAULT_MAX_NODES = 20_000  # partial names expanded before giving up
EXPAND_PER_ROUND = 64  # open nodes expanded per graph call
MAX_K = 1000


class CompletionError(WavenetEdgeError):
    """The search hit its node budget before finding k completions."""


@dataclass(frozen=True)
class Completion:
    name: str
    probability: float  # p(name followed by the end token | the boundary) under the model, temperature 1
    logprob: float


def _check(k: object, max_nodes: object, max_len: object) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise WavenetEdgeError(f"k must be an integer in 1..{MAX_K}, got {k!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, (int, np.integer)) or not 1 <= max_nodes <= 10_000_000:
        raise WavenetEdgeError(f"max-nodes must be an integer in 1..10000000, got {max_nodes!r}")
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
        raise WavenetEdgeError(f"max-len must be a positive integer, got {max_len!r}")


def complete(runner: GraphRunner, vocab: Vocab, prefix: str, k: int = 10, max_len: int = 32,
             max_nodes: int = DEFAULT_MAX_NODES) -> list[Completion]:
    """The k most probable complete names that start with `prefix` (at most `max_len` characters), most
    probable first, ties by name. Fewer than k when fewer such names exist (e.g. a prefix as long as
    max_len has one completion: itself)."""
    _check(k, max_nodes, max_len)
    ids = encode_prefix(vocab, prefix)
    if len(ids) > max_len:
        raise WavenetEdgeError(f"max-len {max_len} is below the length of prefix {prefix!r} ({len(ids)})")
    chars = vocab.chars
    # the prefix itself: log p(prefix) and the state with every prefix token but the last consumed
    state = runner.initial_state(1)  # [1, ...]
    token, logprob = BOUNDARY_ID, 0.0
    for char in ids:
        logits, state = runner.advance(state, np.array([token], dtype=np.int64))
        logprob += float(log_softmax(logits)[0, char])
        token = char
    # heap entries: (-logprob, text, open, node); an open node is (state index, last token); a complete one None
    states: list[np.ndarray] = [state[0]]  # [S] (or the window [R]) before each open node's last token
    heap: list[tuple[float, str, bool, tuple[int, int] | None]] = [(-logprob, prefix, True, (0, token))]
    results: list[Completion] = []
    expanded = 0
    while heap and len(results) < k:
        if not heap[0][2]:  # a complete name at the top: nothing left can beat it
            neg, text, _, _ = heapq.heappop(heap)
            results.append(Completion(text, math.exp(-neg), float(-neg)))  # a Python float, not numpy's
            continue
        batch: list[tuple[float, str, bool, tuple[int, int] | None]] = []
        while heap and heap[0][2] and len(batch) < EXPAND_PER_ROUND:
            batch.append(heapq.heappop(heap))
        if expanded + len(batch) > max_nodes:
            raise CompletionError(
                f"complete: gave up after expanding {expanded} partial names ({len(results)} of {k} completions "
                f"found for prefix {prefix!r}); raise max-nodes, or ask for fewer"
            )
        expanded += len(batch)
        nodes = [cast("tuple[int, int]", node) for _, _, _, node in batch]  # open nodes: (state, last token)
        before = np.stack([states[state] for state, _ in nodes])  # [n, S]
        tokens = np.array([token for _, token in nodes], dtype=np.int64)  # [n]
        logits, after = runner.advance(before, tokens)  # [n, V], [n, S]
        logp = log_softmax(logits)  # [n, V] float64
        for row, (neg, text, _, _) in enumerate(batch):
            if text:  # the name ends here (the empty name is no name, as for wn-generate)
                heapq.heappush(heap, (neg - logp[row, BOUNDARY_ID], text, False, None))
            if len(text) >= max_len:
                continue
            index = len(states)
            states.append(after[row])
            for char in range(1, logp.shape[1]):
                heapq.heappush(heap, (neg - logp[row, char], text + chars[char - 1], True, (index, char)))
    return results
