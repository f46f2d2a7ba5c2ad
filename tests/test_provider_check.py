"""The provider check (runtime/provider_check.py): `wn-info --check [--provider P] [PATH]` and
`WavenetModel.check()` compare a fixed workload on the provider with the CPU provider: PASS and exit 0
where they agree, FAIL and exit 1 where they do not (a sabotaged stand-in device), exit 2 for bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from model_files import FIXTURES
from stand_in_sabotage import as_cuda

from wavenet_edge.runtime import WavenetModel, cli
from wavenet_edge.runtime.provider_check import LOGIT_TOLERANCE, NLL_TOLERANCE, CheckReport
from wavenet_edge.runtime.providers import CPU, CUDA

LABELS = ["provider check of", "provider:", "generation:", "logits:", "scores:", "completions:", "time:"]


@pytest.mark.parametrize("path", [FIXTURES.step, FIXTURES.window, FIXTURES.lecture_window],
                         ids=["step", "window", "lecture window"])
def test_the_cpu_provider_passes_against_itself(path):
    report = WavenetModel.load(path, provider="cpu", threads=1).check()
    assert report.passed and report.error is None
    assert report.names == 220 and report.names_equal == 220
    assert report.logit_difference == 0.0 and report.nll == report.nll_cpu
    lines = report.lines()
    assert all(line.startswith(label) for line, label in zip(lines, LABELS, strict=False))
    assert lines[-1] == "PASS"


def test_wn_info_check_prints_pass_and_exits_0():
    result = CliRunner().invoke(cli.info_command, ["--check", "--provider", "cpu", str(FIXTURES.step)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"provider check of {FIXTURES.step}" and lines[-1] == "PASS"
    assert lines[1] == f"provider:     {CPU}, against {CPU}"
    assert f"(at most {LOGIT_TOLERANCE:g})" in lines[3] and f"(at most {NLL_TOLERANCE:g})" in lines[4]
    as_json = CliRunner().invoke(cli.info_command, ["--check", "--format", "json", str(FIXTURES.step)])
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == 0 and report["passed"] is True and report["provider"] == CPU
    assert set(report["checks"]) == {"names", "logits", "scores", "completions"}


def test_an_honest_device_passes(monkeypatch):
    as_cuda(monkeypatch, "honest")
    result = CliRunner().invoke(cli.info_command, ["--check", "--provider", "cuda", str(FIXTURES.step)])
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert result.stdout.splitlines()[1] == f"provider:     {CUDA}, against {CPU}"
    assert result.stdout.splitlines()[-1] == "PASS"


def test_a_provider_that_disagrees_fails_with_exit_1(monkeypatch):
    as_cuda(monkeypatch, "stale binding")
    result = CliRunner().invoke(cli.info_command, ["--check", "--provider", "cuda", str(FIXTURES.step)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "FAIL" and lines[1] == f"provider:     {CUDA}, against {CPU}"
    assert any(line.startswith("logits:") and line.endswith(": FAIL") for line in lines) or \
        any(line.startswith("error:") for line in lines), lines
    assert result.stderr.startswith(f"warning: execution provider {CUDA} disagrees with the CPU provider here")
    # auto takes the CPU (one warning) and the check then passes on it
    auto = CliRunner().invoke(cli.info_command, ["--check", str(FIXTURES.step)])
    assert auto.exit_code == 0 and auto.stdout.splitlines()[1] == f"provider:     {CPU}, against {CPU}"
    assert auto.stderr.rstrip().endswith(f"using {CPU}") and len(auto.stderr.splitlines()) == 1


def test_a_device_path_that_disagrees_is_checked_on_the_host_path(monkeypatch):
    """The load put the state on the host (one warning); the check then checks what generation uses."""
    as_cuda(monkeypatch, "restarts dropped")
    result = CliRunner().invoke(cli.info_command, ["--check", "--provider", "cuda", str(FIXTURES.step)])
    assert result.exit_code == 0 and result.stdout.splitlines()[-1] == "PASS", result.output
    assert result.stderr.startswith(f"warning: {CUDA}: the generation state on the device disagrees")


@pytest.mark.parametrize("field, value", [("logit_difference", 2 * LOGIT_TOLERANCE), ("nll", 1.0 + 2 * NLL_TOLERANCE),
                                          ("names_equal", 197), ("completions_equal", False), ("error", "boom")])
def test_each_tolerance_fails_the_check(field, value):
    report = CheckReport(model="m", provider=CPU, names=200, names_equal=200, nll=1.0, nll_cpu=1.0)
    assert report.passed
    setattr(report, field, value)
    assert not report.passed and report.lines()[-1] == "FAIL"


@pytest.mark.parametrize("args, message", [
    ([], "give a model file: wn-info PATH (or wn-info --check [PATH])"),
    (["--provider", "cpu", "x.onnx"], "--provider goes with --check (wn-info --check --provider P [PATH])"),
    (["--check", "--provider", "tpu"], None),
    (["--check", "missing.onnx"], "missing.onnx: no such file"),
])
def test_bad_input_exits_2(args, message):
    result = CliRunner().invoke(cli.info_command, args)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("Error: ")
    if message is not None:
        assert result.stderr == f"Error: {message}\n"


def test_a_wrong_device_path_used_without_the_load_check_fails_the_check(monkeypatch):
    """model.check() on a model built around a sabotaged session (no load-time check): FAIL, soon."""
    from stand_in_sabotage import SABOTAGE

    from wavenet_edge.runtime import graphs

    monkeypatch.setattr(graphs, "device_state", lambda session: getattr(session, "device", None))
    cpu = WavenetModel.load(FIXTURES.step, provider="cpu", threads=1)
    for kind in ("restarts dropped", "keep gathers wrong rows", "stale binding"):
        session_class, device_class = SABOTAGE[kind]
        model = WavenetModel(session_class(cpu.session, device_class(cpu.session)), cpu.metadata, cpu.path)
        report = model.check()
        assert not report.passed and report.lines()[-1] == "FAIL", kind
