"""The OpenVINO execution provider (onnxruntime-openvino in place of onnxruntime; .ci/run builds that
environment and runs the provider tests there): the shipped model on it gives the CPU provider's names and
scores, the provider check passes, and its start-up and failure messages are the documented ones
(docs/providers.md). Skipped, with one line, where the installed onnxruntime has no OpenVINO provider.

Agreement measured with onnxruntime-openvino 1.24.1 on an x86-64 CPU: every name equal at batch 1, 256
and 4,096 (the near-tie rate is 0 here: a name differs only where a rounding difference of ~1e-7 of a
logit moves a probability across a draw); log-probabilities within 6.3e-7 per character (asserted: 1e-6),
the mean NLL per character within 1e-9 (asserted: 1e-6).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from wavenet_edge.runtime import WavenetModel, cli, resolve_providers
from wavenet_edge.runtime.providers import CPU, OPENVINO

pytestmark = pytest.mark.skipif(OPENVINO not in ort.get_available_providers(),
                                reason="no OpenVINO execution provider (onnxruntime-openvino is not installed)")

SCORE_TOLERANCE = 1e-6  # per character of log-probability, and of the mean NLL per character
RUNS = {1: 100, 256: 1000, 4096: 4096}  # batch size -> names (batch 1 on OpenVINO: ~15 ms a name here)


@pytest.fixture(scope="module")
def models():
    return (WavenetModel.load_shipped(provider="openvino", threads=1),
            WavenetModel.load_shipped(provider="cpu", threads=1))


def test_the_short_and_full_names_start_it(models):
    assert resolve_providers("openvino") == [OPENVINO]
    assert resolve_providers(OPENVINO) == [OPENVINO]
    assert models[0].providers[0] == OPENVINO
    assert resolve_providers("auto") == [CPU]  # auto never picks it (docs/providers.md: measured slower)


@pytest.mark.parametrize("batch_size", list(RUNS))
def test_names_equal_the_cpu_providers(models, batch_size):
    openvino, cpu = models
    n = RUNS[batch_size]
    got = openvino.generate(n, seed=0, batch_size=batch_size, return_logprobs=True)
    want = cpu.generate(n, seed=0, batch_size=batch_size, return_logprobs=True)
    assert [name for name, _ in got] == [name for name, _ in want]
    per_char = [abs(a - b) / (len(name) + 1) for (name, a), (_, b) in zip(got, want, strict=True)]
    assert max(per_char) <= SCORE_TOLERANCE


def test_scores_within_1e_6(models):
    openvino, cpu = models
    items = cpu.generate(2000, seed=3, batch_size=256)
    got, want = openvino.score(items), cpu.score(items)
    chars = np.array([len(item) + 1 for item in items])
    assert np.max(np.abs(np.array(got.logprobs) - np.array(want.logprobs)) / chars) <= SCORE_TOLERANCE
    assert abs(got.nll_per_char - want.nll_per_char) <= SCORE_TOLERANCE


def test_the_check_passes(models):
    report = models[0].check()
    assert report.passed, report.text()
    assert report.names_equal == report.names
    result = CliRunner().invoke(cli.info_command, ["--check", "--provider", "openvino"])
    assert result.exit_code == 0 and result.stdout.splitlines()[-1] == "PASS", result.output
    assert result.stdout.splitlines()[1] == f"provider:     {OPENVINO}, against {CPU}"


def test_wn_generate_gives_the_cpu_providers_names():
    args = ["-n", "50", "--seed", "1"]
    want = CliRunner().invoke(cli.generate_command, [*args, "--provider", "cpu"])
    got = CliRunner().invoke(cli.generate_command, [*args, "--provider", "openvino"])
    assert got.exit_code == 0 and got.stderr == "" and got.stdout == want.stdout
    verbose = CliRunner().invoke(cli.generate_command, [*args, "--provider", "openvino", "--verbose"])
    assert verbose.stdout == want.stdout
    assert f"; providers: {OPENVINO}, {CPU}; seed: 1" in verbose.stderr.splitlines()[0]


def test_the_failure_messages():
    installed = f"installed: {', '.join(ort.get_available_providers())}"
    for name, hint in (("cuda", " (the GPU path needs the onnxruntime-gpu package instead of onnxruntime)"),
                       ("tpu", "")):
        result = CliRunner().invoke(cli.generate_command, ["--provider", name])
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == f"Error: execution provider {name!r} is not available here{hint}; {installed}\n"
