"""A stand-in for a CUDA session, run on the CPU: every CPU buffer bound as an input is copied when it is
bound, as ONNX Runtime does when the node that reads it runs on another device (issue 16).

    session = BindCopySession(cpu_session)   # reports the CUDA provider first, like a real CUDA session
    model = WavenetModel(session, metadata, path)

Under a plain CPU session a bound input is read in place at every run, so a binding made once and reused
sees the buffer's current values; under this stand-in (and on a GPU) it sees the values of the moment it
was bound. Outputs bound to CPU buffers are written at every run, on both. The private `_sess` of
onnxruntime's wrapper is not exposed, so callers take the public `run_with_iobinding` path.

Device memory: `StandInDevice` (runtime.graphs.DeviceState on the CPU) allocates "device" tensors in host
memory and records where they lie; a stand-in session reads a buffer bound there in place at every run,
as a CUDA session reads its device memory, and counts everything else: the bytes of host inputs copied at
bind time and the names of outputs bound to host memory (what came back to the host).

    device = StandInDevice(cpu_session)
    session = BindCopySession(cpu_session, device)   # runtime.graphs.device_state(session) -> device
"""

from __future__ import annotations

import ctypes

import numpy as np
import onnxruntime as ort

from wavenet_edge.runtime.graphs import DeviceState

STAND_IN_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]


class StandInDevice(DeviceState):
    """DeviceState for the stand-in: "device" memory is host memory that its sessions read in place."""

    def __init__(self, session: ort.InferenceSession):
        super().__init__(session, "cpu", 0)  # session: the plain CPU session of the model
        self.blocks: list[ort.OrtValue] = []  # every allocation (kept alive: its address stays "device")
        self.copied_bytes = 0  # host input bytes copied at bind time, by all the stand-in's sessions
        self.host_outputs: list[str] = []  # outputs bound to host memory, by name, once per binding

    def allocate(self, shape: list[int]) -> ort.OrtValue:
        value = ort.OrtValue.ortvalue_from_shape_and_type([int(d) for d in shape], np.float32, "cpu", 0)
        value.numpy()[...] = np.nan  # uninitialised memory: a value read before it is written shows up
        self.blocks.append(value)
        return value

    def on_device(self, pointer: int, nbytes: int) -> bool:
        for block in self.blocks:
            start = block.data_ptr()
            if start <= pointer and pointer + nbytes <= start + block.numpy().nbytes:
                return True
        return False

    def open(self, name: str, graph: bytes):  # the ring graphs' sessions are stand-ins too
        if name not in self._graphs:
            self._graphs[name] = BindCopySession(ort.InferenceSession(graph, providers=["CPUExecutionProvider"]),
                                                 self)  # type: ignore[assignment]
        return self._graphs[name]


class CopyingBinding:
    """An IOBinding whose host inputs are snapshots taken at bind time (device ones: read in place)."""

    def __init__(self, inner: ort.IOBinding, device: StandInDevice | None = None):
        self.inner = inner
        self.device = device
        self._copies: dict[str, np.ndarray] = {}  # name -> the snapshot the graph reads (kept alive here)

    def bind_input(self, name, device_type, device_id, element_type, shape, buffer_ptr) -> None:
        dtype = np.dtype(element_type)
        nbytes = int(np.prod([int(d) for d in shape], dtype=np.int64)) * dtype.itemsize
        if self.device is not None and self.device.on_device(buffer_ptr, nbytes):
            self.inner.bind_input(name, device_type, device_id, dtype, list(shape), buffer_ptr)
            return
        if self.device is not None:
            self.device.copied_bytes += nbytes
        copy = np.empty([int(d) for d in shape], dtype=dtype)
        ctypes.memmove(copy.ctypes.data, buffer_ptr, copy.nbytes)  # the bytes as they are now
        self._copies[name] = copy
        self.inner.bind_input(name, device_type, device_id, dtype, list(copy.shape), copy.ctypes.data)

    def bind_cpu_input(self, name, array) -> None:
        self._copies[name] = np.array(array, copy=True)
        self.inner.bind_cpu_input(name, self._copies[name])

    def bind_ortvalue_input(self, name, ortvalue) -> None:
        if ortvalue.device_name().lower() == "cpu":
            self._copies[name] = np.array(ortvalue.numpy(), copy=True)
            ortvalue = ort.OrtValue.ortvalue_from_numpy(self._copies[name])
        self.inner.bind_ortvalue_input(name, ortvalue)

    def bind_output(self, name, device_type, device_id, element_type, shape, buffer_ptr) -> None:
        dtype = np.dtype(element_type)
        nbytes = int(np.prod([int(d) for d in shape], dtype=np.int64)) * dtype.itemsize
        if self.device is not None and not self.device.on_device(buffer_ptr, nbytes):
            self.device.host_outputs.append(name)
        self.inner.bind_output(name, device_type, device_id, dtype, list(shape), buffer_ptr)

    def __getattr__(self, name):  # outputs, synchronize_*, clear_*: as the real binding does
        return getattr(self.inner, name)


class BindCopySession:
    """An InferenceSession that copies bound CPU inputs at bind time and says it runs on CUDA; with a
    `device`, memory that device allocated is read in place (device memory)."""

    def __init__(self, inner: ort.InferenceSession, device: StandInDevice | None = None):
        self.inner = inner
        self.device = device

    def get_providers(self) -> list[str]:
        return list(STAND_IN_PROVIDERS)

    def io_binding(self) -> CopyingBinding:
        return CopyingBinding(self.inner.io_binding(), self.device)

    def run_with_iobinding(self, binding: CopyingBinding, run_options=None) -> None:
        self.inner.run_with_iobinding(binding.inner, run_options)

    def __getattr__(self, name):
        if name == "_sess":  # no private fast path: it would bypass the copying binding
            raise AttributeError(name)
        return getattr(self.inner, name)
