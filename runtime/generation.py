"""Batched autoregressive generation: every row advances one token per graph call, finished rows are
replaced by new ones, names come out in index order.

    stream = generate_stream(runner, vocab, GenerationRequest(n=100, seed=0))
    for index, name, logprob in stream: ...

How it stays fast: the state of a name that has only seen the boundary token and the prefix is computed
once and copied into every new row; a finished row's slot is refilled in place (the arrays only shrink
once no names are left to start); each step draws one uniform per row from a [B] counter (RowUniforms);
the loop body is a handful of numpy calls on [B, V] arrays, with no per-row Python. At batch size 1
that bookkeeping took over a third of the time per character, so one row runs its own loop (`_one_row`): the same
names and log-probabilities to the bit, with one graph call, one draw and a few scalar operations per character.

Determinism: name i's characters depend only on (seed, i) and the model's logits for that row, so the
same seed gives the same names whatever `batch_size` (ONNX Runtime computes each row independently).

Memory grows with what is produced, not with the limits: no buffer is sized by max_len (the token ring
doubles as names grow, the uniforms are drawn per step), and the width is min(batch_size, n).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from .common.errors import VocabError, WavenetEdgeError
from .graphs import GraphRunner, Rows
from .sampling import BlockSampler, RowUniforms, Sampler, SamplingParams, log_softmax, row_keys, stream_uniforms
from .vocab import BOUNDARY_ID, Vocab

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_PATIENCE", "GenerationRequest", "check_filter", "encode_prefix",
           "filter_names", "generate_chunks", "generate_stream"]

DEFAULT_BATCH_SIZE = 256
DEFAULT_PATIENCE = 1000  # --unique/--exclude: give up after this many rejected samples in a row
MAX_BATCH_SIZE = 65536  # rows side by side; each holds the model state (a few KB), so more only costs memory
RING_START = 64  # token buffer positions per row at first; doubled as names grow (up to max_len + 1)
ONE_ROW_BLOCK = 256  # batch 1: names whose first uniforms are computed together


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. `n` None means an endless stream. Validated on construction."""

    n: int | None = 1
    seed: int = 0
    prefix: str = ""
    max_len: int = 32
    batch_size: int = DEFAULT_BATCH_SIZE
    sampling: SamplingParams = field(default_factory=SamplingParams)

    def __post_init__(self) -> None:
        if self.n is not None and (isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 1):
            raise WavenetEdgeError(f"n must be a positive integer, got {self.n}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise WavenetEdgeError(f"seed must be an integer, got {self.seed!r}")
        if isinstance(self.max_len, bool) or not isinstance(self.max_len, (int, np.integer)) or self.max_len < 1:
            raise WavenetEdgeError(f"max-len must be a positive integer, got {self.max_len}")
        if not isinstance(self.prefix, str):
            raise WavenetEdgeError(f"prefix must be a string, got {self.prefix!r}")
        if len(self.prefix) > self.max_len:
            raise WavenetEdgeError(
                f"max-len {self.max_len} is below the length of prefix {self.prefix!r} ({len(self.prefix)})"
            )
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) \
                or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise WavenetEdgeError(f"batch size must be an integer in 1..{MAX_BATCH_SIZE}, got {self.batch_size}")


def encode_prefix(vocab: Vocab, prefix: str) -> list[int]:
    """Token ids of `prefix`; WavenetEdgeError names the characters the model does not know."""
    try:
        return vocab.encode(prefix)
    except VocabError as err:
        raise WavenetEdgeError(f"prefix {prefix!r}: {err}") from None


def _prefix_template(runner: GraphRunner, prefix_ids: list[int]) -> tuple[np.ndarray, int, float]:
    """State before the last prefix token, that token, and log p(prefix): the start of every row."""
    state = runner.initial_state(1)  # [1, ...]
    token = BOUNDARY_ID
    logprob = 0.0
    for char in prefix_ids:
        logits, state = runner.advance(state, np.array([token], dtype=np.int64))
        logprob += float(log_softmax(logits)[0, char])
        token = char
    return state[0], token, logprob


def _text_decoder(vocab: Vocab):
    """texts = decode(tokens [k, W] int64, lengths [k]): the first lengths[i] characters of row i.

    ASCII vocabularies go through one byte lookup and one bytes object for all k rows; others join strings."""
    chars = [""] + list(vocab.chars)  # id -> character, boundary -> ""
    if all(c.isascii() for c in vocab.chars):
        table = np.frombuffer(("\0" + "".join(vocab.chars)).encode("ascii"), dtype=np.uint8)  # [V]

        def decode(tokens: np.ndarray, lengths: list[int]) -> list[str]:
            width = tokens.shape[1]
            raw = table[tokens].tobytes()  # row i is raw[i * width : (i + 1) * width]
            return [raw[i * width: i * width + n].decode("ascii") for i, n in enumerate(lengths)]
    else:
        def decode(tokens: np.ndarray, lengths: list[int]) -> list[str]:
            return ["".join([chars[c] for c in row[:n]]) for row, n in zip(tokens.tolist(), lengths, strict=True)]
    return decode


def _grow(out: np.ndarray, born: np.ndarray, capacity: int) -> np.ndarray:
    """The time-major token ring `out` [cap, B] re-laid into `capacity` columns: row r's position p moves
    from column (born[r] + p) % cap to (born[r] + p) % capacity."""
    cap = len(out)
    grown = np.zeros((capacity, out.shape[1]), dtype=out.dtype)
    positions = born[None, :] + np.arange(cap)[:, None]  # [cap, B]
    columns = np.arange(out.shape[1])[None, :]
    grown[positions % capacity, columns] = out[positions % cap, columns]
    return grown


def generate_stream(runner: GraphRunner, vocab: Vocab, request: GenerationRequest, logprobs: bool = True,
                    first: int = 0, stride: int = 1) -> Iterator[tuple[int, str, float | None]]:
    """Yield (index, name, log-probability) for names 0, 1, 2, ... in index order, each as soon as it and
    every name before it are finished. The name includes the prefix; its log-probability is log p(name
    followed by the end token) under the model at temperature 1, prefix included (None without `logprobs`,
    which saves a little time per character).

    first, stride: this stream's name j is the request's name first + j * stride (its random numbers are
    that name's), so `stride` streams with first = 0..stride-1 share the names of one request (threads)."""
    return chain.from_iterable(generate_chunks(runner, vocab, request, logprobs, first, stride))


def generate_chunks(runner: GraphRunner, vocab: Vocab, request: GenerationRequest, logprobs: bool = True,
                    first: int = 0, stride: int = 1) -> Iterator[list[tuple[int, str, float | None]]]:
    """generate_stream's items in lists, one list per step that finished names (less per-name overhead:
    worker threads hand a whole list to the reader at once)."""
    prefix_ids = encode_prefix(vocab, request.prefix)
    total = request.n  # None: endless
    room = request.max_len - len(prefix_ids)  # characters a row may add; then the end token is forced
    start_state, start_token, start_logprob = _prefix_template(runner, prefix_ids)
    decode = _text_decoder(vocab)
    draw = Sampler(request.sampling)
    # a device session (WavenetModel.load): big batches drawn in row blocks on the host's threads
    sampler = BlockSampler(draw, runner.sampler_pool(), runner.sampler_threads) if runner.sampler_threads > 1 else draw

    def keys(local: np.ndarray) -> np.ndarray:  # random-stream keys of this stream's names `local`
        return row_keys(request.seed, first + local.astype(np.uint64) * np.uint64(stride))

    width = request.batch_size if total is None else min(request.batch_size, total)
    rows = runner.rows(start_state, start_token, width)  # owns the model state and the tokens it feeds
    if width == 1:
        yield from _one_row(rows, sampler, keys, total, room, start_logprob, request.prefix, vocab, logprobs)
        return
    # A time-major ring of the sampled tokens: row r, started at step born[r], keeps position p in column
    # (born[r] + p) % cap, so step t writes the plain row [t % cap]. It doubles when the oldest live row
    # would wrap, so it grows with the longest name produced, not with max_len.
    cap = min(room + 1, RING_START)
    out = np.zeros((cap, width), dtype=np.int64)  # [cap, B] sampled tokens
    draws = RowUniforms(width)
    index = np.arange(width, dtype=np.int64)  # [B] name of each row (local to this stream)
    draws.start(np.arange(width), keys(index))
    born = np.zeros(width, dtype=np.int64)  # [B] step at which each row started
    logprob = np.full(width, start_logprob)  # [B] float64
    started, t, oldest = width, 0, 0  # names with a row; step; first step of the oldest live row
    ready: dict[int, tuple[str, float | None]] = {}
    next_out = 0

    while width:
        if t - oldest >= cap:  # the oldest row would overwrite its first token
            cap = min(2 * cap, room + 1)
            out = _grow(out, born, cap)
        logits = rows.step()  # [B, V]
        chosen = rows.tokens  # sampled in place: the next step feeds them
        chosen_logp = sampler(logits, draws.next(), chosen, logprobs)
        if t >= oldest + room:  # rows at max_len end here: the end token is forced, its probability still counted
            full = born <= t - room
            chosen[full] = BOUNDARY_ID
            if chosen_logp is not None:  # asked for logprobs
                chosen_logp[full] = log_softmax(logits[full])[:, BOUNDARY_ID]
        out[t % cap] = chosen
        if logprobs:
            logprob += chosen_logp
        t += 1
        if chosen.all():  # no row finished
            continue
        finished = (chosen == BOUNDARY_ID).nonzero()[0]  # [k] rows whose name is complete
        births = born[finished]  # [k]
        lengths = (t - 1 - births).tolist()  # characters of each name, the end token not counted
        longest = max(lengths)
        tokens = out[(births[:, None] + np.arange(longest)) % cap, finished[:, None]]  # [k, longest] in order
        scores = logprob[finished].tolist() if logprobs else [None] * len(lengths)
        for name_index, text, lp in zip(index[finished].tolist(), decode(tokens, lengths), scores, strict=True):
            ready[name_index] = (request.prefix + text, lp)
        fresh = len(finished) if total is None else min(len(finished), total - started)
        if fresh:
            slots = finished[:fresh]
            index[slots] = np.arange(started, started + fresh)
            started += fresh
            rows.reset(slots)
            draws.start(slots, keys(index[slots]))
            born[slots] = t
            logprob[slots] = start_logprob
        if fresh < len(finished):  # nothing left to start: drop the finished rows
            width -= len(finished) - fresh
            if width:
                keep = np.ones(len(index), dtype=bool)
                keep[finished[fresh:]] = False
                rows.keep(keep)
                draws.keep(keep)
                born, index, logprob, out = born[keep], index[keep], logprob[keep], out[:, keep]
        if width:
            oldest = int(np.minimum.reduce(born))
        if next_out in ready:
            done = []
            while next_out in ready:
                name, lp = ready.pop(next_out)
                done.append((next_out, name, lp))
                next_out += 1
            yield done


def _one_row(rows: Rows, sampler: Sampler | BlockSampler, keys, total: int | None, room: int, start_logprob: float,
             prefix: str, vocab: Vocab, logprobs: bool) -> Iterator[list[tuple[int, str, float | None]]]:
    """generate_stream with one row: the same names and log-probabilities as the batched loop (the same
    uniforms, the same float64 operations in the same order), one name after the other, with none of
    its [B]-array bookkeeping: per character one graph call, one draw and a few scalar operations.
    The uniforms of a name are computed RING_START positions at a time (for ONE_ROW_BLOCK names at once),
    more as the name grows."""
    chars = [""] + list(vocab.chars)  # id -> character
    tokens = rows.tokens  # [1]: the token the next step consumes
    slot = np.zeros(1, dtype=np.intp)
    step, draw = rows.step, sampler.row_sampler(vocab.size)
    chunk = min(room + 1, RING_START)
    index = 0
    while total is None or index < total:
        if index:
            rows.reset(slot)  # back to the state after the prefix
        if index % ONE_ROW_BLOCK == 0:  # the first `chunk` uniforms of the next block of names, in one pass
            block_keys = keys(np.arange(index, index + ONE_ROW_BLOCK))  # [block]
            block = stream_uniforms(block_keys, chunk).tolist()  # [block][chunk]
        uniforms = block[index % ONE_ROW_BLOCK]  # position p draws with uniforms[p]
        logprob = start_logprob
        text = []
        for position in range(room):
            if position == len(uniforms):  # a long name: its next uniforms
                key = block_keys[index % ONE_ROW_BLOCK:][:1]  # [1]
                uniforms += stream_uniforms(key, min(len(uniforms), room + 1 - position), start=position)[0].tolist()
            token, token_logp = draw(step(), uniforms[position], logprobs)
            if token_logp is not None:  # asked for logprobs
                logprob += token_logp
            if token == BOUNDARY_ID:
                break
            tokens[0] = token
            text.append(chars[token])
        else:  # max_len reached: the end token is forced, its probability still counted
            logits = step()
            if logprobs:
                logprob += float(log_softmax(logits)[0, BOUNDARY_ID])
        yield [(index, prefix + "".join(text), logprob if logprobs else None)]
        index += 1


def check_filter(exclude: object, patience: object) -> None:
    """The options of filter_names, refused in the JS runtime's words (js/src/generation.js checkFilter)."""
    if isinstance(exclude, str):  # a str is iterable: it would exclude its letters
        raise WavenetEdgeError(f"exclude must be an iterable of names, got the string {exclude!r} "
                               f"(wrap it: [{exclude!r}])")
    if exclude is not None and not isinstance(exclude, Iterable):
        raise WavenetEdgeError(f"exclude must be an iterable of names, got {exclude!r}")
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise WavenetEdgeError(f"patience must be a positive integer, got {patience!r}")


def filter_names(stream: Iterable[tuple[int, str, float | None]], n: int, unique: bool = False,
                 exclude: Iterable[str] | None = None,
                 patience: int = DEFAULT_PATIENCE) -> Iterator[tuple[int, str, float | None]]:
    """The first `n` names of an endless `stream` that are not in `exclude` and, with `unique`, not seen
    before. Gives up (WavenetEdgeError) after `patience` rejected names in a row."""
    banned = set(exclude or ())
    accepted = rejected = 0
    for item in stream:
        name = item[1]
        if name in banned:
            rejected += 1
            if rejected >= patience:
                raise WavenetEdgeError(
                    f"gave up after {patience} samples in a row were duplicates or excluded: found {accepted} "
                    f"of {n} names (try a higher temperature, a longer max-len, a shorter prefix or a smaller -n)"
                )
            continue
        rejected = 0
        if unique:
            banned.add(name)
        yield item
        accepted += 1
        if accepted >= n:
            return
