"""No silently wrong device path: WavenetModel.load checks a session with generation state on a device
(runtime.graphs.check_device_path) against the host path and a CPU session, and acts on what it finds.

The device is the stand-in of tests/bind_copy.py, loaded through WavenetModel.load as a CUDA session would
be (tests/stand_in_sabotage.py). Honest, it must pass unnoticed; sabotaged, each branch must be taken:
  - restart writes dropped (the ScatterND restart graph does nothing) or kept rows gathered wrong: the
    device path is wrong, the host path right -> the host path, one warning;
  - a stale binding (an input bound again keeps its first values): wrong either way -> "auto" takes the
    CPU with one warning, a named provider is an error in one line.
These tests fail if the load-time check is removed (the sabotaged models then generate wrong names).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from stand_in_sabotage import SABOTAGE, as_cuda

from wavenet_edge.runtime import WavenetModel, cli, graphs
from wavenet_edge.runtime.common.errors import WavenetEdgeError
from wavenet_edge.runtime.providers import CPU, CUDA, ProviderError

STEP = Path(__file__).resolve().parent / "fixtures" / "tiny-step.onnx"
N = 200


@pytest.fixture(scope="module")
def expected():
    cpu = WavenetModel.load(STEP, provider="cpu", threads=1)
    return {batch: cpu.generate(N, seed=4, batch_size=batch, return_logprobs=True) for batch in (1, 32)}


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("provider", ["cuda", "auto"])
def test_an_honest_device_is_used_without_a_word(monkeypatch, caplog, expected, provider):
    as_cuda(monkeypatch, "honest")
    with caplog.at_level(logging.INFO, logger="wavenet_edge"):
        model = WavenetModel.load(STEP, provider=provider)
    assert model.providers[0] == CUDA and model.runner.state_on_device
    assert _warnings(caplog) == []
    check = model.runner.device_check
    assert check is not None and check.device == 0.0 and check.host == 0.0, check
    assert [r.getMessage() for r in caplog.records] == [check.details()]  # --verbose shows it
    for batch, want in expected.items():
        assert model.generate(N, seed=4, batch_size=batch, return_logprobs=True) == want
    assert model.session.device.blocks, "generation did not keep its state on the device"


@pytest.mark.parametrize("kind", ["restarts dropped", "keep gathers wrong rows"])
@pytest.mark.parametrize("provider", ["cuda", "auto"])
def test_a_wrong_device_path_falls_back_to_the_host_path(monkeypatch, caplog, expected, kind, provider):
    as_cuda(monkeypatch, kind)
    with caplog.at_level(logging.INFO, logger="wavenet_edge"):
        model = WavenetModel.load(STEP, provider=provider)
    check = model.runner.device_check
    assert check is not None and not check.device_ok and check.host_ok
    assert model.providers[0] == CUDA and not model.runner.state_on_device
    assert _warnings(caplog) == [f"{CUDA}: the generation state on the device disagrees with the CPU here (logits "
                                 f"differ by {graphs.describe_difference(check.device)}); the state stays on the host"]
    blocks = len(model.session.device.blocks)
    for batch, want in expected.items():
        assert model.generate(N, seed=4, batch_size=batch, return_logprobs=True) == want
    assert len(model.session.device.blocks) == blocks  # no ring on the device after the check


def test_the_sabotaged_device_path_is_wrong_without_the_check(monkeypatch, expected):
    """The premise of the tests above: used without the check, each sabotaged path gives wrong names."""
    monkeypatch.setattr(graphs, "device_state", lambda session: getattr(session, "device", None))
    cpu = WavenetModel.load(STEP, provider="cpu", threads=1)
    for kind in ("restarts dropped", "keep gathers wrong rows", "stale binding"):
        session_class, device_class = SABOTAGE[kind]
        model = WavenetModel(session_class(cpu.session, device_class(cpu.session)), cpu.metadata, cpu.path)
        try:
            got = model.generate(N, seed=4, batch_size=32, return_logprobs=True, max_samples=2 * N)
        except WavenetEdgeError:  # NaN logits: only empty names, none of which counts
            got = None
        assert got != expected[32], kind


def test_auto_takes_the_cpu_when_the_provider_disagrees_either_way(monkeypatch, caplog, expected):
    as_cuda(monkeypatch, "stale binding")
    with caplog.at_level(logging.INFO, logger="wavenet_edge"):
        model = WavenetModel.load(STEP, provider="auto")
    assert model.providers == [CPU]
    (line,) = _warnings(caplog)
    assert line.startswith(f"{CUDA} disagrees with the CPU provider here (logits differ by ")
    assert line.endswith(f"); using {CPU}")
    for batch, want in expected.items():
        assert model.generate(N, seed=4, batch_size=batch, return_logprobs=True) == want


def test_a_named_provider_that_disagrees_is_an_error(monkeypatch):
    as_cuda(monkeypatch, "stale binding")
    with pytest.raises(ProviderError) as info:
        WavenetModel.load(STEP, provider="cuda")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"execution provider {CUDA} disagrees with the CPU provider here (logits differ by ")
    assert message.endswith("tolerance 0.001); wn-info --check tells more")


def test_the_commands_say_it_in_one_line(monkeypatch):
    """wn-generate: the fallback's one line on stderr (--verbose adds the comparison); the named provider's
    error is one line with exit status 2."""
    as_cuda(monkeypatch, "restarts dropped")
    args = ["--onnx", str(STEP), "-n", "5", "--seed", "1"]
    want = CliRunner().invoke(cli.generate_command, [*args, "--provider", "cpu"]).stdout
    plain = CliRunner().invoke(cli.generate_command, [*args, "--provider", "cuda"])
    assert plain.exit_code == 0 and plain.stdout == want
    (line,) = plain.stderr.splitlines()
    assert line.startswith(f"warning: {CUDA}: the generation state on the device disagrees with the CPU here")
    verbose = CliRunner().invoke(cli.generate_command, [*args, "--provider", "cuda", "--verbose"])
    assert verbose.exit_code == 0 and verbose.stdout == want
    assert f"note: device check of {CUDA}: largest logit difference" in verbose.stderr
    assert f"warning: {CUDA}: the generation state on the device disagrees" in verbose.stderr
    as_cuda(monkeypatch, "stale binding")
    named = CliRunner().invoke(cli.generate_command, [*args, "--provider", "cuda"])
    assert named.exit_code == 2 and named.stdout == ""
    assert named.stderr.startswith(f"Error: execution provider {CUDA} disagrees with the CPU provider here")
    assert len(named.stderr.splitlines()) == 1
    auto = CliRunner().invoke(cli.generate_command, [*args, "--provider", "auto"])
    assert auto.exit_code == 0 and auto.stdout == want
    assert auto.stderr.splitlines() == [line for line in auto.stderr.splitlines() if line.startswith("warning: ")]
    assert len(auto.stderr.splitlines()) == 1 and auto.stderr.rstrip().endswith(f"using {CPU}")
    assert logging.getLogger("wavenet_edge").handlers == []


def test_the_check_costs_little(monkeypatch):
    """The load-time check's time, as --verbose reports it (docs/providers.md gives the shipped model's)."""
    as_cuda(monkeypatch, "honest")
    model = WavenetModel.load(STEP, provider="cuda")
    assert model.runner.device_check is not None and model.runner.device_check.seconds < 2.0
