"""Generation is correct on a session that copies bound inputs at bind time, as a CUDA session does
(issue 16): every graph kind and format gives exactly the CPU session's names and log-probabilities,
at every batch size, with and without a prefix. `BindCopySession` (tests/bind_copy.py) is the stand-in.
Before the fix, bindings made once per ring phase were reused, and these names differed from step 17 on.

Two stand-ins: one without device memory (the host ring, rebound before every step: what a provider the
runtime does not allocate for gets) and one with a `StandInDevice`, on which a format-2 ring lives in
"device" memory (runtime.graphs._DeviceRingRows, what the CUDA provider gets): the same names, and per
step only the tokens go in and only the logits come back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bind_copy import STAND_IN_PROVIDERS, BindCopySession, StandInDevice

from wavenet_edge.runtime import WavenetModel, graphs

TESTS = Path(__file__).resolve().parent
FILES = {
    "step, format 2": TESTS / "fixtures" / "tiny-step.onnx",
    "step, format 1": TESTS / "data" / "format1-step.onnx",
    "window": TESTS / "fixtures" / "tiny-window.onnx",
    "lecture window": TESTS / "fixtures" / "tiny-lecture-window.onnx",
}
N = 400  # names: many row restarts at every batch size below, and names longer than the 16 ring phases


def _stand_in(model: WavenetModel, device: bool = False) -> WavenetModel:
    session = BindCopySession(model.session, StandInDevice(model.session) if device else None)
    return WavenetModel(session, model.metadata, model.path, threads=1)


@pytest.fixture(autouse=True)
def stand_in_devices(monkeypatch):
    """runtime.graphs.device_state finds a stand-in's device (None: none), never a real CUDA device."""
    monkeypatch.setattr(graphs, "device_state", lambda session: getattr(session, "device", None))


@pytest.fixture(scope="module", params=[(f, d) for f in FILES for d in (False, True)],
                ids=[f"{f}{', device memory' if d else ''}" for f in FILES for d in (False, True)])
def models(request):
    name, device = request.param
    cpu = WavenetModel.load(FILES[name], provider="cpu", threads=1)
    return cpu, _stand_in(cpu, device)


def test_the_stand_in_copies_at_bind_time_as_cuda_does():
    """The premise: a binding reused after its buffer changed runs on the old values under the stand-in,
    on the new ones under the CPU session."""
    cpu = WavenetModel.load(FILES["window"], provider="cpu", threads=1)
    field = cpu.metadata.receptive_field
    outputs = {}
    for label, session in (("cpu", cpu.session), ("stand-in", BindCopySession(cpu.session))):
        tokens = np.zeros((1, field), dtype=np.int64)
        logits = np.empty((1, cpu.metadata.config.vocab_size), dtype=np.float32)
        binding = session.io_binding()
        binding.bind_input("tokens", "cpu", 0, np.int64, [1, field], tokens.ctypes.data)
        binding.bind_output("logits", "cpu", 0, np.float32, list(logits.shape), logits.ctypes.data)
        session.run_with_iobinding(binding)
        before = logits.copy()
        tokens[0, -1] = 3
        session.run_with_iobinding(binding)
        outputs[label] = not np.array_equal(before, logits)  # did the run see the new token?
    assert outputs == {"cpu": True, "stand-in": False}
    from wavenet_edge.runtime.graphs import reads_inputs_in_place  # here: the other tests run on older code too
    assert reads_inputs_in_place(cpu.session)
    assert not reads_inputs_in_place(BindCopySession(cpu.session))
    assert BindCopySession(cpu.session).get_providers() == STAND_IN_PROVIDERS


@pytest.mark.parametrize("batch_size", [1, 7, 64, 512])
@pytest.mark.parametrize("prefix", ["", "a"])
def test_names_equal_the_cpu_sessions(models, batch_size, prefix):
    cpu, stand_in = models
    kwargs = dict(seed=3, prefix=prefix, batch_size=batch_size, return_logprobs=True)
    expected = cpu.generate(N, **kwargs)
    got = stand_in.generate(N, **kwargs)
    assert [name for name, _ in got] == [name for name, _ in expected]
    assert [lp for _, lp in got] == [lp for _, lp in expected]  # the same floats: the same graph inputs


def test_scores_equal_the_cpu_sessions(models):
    cpu, stand_in = models
    names = [name for name in cpu.generate(50, seed=1)]
    assert np.array_equal(stand_in.score(names).logprobs, cpu.score(names).logprobs)


@pytest.mark.parametrize("batch_size", [1, 64])
def test_device_state_moves_only_tokens_in_and_logits_out(batch_size):
    """On the device path the rings stay in device memory: per step the host sends the tokens (8 bytes a
    row) and, for rows that start over, their row numbers and the phase's start queues; the only output
    bound to host memory is the logits. The host ring of the rebinding path sends every queue slot it reads."""
    cpu = WavenetModel.load(FILES["step, format 2"], provider="cpu", threads=1)
    model = _stand_in(cpu, device=True)
    device = model.session.device
    names = model.generate(N, seed=5, batch_size=batch_size)
    assert names == cpu.generate(N, seed=5, batch_size=batch_size)
    assert device.blocks, "no ring was allocated on the device"
    assert set(device.host_outputs) == {"logits"}
    steps = sum(len(name) + 1 for name in names)  # one step per character and end token, over all rows
    config = cpu.metadata.config
    slot_bytes = batch_size * config.channels * 4  # one queue slot of every row
    start_queues = sum(config.layer_dilations) * config.channels * 4  # one restart's template, float32
    per_step = device.copied_bytes / (steps / batch_size)
    assert per_step < 8 * batch_size + start_queues + 8 * batch_size + 200, per_step  # tokens, template, rows
    assert per_step < len(config.layer_dilations) * slot_bytes  # less than the oldest slots alone


def test_the_ring_graphs_restart_in_place_and_keep_rows():
    """runtime/ring_graphs.py: valid ONNX, and what the module says they compute, the restart in place."""
    onnx = pytest.importorskip("onnx")
    import onnxruntime as ort

    from wavenet_edge.runtime.ring_graphs import keep_graph, restart_graph
    for graph in (restart_graph(), keep_graph()):
        onnx.checker.check_model(onnx.load_from_string(graph), full_check=True)
    rng = np.random.default_rng(0)
    ring = rng.standard_normal((6, 5, 3)).astype(np.float32)
    expected = ring.copy()
    slots, rows = np.array([1, 4]), np.array([0, 3])
    values = rng.standard_normal((2, 3)).astype(np.float32)
    expected[slots[:, None], rows[None, :]] = values[:, None, :]
    session = ort.InferenceSession(restart_graph(), providers=["CPUExecutionProvider"])
    binding = session.io_binding()
    feeds = {"slots": slots.reshape(-1, 1, 1), "rows": rows.reshape(1, -1, 1), "values": values.reshape(2, 1, 3)}
    for name, array in {"ring": ring, **feeds}.items():
        binding.bind_input(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)
    binding.bind_output("ring_out", "cpu", 0, np.float32, list(ring.shape), ring.ctypes.data)
    session.run_with_iobinding(binding)
    assert np.array_equal(ring, expected)
    keep = ort.InferenceSession(keep_graph(), providers=["CPUExecutionProvider"])
    assert np.array_equal(keep.run(None, {"ring": ring, "rows": np.array([4, 0])})[0], ring[:, [4, 0]])


@pytest.mark.parametrize("batch_size", [1, 64])
def test_the_device_state_class_itself_on_the_cpu(monkeypatch, batch_size):
    """runtime.graphs.DeviceState (not the stand-in's twin) with "cpu" as its device: its allocation, its
    ring graphs' sessions and its bindings by address run the device path to the CPU's names."""
    cpu = WavenetModel.load(FILES["step, format 2"], provider="cpu", threads=1)
    expected = cpu.generate(N, seed=6, batch_size=batch_size, return_logprobs=True)
    monkeypatch.setattr(graphs, "reads_inputs_in_place", lambda session: False)
    monkeypatch.setattr(graphs, "device_state", lambda session: graphs.DeviceState(session, "cpu", 0))
    model = WavenetModel.load(FILES["step, format 2"], provider="cpu", threads=1)
    assert model.generate(N, seed=6, batch_size=batch_size, return_logprobs=True) == expected
    assert isinstance(model.runner.device, graphs.DeviceState)
    assert set(model.runner.device._graphs) == ({"restart", "keep"} if batch_size > 1 else {"restart"})
