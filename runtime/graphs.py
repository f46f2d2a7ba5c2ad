"""One interface over the two graph kinds: consume one token per row, return next-token logits.

    runner = make_runner(session, metadata)
    state = runner.initial_state(batch)                 # only boundary tokens seen so far
    logits, state = runner.advance(state, tokens)       # tokens [B] int64 -> logits [B, V] float32

Step graph (Fast WaveNet): `state` is the flat per-layer queue tensor [B, state_size] float32
(runtime.contract.state_layout); one call of the graph per token. Window graph: `state` is the last
receptive_field tokens [B, R] int64; the window rolls by one token and the whole window is recomputed.

For the generation loop, `runner.rows(start_state, start_token, width)` gives a `Rows` object that owns
preallocated, IOBinding-bound buffers: the caller writes the next tokens into `rows.tokens` and calls
`rows.step()`; no array is allocated per step. Format-2 step graphs keep each layer's queue in a ring of
slots that the graph's inputs and outputs are bound to directly, so a step copies no state at all
(`_RingRows`); format-1 step graphs shift the queues inside the graph, and their state ping-pongs between
two buffers (`_ShiftRows`).

Bound inputs and other devices: ONNX Runtime reads a CPU buffer bound as an input in place only when the
node that reads it runs on the CPU. For any other execution provider (CUDA, ...) it copies the buffer to
the device when it is bound, not when the graph runs, so a binding made once and reused would feed the
graph the values of the moment it was made (issue 16: wrong names on CUDA from step 17 on).
`reads_inputs_in_place(session)` tells the two apart; where inputs are copied, every `Rows` binds its
host inputs again before each run, so the copy is always of the current values. The same code runs on
the CPU under a stand-in session that copies at bind time (tests/bind_copy.py), which is how CI tests it.

State on the device (issue 16): on the CUDA provider a format-2 ring lives in device memory
(`_DeviceRingRows`): the graph reads and writes its slots there, only the tokens (8 bytes a row) go in and
only the logits come back each step. Rows that start over are written on the device by a one-node
ScatterND graph run in place on the ring (runtime/ring_graphs.py), and dropped rows are gathered there
too; the host never writes device memory. `device_state(session)` says where a session's state can live
(None: the CPU, whose host ring is the fastest, or a provider this runtime does not allocate for, which
takes the rebinding host ring). Tests run the device path on the CPU through a stand-in device whose
memory the stand-in session reads in place (tests/bind_copy.py).

Checked before use: `check_device_path(runner, path, auto)` (WavenetModel.load calls it on every session
with device state) drives a fixed probe (`probe_logits`: a few rows fed fixed tokens, with restarts and a
dropped row) through the device path, the host path of the same session and a CPU session of the same
file, and compares the logits. A device path that disagrees is not used: the runner keeps its state on the
host (`StepRunner.state_on_device = False`), with one warning. A provider that disagrees with the CPU on
the host path too is refused (ProviderError), or, for "auto", replaced by the CPU.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .contract import (
    GRAPH_STEP,
    INPUT_STATE,
    INPUT_TOKENS,
    OUTPUT_LOGITS,
    OUTPUT_STATE,
    ModelMetadata,
    newest_name,
    next_state,
    oldest_name,
    state_layout,
    step_feeds,
)
from .providers import CPU as CPU_PROVIDER
from .providers import CUDA as CUDA_PROVIDER
from .providers import ProviderError, create_session
from .ring_graphs import keep_graph, restart_graph
from .vocab import BOUNDARY_ID

__all__ = ["LOGIT_TOLERANCE", "DeviceCheck", "DeviceState", "GraphRunner", "ProviderDisagrees", "Rows", "StepRunner",
           "WindowRunner", "check_device_path", "describe_difference", "device_state", "logit_difference",
           "make_runner", "probe_logits", "probe_steps", "reads_inputs_in_place"]

# Largest logit difference, relative to the largest |logit| (at least 1), that counts as agreement between two
# providers or paths: float32 summation order gives ~1e-7 (docs/providers.md), reduced-precision matrix
# products (TF32) ~1e-4; a wrong state is another context, and its logits differ by whole units.
LOGIT_TOLERANCE = 1e-3
log = logging.getLogger(__name__)


def _bind_output(binding: ort.IOBinding, name: str, array: np.ndarray) -> None:
    binding.bind_output(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)


def _bind_input(binding: ort.IOBinding, name: str, array: np.ndarray) -> None:
    """Bind a C-contiguous array (a view is fine) as an input without copying it."""
    binding.bind_input(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)


def reads_inputs_in_place(session: ort.InferenceSession) -> bool:
    """Whether a CPU buffer bound as an input is read where it lies at every run (the CPU provider alone),
    rather than copied to a device when it is bound (every other provider: treated as copying, which
    rebinding before each run makes correct either way)."""
    return list(session.get_providers()) == [CPU_PROVIDER]


class DeviceState:
    """Memory on a session's device for generation state, and the ring graphs opened on that device."""

    def __init__(self, session: ort.InferenceSession, device_type: str, device_id: int):
        self.session = session
        self.device_type, self.device_id = device_type, device_id
        self._graphs: dict[str, ort.InferenceSession] = {}

    def allocate(self, shape: list[int]) -> ort.OrtValue:
        """An uninitialised float32 tensor of `shape` in device memory."""
        return ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, self.device_type, self.device_id)

    def open(self, name: str, graph: bytes) -> ort.InferenceSession:
        """A session of `graph` on the same providers (and device) as the model's, opened once."""
        if name not in self._graphs:  # the device by its id; the providers' other options are their defaults
            providers = [(p, {"device_id": str(self.device_id)} if p == CUDA_PROVIDER else {})
                         for p in self.session.get_providers()]
            self._graphs[name] = ort.InferenceSession(graph, providers=providers)
        return self._graphs[name]

    def bind(self, binding: ort.IOBinding, name: str, ring: ort.OrtValue, offset: int, shape: list[int],
             output: bool = False) -> None:
        """Bind `shape` float32 values of device tensor `ring`, from element `offset` on, by address."""
        bind = binding.bind_output if output else binding.bind_input
        bind(name, self.device_type, self.device_id, np.float32, shape, ring.data_ptr() + 4 * offset)


def device_state(session: ort.InferenceSession) -> DeviceState | None:
    """Where generation state can live on `session`'s device: the CUDA provider's device, else None."""
    providers = list(session.get_providers())
    if not providers or providers[0] != CUDA_PROVIDER:
        return None
    device_id = int(session.get_provider_options().get(CUDA_PROVIDER, {}).get("device_id", 0))
    return DeviceState(session, "cuda", device_id)


def _runner(session: ort.InferenceSession, binding: ort.IOBinding):
    """A no-argument callable that runs `binding`. Where the pybind objects behind onnxruntime's Python
    wrappers are reachable (the private `session._sess`, `binding._iobinding`), it calls them directly with
    one RunOptions made here. Measured on the shipped model at batch 1 (onnxruntime 1.32, one thread, CPU
    time per step, best of 5 x 20,000): 21.5 us this way, 22.5 us through the public
    `session.run_with_iobinding(binding)`, 52 us through the public call given a RunOptions. The private
    path pays about 1 us per character (4%), so it stays, with the public call as the fallback."""
    options = ort.RunOptions()
    inner_session, inner_binding = getattr(session, "_sess", None), getattr(binding, "_iobinding", None)
    if inner_session is not None and inner_binding is not None and hasattr(inner_session, "run_with_iobinding") \
            and not any("WebGpu" in p for p in session.get_providers()):
        run = inner_session.run_with_iobinding
        return lambda: run(inner_binding, options)
    return lambda: session.run_with_iobinding(binding)  # without a RunOptions: see the figures above


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
    sampler_threads: int = 1  # threads that draw a big batch's tokens in row blocks (set by WavenetModel.load)
    _sampler_pool: ThreadPoolExecutor | None = None

    def sampler_pool(self) -> ThreadPoolExecutor:
        """sampler_threads threads for runtime.sampling.BlockSampler, started on first use, kept with the runner."""
        if self._sampler_pool is None:
            self._sampler_pool = ThreadPoolExecutor(self.sampler_threads, thread_name_prefix="wavenet-edge-sampler")
        return self._sampler_pool

    def initial_state(self, batch: int) -> np.ndarray:
        raise NotImplementedError

    def advance(self, state: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def rows(self, start_state: np.ndarray, start_token: int, width: int) -> Rows:
        raise NotImplementedError


class StepRunner(GraphRunner):
    """tokens [B] int64, state [B, S] float32 -> logits [B, V], next_state [B, S] (either format)."""

    def __init__(self, session: ort.InferenceSession, metadata: ModelMetadata):
        self.session = session
        self.metadata = metadata
        self.config = metadata.config
        self.vocab_size = metadata.config.vocab_size
        self.format_version = metadata.format_version
        self.device_check: DeviceCheck | None = None  # what check_device_path found, if it ran
        self._initial = np.ascontiguousarray(metadata.initial_state, dtype=np.float32)  # [S]
        self.device: DeviceState | None = None  # found by the first rows() on a device session
        # False: the state stays on the host even on a device session (check_device_path found the device
        # path wrong here); the host ring is rebound before each step
        self.state_on_device = True

    def initial_state(self, batch: int) -> np.ndarray:
        return np.tile(self._initial, (batch, 1))  # [B, S]

    def advance(self, state: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.format_version == 1:
            feeds = {INPUT_TOKENS: tokens, INPUT_STATE: state}
            logits, new_state = self.session.run([OUTPUT_LOGITS, OUTPUT_STATE], feeds)
            return logits, new_state
        logits, *newest = self.session.run(None, step_feeds(self.config, tokens, state))
        return logits, next_state(self.config, state, newest)

    def rows(self, start_state: np.ndarray, start_token: int, width: int) -> Rows:
        if self.format_version == 1:
            return _ShiftRows(self, start_state, start_token, width)
        if self.state_on_device and not reads_inputs_in_place(self.session):
            device = self.device if self.device is not None else device_state(self.session)
            if device is not None:
                self.device = device  # its ring graphs' sessions are kept for the next rows
                return _DeviceRingRows(self, start_state, start_token, width, device)
        return _RingRows(self, start_state, start_token, width)


class _ShiftRows(Rows):
    """Format 1: state ping-pongs between two buffers; binding p reads buffer p and writes buffer 1 - p."""

    def __init__(self, runner: StepRunner, start_state: np.ndarray, start_token: int, width: int):
        self._runner = runner
        self._start_state, self._start_token = start_state, start_token
        self._bind(np.repeat(start_state[None], width, axis=0), np.full(width, start_token, dtype=np.int64))

    def _bind(self, state: np.ndarray, tokens: np.ndarray) -> None:
        session = self._runner.session
        self.tokens = np.ascontiguousarray(tokens)  # [B]
        self._states = (np.ascontiguousarray(state, dtype=np.float32), np.empty_like(state, dtype=np.float32))
        self._logits = np.empty((len(tokens), self._runner.vocab_size), dtype=np.float32)  # [B, V]
        self._bindings, self._runs = [], []
        for p in (0, 1):
            binding = session.io_binding()
            self._bind_inputs(binding, p)
            _bind_output(binding, OUTPUT_LOGITS, self._logits)
            _bind_output(binding, OUTPUT_STATE, self._states[1 - p])
            self._bindings.append(binding)  # keeps the binding alive
            self._runs.append(_runner(session, binding))
        self._parity = 0
        self._rebind = not reads_inputs_in_place(session)

    def _bind_inputs(self, binding: ort.IOBinding, parity: int) -> None:
        _bind_input(binding, INPUT_TOKENS, self.tokens)
        _bind_input(binding, INPUT_STATE, self._states[parity])

    def step(self) -> np.ndarray:
        if self._rebind:  # a device session copied the inputs when they were bound: copy them now
            self._bind_inputs(self._bindings[self._parity], self._parity)
        self._runs[self._parity]()
        self._parity ^= 1
        return self._logits

    def reset(self, slots: np.ndarray) -> None:
        self._states[self._parity][slots] = self._start_state
        self.tokens[slots] = self._start_token

    def keep(self, mask: np.ndarray) -> None:
        self._bind(self._states[self._parity][mask], self.tokens[mask])


class _RingRows(Rows):
    """Format 2: layer l's queue is a ring of m_l slots (m_l: the power of two above its dilation d_l), each
    slot a [B, C] block of one array ring [sum m_l, B, C]. At step t the graph reads oldest_l from slot
    (t - d_l) mod m_l and writes newest_l into slot t mod m_l, both bound in place: nothing is shifted or
    copied. The bindings repeat with period max m_l, so one binding per phase is made once and reused.
    A row that starts over gets the start queues written into the slots where step t will look for them.
    """

    def __init__(self, runner: StepRunner, start_state: np.ndarray, start_token: int, width: int):
        self._runner = runner
        config = runner.config
        self._c = config.channels
        self._dilations = [entry["dilation"] for entry in state_layout(config)]
        self._sizes = [1 << d.bit_length() for d in self._dilations]  # m_l > d_l, a power of two
        self._offsets = np.cumsum([0] + self._sizes)[:-1].tolist()  # first slot of each ring
        self._period = max(self._sizes)
        self._start_token = start_token
        self._queues = [start_state[e["offset"]:e["offset"] + e["size"]].reshape(e["dilation"], self._c)
                        for e in state_layout(config)]  # per layer [d, C], oldest first
        self._templates: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._t = 0
        self._start(width)

    def _start(self, width: int) -> None:
        """Every row at its start: the start queues where step 0 reads them, the start token."""
        ring = np.zeros((sum(self._sizes), width, self._c), dtype=np.float32)  # [slots, B, C]
        slots, values = self._template(0)
        ring[slots] = values[:, None, :]
        self._bind(ring, np.full(width, self._start_token, dtype=np.int64))

    def _template(self, phase: int) -> tuple[np.ndarray, np.ndarray]:
        """The start queues laid out in the rings as step `phase` (mod period) reads them: the ring slots
        that matter [K] and their vectors [K, C] (entry j of layer l's queue, the input of step t - d + j,
        goes to slot (t - d + j) mod m_l; the other slots are written before they are read)."""
        if phase not in self._templates:
            slots, values = [], []
            for queue, d, m, offset in zip(self._queues, self._dilations, self._sizes, self._offsets, strict=True):
                slots += (offset + (phase - d + np.arange(d)) % m).tolist()
                values.append(queue)
            self._templates[phase] = np.array(slots, dtype=np.intp), np.concatenate(values)
        return self._templates[phase]

    def _bind(self, ring: np.ndarray, tokens: np.ndarray) -> None:
        self.tokens = np.ascontiguousarray(tokens)  # [B]
        self._ring = np.ascontiguousarray(ring, dtype=np.float32)  # [slots, B, C]
        self._logits = np.empty((len(tokens), self._runner.vocab_size), dtype=np.float32)  # [B, V]
        self._bindings: list = [None] * self._period  # made on first use
        self._runs: list = [None] * self._period
        self._rebind = not reads_inputs_in_place(self._runner.session)

    def _bind_inputs(self, binding: ort.IOBinding, phase: int) -> None:
        """tokens and, per layer, the ring slot that step `phase` reads (oldest_l: written d_l steps ago)."""
        _bind_input(binding, INPUT_TOKENS, self.tokens)
        for layer, (d, m, offset) in enumerate(zip(self._dilations, self._sizes, self._offsets, strict=True)):
            _bind_input(binding, oldest_name(layer), self._ring[offset + (phase - d) % m])

    def _run(self, phase: int):
        session = self._runner.session
        binding = session.io_binding()
        self._bind_inputs(binding, phase)
        _bind_output(binding, OUTPUT_LOGITS, self._logits)
        for layer, (m, offset) in enumerate(zip(self._sizes, self._offsets, strict=True)):
            _bind_output(binding, newest_name(layer), self._ring[offset + phase % m])
        self._bindings[phase] = binding  # keeps it alive
        self._runs[phase] = _runner(session, binding)
        return self._runs[phase]

    def step(self) -> np.ndarray:
        phase = self._t % self._period
        run = self._runs[phase]
        if run is None:
            run = self._run(phase)
        elif self._rebind:  # a device session copied the inputs when they were bound: copy them now
            self._bind_inputs(self._bindings[phase], phase)
        run()
        self._t += 1
        return self._logits

    def reset(self, slots: np.ndarray) -> None:
        ring_slots, values = self._template(self._t % self._period)  # [K], [K, C]
        # one call for all K ring slots (a loop over them cost 30 us per name at batch 1, 85 us per step at 1024)
        self._ring[ring_slots[:, None], slots[None, :]] = values[:, None, :]
        self.tokens[slots] = self._start_token

    def keep(self, mask: np.ndarray) -> None:
        self._bind(self._ring[:, mask], self.tokens[mask])


class _DeviceRingRows(_RingRows):
    """_RingRows with the ring [sum m_l, B, C] in device memory (an OrtValue): the same slots and phases,
    bound by device address, so a step moves only the tokens in and the logits out. Rows that start over
    are collected and written on the device before the next step by the restart graph, in place (its
    output bound to the ring itself); keep() gathers the kept rows into a new device ring."""

    def __init__(self, runner: StepRunner, start_state: np.ndarray, start_token: int, width: int,
                 device: DeviceState):
        self._device = device
        self._pending: list[np.ndarray] = []  # [k] rows that start over before the next step, per reset()
        super().__init__(runner, start_state, start_token, width)

    def _start(self, width: int) -> None:
        ring = self._device.allocate([sum(self._sizes), width, self._c])  # its values: written before read
        self._bind_device(ring, np.full(width, self._start_token, dtype=np.int64))
        self._pending = [np.arange(width)]  # every row starts: written by the first step

    def _bind_device(self, ring: ort.OrtValue, tokens: np.ndarray) -> None:
        self.tokens = np.ascontiguousarray(tokens)  # [B] on the host: sampled there, copied at each bind
        self._device_ring = ring  # [slots, B, C] on the device
        self._width = len(tokens)
        self._logits = np.empty((len(tokens), self._runner.vocab_size), dtype=np.float32)  # [B, V] on the host
        self._bindings = [None] * self._period
        self._runs = [None] * self._period
        self._pending = []

    def _slot(self, binding: ort.IOBinding, name: str, slot: int, output: bool = False) -> None:
        block = self._width * self._c
        self._device.bind(binding, name, self._device_ring, slot * block, [self._width, self._c], output)

    def _run(self, phase: int):
        session = self._runner.session
        binding = session.io_binding()
        _bind_output(binding, OUTPUT_LOGITS, self._logits)
        for layer, (d, m, offset) in enumerate(zip(self._dilations, self._sizes, self._offsets, strict=True)):
            self._slot(binding, oldest_name(layer), offset + (phase - d) % m)
            self._slot(binding, newest_name(layer), offset + phase % m, output=True)
        self._bindings[phase] = binding
        self._runs[phase] = _runner(session, binding)
        return self._runs[phase]

    def _restart(self) -> None:
        """Write the start queues of the pending rows into the slots where the next step reads them."""
        rows = np.unique(np.concatenate(self._pending)).astype(np.int64)  # [K]
        self._pending = []
        slots, values = self._template(self._t % self._period)  # [S], [S, C]
        feeds = {"slots": slots.astype(np.int64).reshape(-1, 1, 1), "rows": rows.reshape(1, -1, 1),
                 "values": np.ascontiguousarray(values.reshape(len(slots), 1, self._c))}
        session = self._device.open("restart", restart_graph())
        binding = session.io_binding()
        shape = [sum(self._sizes), self._width, self._c]
        self._device.bind(binding, "ring", self._device_ring, 0, shape)
        self._device.bind(binding, "ring_out", self._device_ring, 0, shape, output=True)  # in place
        for name, array in feeds.items():
            _bind_input(binding, name, array)  # host values, copied to the device here
        session.run_with_iobinding(binding)

    def step(self) -> np.ndarray:
        if self._pending:
            self._restart()
        phase = self._t % self._period
        run = self._runs[phase] or self._run(phase)
        _bind_input(self._bindings[phase], INPUT_TOKENS, self.tokens)  # copied to the device now
        run()
        self._t += 1
        return self._logits

    def reset(self, slots: np.ndarray) -> None:
        self._pending.append(np.asarray(slots))
        self.tokens[slots] = self._start_token

    def keep(self, mask: np.ndarray) -> None:
        if self._pending:
            self._restart()
        rows = np.flatnonzero(mask).astype(np.int64)  # [K]
        ring = self._device.allocate([sum(self._sizes), len(rows), self._c])
        session = self._device.open("keep", keep_graph())
        binding = session.io_binding()
        self._device.bind(binding, "ring", self._device_ring, 0, [sum(self._sizes), self._width, self._c])
        _bind_input(binding, "rows", rows)
        self._device.bind(binding, "kept", ring, 0, [sum(self._sizes), len(rows), self._c], output=True)
        session.run_with_iobinding(binding)
        self._bind_device(ring, self.tokens[mask])


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
        self._runner = runner
        self._start_state, self._start_token = start_state, start_token
        self._bind(np.repeat(start_state[None], width, axis=0), np.full(width, start_token, dtype=np.int64))

    def _bind(self, windows: np.ndarray, tokens: np.ndarray) -> None:
        session = self._runner.session
        self.tokens = np.ascontiguousarray(tokens)  # [B]
        self._windows = np.ascontiguousarray(windows, dtype=np.int64)  # [B, R]
        self._logits = np.empty((len(tokens), self._runner.vocab_size), dtype=np.float32)  # [B, V]
        self._binding = session.io_binding()
        _bind_input(self._binding, INPUT_TOKENS, self._windows)
        _bind_output(self._binding, OUTPUT_LOGITS, self._logits)
        self._run = _runner(session, self._binding)
        self._rebind = not reads_inputs_in_place(session)

    def step(self) -> np.ndarray:
        self._windows[:, :-1] = self._windows[:, 1:]  # overlapping copy: numpy buffers it
        self._windows[:, -1] = self.tokens
        if self._rebind:  # a device session copied the window when it was bound: copy it now
            _bind_input(self._binding, INPUT_TOKENS, self._windows)
        self._run()
        return self._logits

    def reset(self, slots: np.ndarray) -> None:
        self._windows[slots] = self._start_state
        self.tokens[slots] = self._start_token

    def keep(self, mask: np.ndarray) -> None:
        self._bind(self._windows[mask], self.tokens[mask])


def _probe_period(runner: GraphRunner) -> int:
    """The ring period of a step graph (the bindings repeat with it); a window graph: 8."""
    config = getattr(runner, "config", None)
    return max(1 << d.bit_length() for d in config.layer_dilations) if config is not None else 8


def probe_steps(runner: GraphRunner) -> int:
    """How many steps probe_logits runs on `runner`."""
    return _probe_plan(_probe_period(runner))[0]


def _probe_plan(period: int) -> tuple[int, dict[int, list[int]], int]:
    """The probe's steps, its restarts {step: rows} and the step before which row 1 is dropped: every ring
    phase is seen twice, rows restart at different phases, before and after the batch shrinks."""
    steps = 2 * period + 8
    return steps, {3: [1], 7: [0, 2], period + 1: [3], period + 5: [0], 2 * period + 2: [1, 2]}, period + 3


def probe_logits(runner: GraphRunner, path: str = "host") -> np.ndarray:
    """The logits of a fixed probe, all steps' rows flattened [N] float32: 4 rows from the start, fed fixed
    pseudo-random tokens (teacher-forced: no sampling), restarting rows and dropping one, as generation
    does. path (format-2 step graphs): "host" (the host ring, rebound before each step where the session
    copies its inputs), "device" (the state on `runner`'s device); "auto", any graph: what generation uses."""
    steps, restarts, drop_at = _probe_plan(_probe_period(runner))
    width = 4
    start = runner.initial_state(1)[0]
    if path == "auto":
        rows = runner.rows(start, BOUNDARY_ID, width)
    elif not isinstance(runner, StepRunner) or runner.format_version == 1:
        raise ValueError("the host and device paths are those of format-2 step graphs")
    elif path == "device":
        device = runner.device if runner.device is not None else device_state(runner.session)
        if device is None:
            raise ValueError("the session keeps no state on a device")
        rows = _DeviceRingRows(runner, start, BOUNDARY_ID, width, device)
    else:
        rows = _RingRows(runner, start, BOUNDARY_ID, width)
    rng = np.random.default_rng(0)
    kept = np.arange(width)  # the probe's row numbers still in the batch
    out = []
    for t in range(steps):
        if t == drop_at:
            mask = kept != 1
            rows.keep(mask)
            kept = kept[mask]
        if t in restarts:
            slots = np.flatnonzero(np.isin(kept, restarts[t]))
            if len(slots):
                rows.reset(slots)
        out.append(rows.step().ravel().copy())
        rows.tokens[:] = rng.integers(1, runner.vocab_size, size=len(rows.tokens))
    return np.concatenate(out)


def logit_difference(got: np.ndarray, want: np.ndarray) -> float:
    """The largest |got - want| relative to the largest |want| (at least 1); inf for a NaN or an infinity."""
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0) / max(1.0, float(np.abs(want).max())))


class ProviderDisagrees(ProviderError):
    """A named provider whose logits disagree with the CPU provider's (check_device_path); `runner` is the
    runner on it, its state kept on the host (wn-info --check reports on it)."""

    def __init__(self, runner: StepRunner, message: str):
        super().__init__(message)
        self.runner = runner


def describe_difference(difference: float) -> str:
    """A logit difference for a message: "0.35", or what a non-finite one means."""
    return f"{difference:.2g}" if np.isfinite(difference) else "NaN or infinite logits"


@dataclass
class DeviceCheck:
    """check_device_path's comparison: each path's largest relative logit difference from the CPU's."""

    provider: str
    device: float  # the state on the device
    host: float  # the state on the host, rebound before each step
    seconds: float

    @property
    def device_ok(self) -> bool:
        return self.device <= LOGIT_TOLERANCE

    @property
    def host_ok(self) -> bool:
        return self.host <= LOGIT_TOLERANCE

    def details(self) -> str:
        return (f"device check of {self.provider}: largest logit difference from the CPU provider, relative to the "
                f"largest logit: {self.device:.2e} with the state on the device, {self.host:.2e} with it on the "
                f"host (tolerance {LOGIT_TOLERANCE:g}); {self.seconds * 1e3:.1f} ms")


def check_device_path(runner: GraphRunner, path: str | Path, auto: bool) -> bool:
    """Check a device session's generation paths against a CPU session of the same file (`path`), once, at
    load. Returns True to go on with `runner` (on its device path when that agrees, else with the state on
    the host and one warning), False when "auto" (`auto`) should take the CPU instead (after one warning);
    raises ProviderError for a named provider that disagrees with the CPU. Sessions without device state
    (the CPU, window and format-1 graphs, providers the runtime does not allocate for): True at once."""
    if not isinstance(runner, StepRunner) or runner.format_version == 1 or reads_inputs_in_place(runner.session):
        return True
    device = device_state(runner.session)
    if device is None:
        return True
    runner.device = device
    start = time.perf_counter()
    cpu = StepRunner(create_session(path, [CPU_PROVIDER], threads=1), runner.metadata)
    want = probe_logits(cpu)
    result = DeviceCheck(runner.session.get_providers()[0], logit_difference(probe_logits(runner, "device"), want),
                         logit_difference(probe_logits(runner, "host"), want), 0.0)
    result.seconds = time.perf_counter() - start
    runner.device_check = result
    log.info("%s", result.details())
    if result.device_ok:
        return True
    if result.host_ok:
        runner.state_on_device = False
        log.warning("%s: the generation state on the device disagrees with the CPU here (logits differ by %s); "
                    "the state stays on the host", result.provider, describe_difference(result.device))
        return True
    runner.state_on_device = False
    if auto:
        log.warning("%s disagrees with the CPU provider here (logits differ by %s); using %s", result.provider,
                    describe_difference(min(result.device, result.host)), CPU_PROVIDER)
        return False
    differ = describe_difference(min(result.device, result.host))
    raise ProviderDisagrees(runner, f"execution provider {result.provider} disagrees with the CPU provider here "
                                    f"(logits differ by {differ}, tolerance {LOGIT_TOLERANCE:g}); wn-info --check "
                                    f"tells more")


def make_runner(session: ort.InferenceSession, metadata: ModelMetadata) -> GraphRunner:
    return StepRunner(session, metadata) if metadata.graph == GRAPH_STEP else WindowRunner(session, metadata)
