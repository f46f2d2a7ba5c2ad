"""A stand-in for a CUDA session, run on the CPU: every CPU buffer bound as an input is copied when it is
bound, as ONNX Runtime does when the node that reads it runs on another device (issue 16).

    session = BindCopySession(cpu_session)   # reports the CUDA provider first, like a real CUDA session
    model = WavenetModel(session, metadata, path)

Under a plain CPU session a bound input is read in place at every run, so a binding made once and reused
sees the buffer's current values; under this stand-in (and on a GPU) it sees the values of the moment it
was bound. Outputs bound to CPU buffers are written at every run, on both. The private `_sess` of
onnxruntime's wrapper is not exposed, so callers take the public `run_with_iobinding` path.
"""

from __future__ import annotations

import ctypes

import numpy as np
import onnxruntime as ort

STAND_IN_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]


class CopyingBinding:
    """An IOBinding whose inputs are snapshots taken at bind time."""

    def __init__(self, inner: ort.IOBinding):
        self.inner = inner
        self._copies: dict[str, np.ndarray] = {}  # name -> the snapshot the graph reads (kept alive here)

    def bind_input(self, name, device_type, device_id, element_type, shape, buffer_ptr) -> None:
        dtype = np.dtype(element_type)
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

    def __getattr__(self, name):  # outputs, synchronize_*, clear_*: as the real binding does
        return getattr(self.inner, name)


class BindCopySession:
    """An InferenceSession that copies bound CPU inputs at bind time and says it runs on CUDA."""

    def __init__(self, inner: ort.InferenceSession):
        self.inner = inner

    def get_providers(self) -> list[str]:
        return list(STAND_IN_PROVIDERS)

    def io_binding(self) -> CopyingBinding:
        return CopyingBinding(self.inner.io_binding())

    def run_with_iobinding(self, binding: CopyingBinding, run_options=None) -> None:
        self.inner.run_with_iobinding(binding.inner, run_options)

    def __getattr__(self, name):
        if name == "_sess":  # no private fast path: it would bypass the copying binding
            raise AttributeError(name)
        return getattr(self.inner, name)
