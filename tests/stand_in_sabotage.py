"""Stand-in CUDA sessions (tests/bind_copy.py), honest and sabotaged, loaded through WavenetModel.load.

    as_cuda(monkeypatch, "restarts dropped")     # WavenetModel.load(path, provider="cuda") gets it
    SABOTAGE                                      # kind -> (session class, device class)

Sabotages: "restarts dropped" (the ScatterND restart graph's writes never land), "keep gathers wrong rows"
(the kept rows gathered in the opposite order): the device path is wrong, the host path right; "stale
binding" (an input bound again keeps its first values): wrong either way.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from bind_copy import BindCopySession, CopyingBinding, StandInDevice

from wavenet_edge.runtime import graphs
from wavenet_edge.runtime import model as model_module
from wavenet_edge.runtime.providers import CPU, CUDA

__all__ = ["SABOTAGE", "as_cuda"]


class _DeadSession:
    """A ring-graph session whose runs do nothing: the device memory is never written."""

    def __init__(self, inner):
        self.inner = inner

    def run_with_iobinding(self, binding, run_options=None) -> None:
        pass

    def __getattr__(self, name):
        return getattr(self.inner, name)


class RestartsDropped(StandInDevice):
    """The restart graph's writes never land (as an out-of-place ScatterND on a real device would lose them)."""

    def open(self, name: str, graph: bytes):
        session = super().open(name, graph)
        return _DeadSession(session) if name == "restart" else session


class _ReversedKeep:
    def __init__(self, inner):
        self.inner = inner

    def io_binding(self):
        binding = self.inner.io_binding()
        real = binding.bind_input

        def bind_input(name, device_type, device_id, element_type, shape, buffer_ptr):
            if name == "rows":  # gather the kept rows in the opposite order
                rows = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_int64 * int(shape[0])).from_address(buffer_ptr))
                self._reversed = np.ascontiguousarray(rows[::-1])
                buffer_ptr = self._reversed.ctypes.data
            real(name, device_type, device_id, element_type, shape, buffer_ptr)

        binding.bind_input = bind_input
        return binding

    def __getattr__(self, name):
        return getattr(self.inner, name)


class KeepGathersWrongRows(StandInDevice):
    def open(self, name: str, graph: bytes):
        session = super().open(name, graph)
        return _ReversedKeep(session) if name == "keep" else session


class StaleBinding(CopyingBinding):
    """An input bound again keeps the values of its first binding (the binding goes stale)."""

    def bind_input(self, name, device_type, device_id, element_type, shape, buffer_ptr) -> None:
        if name in self._copies:
            return
        super().bind_input(name, device_type, device_id, element_type, shape, buffer_ptr)


class StaleSession(BindCopySession):
    def io_binding(self) -> CopyingBinding:
        return StaleBinding(self.inner.io_binding(), self.device)


SABOTAGE = {
    "honest": (BindCopySession, StandInDevice),
    "restarts dropped": (BindCopySession, RestartsDropped),
    "keep gathers wrong rows": (BindCopySession, KeepGathersWrongRows),
    "stale binding": (StaleSession, StandInDevice),
}


def as_cuda(monkeypatch, kind: str) -> None:
    """WavenetModel.load with provider "cuda" or "auto" gets the stand-in `kind` as its CUDA session."""
    session_class, device_class = SABOTAGE[kind]
    real = model_module.create_session

    def create_session(path, providers, threads=None, session_options=None):
        if providers[0] != CUDA:
            return real(path, providers, threads=threads, session_options=session_options)
        cpu = real(path, [CPU], threads=1)
        return session_class(cpu, device_class(cpu))

    monkeypatch.setattr(model_module, "create_session", create_session)
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(graphs, "device_state", lambda session: getattr(session, "device", None))
