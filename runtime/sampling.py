"""Sampling the next token of many rows at once, with a counter-based random source (numpy only).

Random numbers come from SplitMix64 (Steele, Lea & Flood 2014) keyed by (seed, name index, position):
the uniform that decides character `pos` of name `i` depends on nothing else, so the same seed gives
the same names whatever the batch size, the order rows finish in, or how many names are asked for.

    keys = row_keys(seed, np.arange(4, dtype=np.uint64))      # [4] one stream per name
    u = stream_uniforms(keys, 33)                             # [4, 33] in (0, 1]
    sampler = Sampler(SamplingParams(temperature=0.8, top_k=10))
    tokens = np.empty(4, dtype=np.int64)
    logp = sampler(logits, u[:, :1], tokens)                  # tokens written in place; logp [4] float64
    draw = sampler.row_sampler(logits.shape[1])               # one row at a time: the same draws, less overhead
    token, logp = draw(logits[:1], u[0, 0], True)

Order of operations: logits / temperature -> top-k mask -> softmax -> top-p (nucleus) mask ->
inverse-CDF draw. `logp` is always the log-probability of the chosen token under the model's own
distribution (temperature 1, no truncation), so a name's log-probability does not depend on how it
was sampled and equals what `score` reports for it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .common.errors import WavenetEdgeError

__all__ = ["BLOCK_ROWS", "BlockSampler", "RowUniforms", "Sampler", "SamplingParams", "log_softmax", "row_keys",
           "splitmix64", "stream_uniforms", "token_logprobs"]

BLOCK_ROWS = 8_192  # BlockSampler: rows per thread's block (below 2 blocks' worth a batch is sampled in one call)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_MASK64 = (1 << 64) - 1


def splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def row_keys(seed: int, index: np.ndarray) -> np.ndarray:
    """[N] uint64 starting points of the random streams of names `index` (uint64 [N]) under `seed`."""
    seed_key = np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _MASK64)
    with np.errstate(over="ignore"):
        base = splitmix64(np.asarray(index, dtype=np.uint64) * _GOLDEN + seed_key)
        return splitmix64(base ^ seed_key)


def stream_uniforms(keys: np.ndarray, length: int, start: int = 0) -> np.ndarray:
    """[N, length] float64 uniforms in (0, 1]: element (r, p) is draw start + p of stream keys[r]."""
    steps = np.arange(start + 1, start + length + 1, dtype=np.uint64) * _GOLDEN  # [length]
    with np.errstate(over="ignore"):
        z = splitmix64(keys[:, None] + steps[None, :])  # [N, length]
    return ((z >> _S11) + np.uint64(1)).astype(np.float64) * (1.0 / (1 << 53))


class RowUniforms:
    """The uniform of every row's next position, one step at a time: [B] counters, no per-limit buffer.

        draws = RowUniforms(width)
        draws.start(slots, row_keys(seed, names))    # rows `slots` begin names `names` at position 0
        u = draws.next()                             # [B, 1]: draw p of each row's stream; p advances by 1

    Row r at position p gets stream_uniforms(keys[r], p + 1)[p]: the same numbers as drawing a whole name
    up front, computed as they are needed (memory grows with the batch, not with max-len)."""

    def __init__(self, width: int):
        self._counter = np.zeros(width, dtype=np.uint64)  # [B] key + (p + 1) * golden of each row's next draw
        self._z = np.empty(width, dtype=np.uint64)  # [B] scratch
        self._u = np.empty((width, 1))  # [B, 1] float64 out

    def start(self, slots: np.ndarray, keys: np.ndarray) -> None:
        with np.errstate(over="ignore"):
            self._counter[slots] = keys + _GOLDEN

    def keep(self, mask: np.ndarray) -> None:
        self._counter = self._counter[mask]
        self._z, self._u = np.empty_like(self._counter), np.empty((len(self._counter), 1))

    def next(self) -> np.ndarray:
        """[B, 1] float64 in (0, 1]: each row's draw at its current position; then every position advances."""
        z, c = self._z, self._counter
        with np.errstate(over="ignore"):
            np.right_shift(c, _S30, out=z)  # splitmix64(c), in place on the scratch buffer
            z ^= c
            z *= _M1
            z ^= z >> _S27
            z *= _M2
            z ^= z >> _S31
            z >>= _S11
            z += np.uint64(1)
            c += _GOLDEN
        np.multiply(z, 1.0 / (1 << 53), out=self._u[:, 0])
        return self._u


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen; validated on construction (WavenetEdgeError names the bad value)."""

    temperature: float = 1.0
    top_k: int | None = None  # keep the k most likely tokens; 1 is greedy argmax
    top_p: float | None = None  # keep the smallest set of most likely tokens whose mass reaches top_p

    def __post_init__(self) -> None:
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) \
                or not np.isfinite(self.temperature) or self.temperature <= 0:
            raise WavenetEdgeError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, (int, np.integer))
                                       or self.top_k < 1):
            raise WavenetEdgeError(f"top-k must be an integer >= 1, got {self.top_k}")
        if self.top_p is not None and (isinstance(self.top_p, bool) or not isinstance(self.top_p, (int, float))
                                       or not 0.0 < self.top_p <= 1.0):
            raise WavenetEdgeError(f"top-p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.top_k == 1

    @property
    def plain(self) -> bool:
        """Sampling from the model's own distribution: temperature 1, no truncation."""
        return self.temperature == 1.0 and self.top_k is None and (self.top_p is None or self.top_p == 1.0)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """[B, V] float64 log-probabilities of [B, V] logits, computed in float64."""
    x = np.subtract(logits, logits.max(axis=1, keepdims=True), dtype=np.float64)
    x -= np.log(np.exp(x).sum(axis=1, keepdims=True))
    return x


def token_logprobs(logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """[B] float64 log-probability of tokens [B] under [B, V] logits at temperature 1."""
    return log_softmax(logits)[np.arange(len(tokens)), tokens]


class Sampler:
    """Draws one token per row: `sampler(logits [B, V], u [B, 1] in (0, 1], out [B] int64)`.

    The token is the first index whose cumulative weight reaches u * total weight (inverse CDF): u > 0,
    so a zero-weight token is never chosen, and u <= 1 keeps it below V. Each row's token depends only
    on its own logits and uniform. Returns the tokens' log-probabilities under the model at temperature 1
    ([B] float64) when called with logprobs=True, else None.
    """

    def __init__(self, params: SamplingParams):
        self.params = params
        self._greedy = params.greedy
        self._plain = params.plain
        self._temperature = float(params.temperature)
        self._top_k = params.top_k
        self._top_p = params.top_p if params.top_p is not None and params.top_p < 1.0 else None

    def __call__(self, logits: np.ndarray, u: np.ndarray, out: np.ndarray,
                 logprobs: bool = False) -> np.ndarray | None:
        if self._greedy:
            logits.argmax(axis=1, out=out)
            return token_logprobs(logits, out) if logprobs else None
        if self._plain:
            return self._plain_draw(logits, u, out, logprobs)
        x = np.subtract(logits, np.maximum.reduce(logits, axis=1, keepdims=True), dtype=np.float64)  # max 0
        if self._temperature != 1.0:
            x /= self._temperature
        if self._top_k is not None and self._top_k < x.shape[1]:
            kth = -np.partition(-x, self._top_k - 1, axis=1)[:, self._top_k - 1:self._top_k]  # [B, 1]
            x[x < kth] = -np.inf  # ties with the k-th logit are kept
        weights = np.exp(x)  # [B, V]
        if self._top_p is not None:
            order = np.argsort(-weights, axis=1, kind="stable")  # [B, V] most likely first
            ranked = np.take_along_axis(weights, order, axis=1)
            ranked /= ranked.sum(axis=1, keepdims=True)
            before = np.cumsum(ranked, axis=1) - ranked  # mass of the more likely tokens
            keep = np.zeros(weights.shape, dtype=bool)
            np.put_along_axis(keep, order, before < self._top_p, axis=1)  # the top token is always kept
            weights[~keep] = 0.0
        cdf = np.add.accumulate(weights, axis=1)  # [B, V]
        np.greater_equal(cdf, cdf[:, -1:] * u).argmax(axis=1, out=out)
        return token_logprobs(logits, out) if logprobs else None

    def row_sampler(self, vocab_size: int) -> Callable[[np.ndarray, float, bool], tuple[int, float | None]]:
        """`draw(logits [1, V], u, logprobs) -> (token, its log-probability or None)` for one row.

        The same token and log-probability as `__call__` on that row (the same float64 operations in the
        same order), with as few numpy calls as possible: the batch-1 generation loop spends most of its
        Python time here. `draw` owns a [1, V] float64 buffer, so keep one per loop."""
        cdf = np.empty((1, vocab_size))  # [1, V] float64
        row = cdf[0]
        exp, accumulate, searchsorted, log = np.exp, np.add.accumulate, row.searchsorted, np.log
        plain, general = self._plain, self.__call__

        def draw(logits: np.ndarray, u: float, logprobs: bool = False) -> tuple[int, float | None]:
            if plain:
                exp(logits, out=cdf, dtype=np.float64)
                accumulate(row, out=row)
                total = row.item(-1)
                if 0.0 < total < np.inf:
                    token = int(searchsorted(total * u))  # the first index whose cdf reaches total * u
                    if not logprobs:
                        return token, None
                    return token, float(logits.item(0, token) - log(total))  # np.log: __call__'s loop, to the bit
            out = np.empty(1, dtype=np.int64)
            logp = general(logits, np.full((1, 1), u), out, logprobs)
            return int(out[0]), None if logp is None else float(logp[0])

        return draw

    @staticmethod
    def _plain_draw(logits: np.ndarray, u: np.ndarray, out: np.ndarray, logprobs: bool) -> np.ndarray | None:
        """The hot path (temperature 1, no truncation) in as few numpy calls as possible: exp of the raw
        logits in float64 (no max subtraction: it cannot overflow below logits of 709), with the
        max-subtracted form only for the rows where it would over- or underflow."""
        cdf = np.add.accumulate(np.exp(logits, dtype=np.float64), axis=1)  # [B, V]
        total = cdf[:, -1:]  # [B, 1]
        if not (0.0 < total[0, 0] < np.inf if len(out) == 1 else np.isfinite(total).all() and total.all()):
            bad = ~(np.isfinite(total[:, 0]) & (total[:, 0] > 0.0))
            rows = logits[bad]
            cdf[bad] = np.add.accumulate(np.exp(rows - rows.max(axis=1, keepdims=True), dtype=np.float64), axis=1)
            np.greater_equal(cdf, total * u).argmax(axis=1, out=out)
            if not logprobs:
                return None
            # row by row as below, the fallen-back rows by log_softmax: a row's value never depends on the
            # other rows of its batch (row blocks, worker processes and batch sizes all give the same bits)
            logp = logits[np.arange(len(out)), out] - np.log(total[:, 0])
            logp[bad] = token_logprobs(rows, out[bad])
            return logp
        np.greater_equal(cdf, total * u).argmax(axis=1, out=out)
        if not logprobs:
            return None
        return logits[np.arange(len(out)), out] - np.log(total[:, 0])  # log softmax at the token, float64


class BlockSampler:
    """A Sampler that draws big batches in row blocks on the threads of `pool`: the same tokens and
    log-probabilities (each row's draw depends on its own logits and uniform only), in less wall time where
    the sampler bounds a step, as on a GPU at tens of thousands of rows (issue 16). numpy releases the GIL
    in the array operations that make up a draw. Batches under 2 x block_rows are drawn in one call.

        sampler = BlockSampler(Sampler(params), pool, threads=4)   # pool: a ThreadPoolExecutor of >= 4 threads
        logp = sampler(logits, u, out, logprobs)                    # as Sampler.__call__
    """

    def __init__(self, sampler: Sampler, pool: ThreadPoolExecutor, threads: int, block_rows: int = BLOCK_ROWS):
        self.sampler, self.pool, self.threads, self.block_rows = sampler, pool, threads, block_rows

    def __call__(self, logits: np.ndarray, u: np.ndarray, out: np.ndarray,
                 logprobs: bool = False) -> np.ndarray | None:
        rows = len(out)
        blocks = min(self.threads, rows // self.block_rows)
        if blocks < 2:
            return self.sampler(logits, u, out, logprobs)
        edges = [rows * b // blocks for b in range(blocks + 1)]  # contiguous blocks; out is written in place

        def draw(b: int) -> np.ndarray | None:
            rows_b = slice(edges[b], edges[b + 1])
            return self.sampler(logits[rows_b], u[rows_b], out[rows_b], logprobs)

        parts = list(self.pool.map(draw, range(blocks)))
        return np.concatenate(parts) if logprobs else None  # type: ignore[arg-type]

    def row_sampler(self, vocab_size: int) -> Callable[[np.ndarray, float, bool], tuple[int, float | None]]:
        return self.sampler.row_sampler(vocab_size)
