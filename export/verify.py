"""Checks of an exported file against the contract and against the torch model it came from.

    result = verify_file("model.onnx", model, meta, rng=np.random.default_rng(0))
    result.max_abs_diff, result.batch_sizes

1. structure: onnx.checker (full_check) and strict shape inference; input/output names, dtypes and shapes
   as `meta.io` says, with a dynamic batch axis.
2. parity: onnxruntime vs torch logits over real-looking items, random items of the vocabulary and random
   token sequences, at several batch sizes. The step graph runs step by step from the metadata's initial
   state (boundary token, then the item's tokens); torch sees (R - 1) boundary tokens, the boundary token,
   then the same tokens. One more step (or window) runs at a large batch to prove the axis is dynamic.
Any failure raises ModelFileError naming the check and, for parity, by how much it failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from wavenet_edge.runtime.common.errors import ModelFileError, VocabError, first_line
from wavenet_edge.runtime.contract import GRAPH_STEP, INPUT_STATE, INPUT_TOKENS, ModelMetadata, next_state, step_feeds
from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab
from wavenet_edge.train.models import LectureNet, WaveNet

__all__ = [
    "DEFAULT_TOLERANCE", "LARGE_BATCH", "PARITY_BATCH_SIZES", "SAMPLE_ITEMS", "VerifyResult", "check_structure",
    "onnx_logits", "torch_logits", "verification_sequences", "verify_file",
]

DEFAULT_TOLERANCE = 1e-4  # largest allowed |onnx - torch| logit difference
PARITY_BATCH_SIZES = (1, 7, 512)
LARGE_BATCH = 4096
# Real-looking strings, used where the vocabulary can spell them (makemore's names data).
SAMPLE_ITEMS = ("emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
                "liam", "noah", "oliver", "elijah", "william", "james", "benjamin", "lucas", "henry", "alexander",
                "zoe", "xavier", "quinn", "jayden", "kylie")
_ONNX_TYPES = {"int64": onnx.TensorProto.INT64, "float32": onnx.TensorProto.FLOAT}


@dataclass(frozen=True)
class VerifyResult:
    max_abs_diff: float
    batch_sizes: tuple[int, ...]  # every batch size run, the large one included
    diffs: dict[int, float]  # batch size -> max abs diff


def _fail(message: str) -> ModelFileError:
    return ModelFileError(f"verification failed: {message}")


def _dims(value: onnx.ValueInfoProto) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def check_structure(path: str | Path, meta: ModelMetadata) -> None:
    """onnx.checker (full_check), strict shape inference, and the graph's I/O as the contract says."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
        inferred = onnx.shape_inference.infer_shapes(onnx.load(str(path)), strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        raise _fail(f"onnx checker: {first_line(err)}") from None
    io = meta.io
    for kind, expected, actual in (("input", io["inputs"], inferred.graph.input),
                                   ("output", io["outputs"], inferred.graph.output)):
        got = [(v.name, v.type.tensor_type.elem_type, _dims(v)) for v in actual]
        for i, spec in enumerate(expected):
            if i >= len(got) or got[i][0] != spec["name"]:
                raise _fail(f"{kind} {i} should be named {spec['name']!r}, the graph has {[g[0] for g in got]}")
            name, dtype, dims = got[i]
            if dtype != _ONNX_TYPES[spec["dtype"]]:
                raise _fail(f"{kind} {name} has element type {dtype}, expected {spec['dtype']}")
            fixed_ok = len(dims) == len(spec["shape"]) and list(dims[1:]) == list(spec["shape"][1:])
            if not fixed_ok or not isinstance(dims[0], str):
                raise _fail(f"{kind} {name} has shape {dims}, expected {spec['shape']} with a dynamic batch axis")
        if len(got) != len(expected):
            raise _fail(f"the graph has {len(got)} {kind}s, expected {len(expected)}")


def verification_sequences(vocab: Vocab, receptive_field: int, max_len: int, count: int,
                           rng: np.random.Generator, items: Sequence[str] = ()) -> np.ndarray:
    """(count, T) int64 token rows: each an item then the boundary token (padded with boundary tokens),
    or a random token sequence. A third are real items (given ones first, then SAMPLE_ITEMS the vocabulary
    can spell), a third random items over the vocabulary, the rest random sequences; rows shuffled."""
    length = min(max_len, 2 * receptive_field) + 1  # item + final boundary; longer than the receptive field
    real = []
    for text in list(items) + list(SAMPLE_ITEMS):
        try:
            real.append(vocab.encode(text[: length - 1]))
        except VocabError:
            continue
    rows = np.full((count, length), BOUNDARY_ID, dtype=np.int64)
    n_real = min(len(real), count // 3 + (count < 3))
    n_items = min(count - n_real, (count + 2) // 3)
    for i in range(n_real):
        rows[i, : len(real[i])] = real[i]
    for i in range(n_real, n_real + n_items):
        n = int(rng.integers(1, length))
        rows[i, :n] = rng.integers(1, vocab.size, size=n)
    rows[n_real + n_items:] = rng.integers(0, vocab.size, size=(count - n_real - n_items, length))
    return rows[rng.permutation(count)]


@torch.no_grad()
def torch_logits(model: WaveNet | LectureNet, feed: np.ndarray) -> np.ndarray:
    """(B, T, V): after each token of `feed` (B, T), with (R - 1) boundary tokens of history before it."""
    pad = np.full((feed.shape[0], model.receptive_field - 1), BOUNDARY_ID, dtype=np.int64)
    idx = torch.from_numpy(np.concatenate([pad, feed], axis=1))
    return model(idx).float().numpy()


def onnx_logits(session: ort.InferenceSession, meta: ModelMetadata, feed: np.ndarray) -> np.ndarray:
    """(B, T, V) from the exported graph: step by step from the initial state, or window by window."""
    b, t = feed.shape
    out = []
    if meta.graph == GRAPH_STEP:
        assert meta.initial_state is not None  # ModelMetadata checks that step graphs carry it
        state = np.tile(meta.initial_state, (b, 1)).astype(np.float32)  # [b, S] flat queues
        for k in range(t):
            tokens = np.ascontiguousarray(feed[:, k])
            if meta.format_version == 1:
                logits, state = session.run(None, {INPUT_TOKENS: tokens, INPUT_STATE: state})
            else:
                logits, *newest = session.run(None, step_feeds(meta.config, tokens, state))
                state = next_state(meta.config, state, newest)
            out.append(logits)
    else:
        r = meta.receptive_field
        padded = np.concatenate([np.full((b, r - 1), BOUNDARY_ID, dtype=np.int64), feed], axis=1)
        for k in range(t):
            (logits,) = session.run(None, {INPUT_TOKENS: np.ascontiguousarray(padded[:, k : k + r])})
            out.append(logits)
    return np.stack(out, axis=1)


def _session(path: str | Path) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        raise _fail(f"onnxruntime cannot load the graph: {first_line(err)}") from None


def verify_file(path: str | Path, model: WaveNet | LectureNet, meta: ModelMetadata, *, rng: np.random.Generator,
                items: Sequence[str] = (), tolerance: float = DEFAULT_TOLERANCE,
                batch_sizes: Sequence[int] = PARITY_BATCH_SIZES, large_batch: int = LARGE_BATCH) -> VerifyResult:
    """Structure checks, then parity with `model` (eval mode); ModelFileError when anything fails."""
    check_structure(path, meta)
    session = _session(path)
    config = meta.config
    rows = verification_sequences(meta.vocab, config.receptive_field, config.max_len, max(batch_sizes), rng, items)
    diffs: dict[int, float] = {}
    for b in batch_sizes:
        feed = np.concatenate([np.full((b, 1), BOUNDARY_ID, dtype=np.int64), rows[:b, :-1]], axis=1)  # (b, T)
        diffs[b] = _compare(meta.graph, b, onnx_logits(session, meta, feed), torch_logits(model, feed), tolerance)
    # One step (one window) at a large batch: the batch axis is really dynamic.
    if meta.graph == GRAPH_STEP:
        feed = rng.integers(0, meta.vocab.size, size=(large_batch, 1))  # (B, 1): one step from the initial state
        got, expected = onnx_logits(session, meta, feed), torch_logits(model, feed)
    else:
        windows = rng.integers(0, meta.vocab.size, size=(large_batch, config.receptive_field))  # (B, R)
        (logits,) = session.run(None, {INPUT_TOKENS: windows})
        got, expected = logits[:, None], torch_logits(model, windows)[:, -1:]  # (B, 1, V)
    diffs[large_batch] = _compare(meta.graph, large_batch, got, expected, tolerance)
    return VerifyResult(max(diffs.values()), tuple(diffs), diffs)


def _compare(graph: str, batch: int, got: np.ndarray, expected: np.ndarray, tolerance: float) -> float:
    if got.shape != expected.shape:
        raise _fail(f"{graph} graph at batch {batch}: logits shape {got.shape}, torch gives {expected.shape}")
    diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
    if not np.isfinite(diff) or diff > tolerance:
        raise _fail(f"{graph} graph at batch {batch}: max abs diff {diff:.3g} vs torch exceeds {tolerance:g}")
    return diff
