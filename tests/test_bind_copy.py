"""Generation is correct on a session that copies bound inputs at bind time, as a CUDA session does
(issue 16): every graph kind and format gives exactly the CPU session's names and log-probabilities,
at every batch size, with and without a prefix. `BindCopySession` (tests/bind_copy.py) is the stand-in.
Before the fix, bindings made once per ring phase were reused, and these names differed from step 17 on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bind_copy import STAND_IN_PROVIDERS, BindCopySession

from wavenet_edge.runtime import WavenetModel

TESTS = Path(__file__).resolve().parent
FILES = {
    "step, format 2": TESTS / "fixtures" / "tiny-step.onnx",
    "step, format 1": TESTS / "data" / "format1-step.onnx",
    "window": TESTS / "fixtures" / "tiny-window.onnx",
    "lecture window": TESTS / "fixtures" / "tiny-lecture-window.onnx",
}
N = 400  # names: many row restarts at every batch size below, and names longer than the 16 ring phases


def _stand_in(model: WavenetModel) -> WavenetModel:
    return WavenetModel(BindCopySession(model.session), model.metadata, model.path, threads=1)


@pytest.fixture(scope="module", params=list(FILES), ids=list(FILES))
def models(request):
    cpu = WavenetModel.load(FILES[request.param], provider="cpu", threads=1)
    return cpu, _stand_in(cpu)


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
