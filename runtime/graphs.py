"""One interface over the two graph kinds: consume one token per row, return next-token logits.

    runner = make_runner(session, metadata)
    state = runner.initial_state(batch)                 # only boundary tokens seen so far
    logits, state = runner.advance(state, tokens)       # tokens [B] int64 -> logits [B, V] float32

Step graph (Fast WaveNet): `state` is the per-layer queue tensor [B, state_size] float32; one call of the
graph per token. Window graph: `state` is the last receptive_field tokens [B, R] int64; the window rolls
by one token and the whole window is recomputed.

For the generation loop, `runner.rows(start_state, start_token, width)` gives a `Rows` object that owns
preallocated, IOBinding-bound buffers: the caller writes the next tokens into `rows.tokens` and calls
`rows.step()`; no array is allocated per step (the step graph's state ping-pongs between two buffers).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from .contract import GRAPH_STEP, INPUT_STATE, INPUT_TOKENS, OUTPUT_LOGITS, OUTPUT_STATE, ModelMetadata
from .vocab import BOUNDARY_ID

__all__ = ["GraphRunner", "Rows", "StepRunner", "WindowRunner", "make_runner"]


def _bind_output(binding: ort.IOBinding, name: str, array: np.ndarray) -> None:
    binding.bind_output(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)


def _runner(session: ort.InferenceSession, binding: ort.IOBinding):
    """A no-argument callable that runs `binding`. Where the pybind objects behind onnxruntime's Python
    wrappers are reachable, it calls them directly, skipping about a microsecond of wrapper code per call
    (the webgpu graph-capture check, irrelevant on the CPU and CUDA providers used here). It passes one
    RunOptions made here: given none, onnxruntime builds a default one on every call, which costs about
    another microsecond (a twentieth of a batch-1 step)."""
    options = ort.RunOptions()
    inner_session, inner_binding = getattr(session, "_sess", None), getattr(binding, "_iobinding", None)
    if inner_session is not None and inner_binding is not None and hasattr(inner_session, "run_with_iobinding") \
            and not any("WebGpu" in p for p in session.get_providers()):
        run = inner_session.run_with_iobinding
        return lambda: run(inner_binding, options)
    return lambda: session.run_with_iobinding(binding, options)


class Rows:
    """A batch of generation rows on fixed buffers. Subclasses implement step/reset/keep."""

    tokens: np.ndarray  # [B] int64: the tokens the next step consumes (write into it in place)

    def step(self) -> np.ndarray:
        """Consume `tokens`; return logits [B, V] float32 (a buffer that the next step overwrites)."""
        raise NotImplementedError

    def reset(self, slots: np.ndarray) -> None:
        """Rows `slots` start over: the start state and the start token."""
        raise NotImplementedError

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where `mask` is False."""
        raise NotImplementedError


class GraphRunner:
    """Common interface; `state` rows can be indexed, tiled and compacted like any numpy array."""

    vocab_size: int

    def initial_state(self, batch: int) -> np.ndarray:
        raise NotImplementedError

    def advance(self, state: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def rows(self, start_state: np.ndarray, start_token: int, width: int) -> Rows:
        raise NotImplementedError


class StepRunner(GraphRunner):
    """tokens [B] int64, state [B, S] float32 -> logits [B, V], next_state [B, S]."""

    def __init__(self, session: ort.InferenceSession, metadata: ModelMetadata):
        self.session = session
        self.vocab_size = metadata.config.vocab_size
        self._outputs = [OUTPUT_LOGITS, OUTPUT_STATE]
        self._initial = np.ascontiguousarray(metadata.initial_state, dtype=np.float32)  # [S]

    def initial_state(self, batch: int) -> np.ndarray:
        return np.tile(self._initial, (batch, 1))  # [B, S]

    def advance(self, state: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, next_state = self.session.run(self._outputs, {INPUT_TOKENS: tokens, INPUT_STATE: state})
        return logits, next_state

    def rows(self, start_state: np.ndarray, start_token: int, width: int) -> Rows:
        return _StepRows(self, start_state, start_token, width)


class _StepRows(Rows):
    """State ping-pongs between two buffers; binding p reads buffer p and writes buffer 1 - p."""

    def __init__(self, runner: StepRunner, start_state: np.ndarray, start_token: int, width: int):
        self._decoder = runner
        self._start_state, self._start_token = start_state, start_token
        self._bind(np.repeat(start_state[None], width, axis=0), np.full(width, start_token, dtype=np.int64))

    def _bind(self, state: np.ndarray, tokens: np.ndarray) -> None:
        session = self._decoder.session
        self.tokens = np.ascontiguousarray(tokens)  # [B]
        self._states = (np.ascontiguousarray(state, dtype=np.float32), np.empty_like(state, dtype=np.float32))
        self._logits = np.empty((len(tokens), self._decoder.vocab_size), dtype=np.float32)  # [B, V]
        self._bindings, self._runs = [], []
        for p in (0, 1):
            binding = session.io_binding()
            binding.bind_cpu_input(INPUT_TOKENS, self.tokens)
            binding.bind_cpu_input(INPUT_STATE, self._states[p])
            _bind_output(binding, OUTPUT_LOGITS, self._logits)
            _bind_output(binding, OUTPUT_STATE, self._states[1 - p])
            self._bindings.append(binding)  # keeps the binding alive
            self._runs.append(_runner(session, binding))
        self._parity = 0

    def step(self) -> np.ndarray:
        self._runs[self._parity]()
        self._parity ^= 1
        return self._logits

    def reset(self, slots: np.ndarray) -> None:
        self._states[self._parity][slots] = self._start_state
        self.tokens[slots] = self._start_token

    def keep(self, mask: np.ndarray) -> None:
        self._bind(self._states[self._parity][mask], self.tokens[mask])


class WindowRunner(GraphRunner):
    """tokens [B, R] int64 -> logits [B, V]; the state is the window before the token being consumed."""

    def __init__(self, session: ort.InferenceSession, metadata: ModelMetadata):
        self.session = session
        self.vocab_size = metadata.config.vocab_size
        self._outputs = [OUTPUT_LOGITS]
        self.field = metadata.receptive_field

    def initial_state(self, batch: int) -> np.ndarray:
        return np.full((batch, self.field), BOUNDARY_ID, dtype=np.int64)  # [B, R]

    def advance(self, state: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        window = np.concatenate((state[:, 1:], tokens[:, None]), axis=1)  # [B, R]: roll in the new token
        return self.logits(window), window

    def logits(self, windows: np.ndarray) -> np.ndarray:
        """[N, R] int64 windows -> [N, V] logits of the token after each window."""
        (logits,) = self.session.run(self._outputs, {INPUT_TOKENS: windows})
        return logits

    def rows(self, start_state: np.ndarray, start_token: int, width: int) -> Rows:
        return _WindowRows(self, start_state, start_token, width)


class _WindowRows(Rows):
    """The window buffer is bound as the input and rolled in place; logits land in a bound buffer."""

    def __init__(self, runner: WindowRunner, start_state: np.ndarray, start_token: int, width: int):
        self._decoder = runner
        self._start_state, self._start_token = start_state, start_token
        self._bind(np.repeat(start_state[None], width, axis=0), np.full(width, start_token, dtype=np.int64))

    def _bind(self, windows: np.ndarray, tokens: np.ndarray) -> None:
        session = self._decoder.session
        self.tokens = np.ascontiguousarray(tokens)  # [B]
        self._windows = np.ascontiguousarray(windows, dtype=np.int64)  # [B, R]
        self._logits = np.empty((len(tokens), self._decoder.vocab_size), dtype=np.float32)  # [B, V]
        self._binding = session.io_binding()
        self._binding.bind_cpu_input(INPUT_TOKENS, self._windows)
        _bind_output(self._binding, OUTPUT_LOGITS, self._logits)
        self._run = _runner(session, self._binding)

    def step(self) -> np.ndarray:
        self._windows[:, :-1] = self._windows[:, 1:]  # overlapping copy: numpy buffers it
        self._windows[:, -1] = self.tokens
        self._run()
        return self._logits

    def reset(self, slots: np.ndarray) -> None:
        self._windows[slots] = self._start_state
        self.tokens[slots] = self._start_token

    def keep(self, mask: np.ndarray) -> None:
        self._bind(self._windows[mask], self.tokens[mask])


def make_runner(session: ort.InferenceSession, metadata: ModelMetadata) -> GraphRunner:
    return StepRunner(session, metadata) if metadata.graph == GRAPH_STEP else WindowRunner(session, metadata)
