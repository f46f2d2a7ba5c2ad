"""--provider and provider= take every installed execution provider by its documented short name or its full
name (any letter case), on every command that takes it and in the API; anything else is refused in one
line that lists what is installed (runtime/providers.py, docs/providers.md)."""

from __future__ import annotations

import onnxruntime as ort
import pytest
from click.testing import CliRunner
from model_files import FIXTURES

from wavenet_edge.runtime import WavenetModel, cli, resolve_providers
from wavenet_edge.runtime.providers import AUTO_PREFERENCE, CPU, CUDA, SHORT_NAMES, ProviderError, short_name

DOCUMENTED = ["cpu", "cuda", "tensorrt", "openvino", "dml", "coreml", "rocm", "migraphx", "qnn", "xnnpack", "webgpu",
              "nnapi", "acl", "armnn", "cann", "azure", "vitisai"]
EVERY = [*SHORT_NAMES.values(), "DnnlExecutionProvider", "JsExecutionProvider"]  # two without a table entry


def test_the_documented_short_names():
    assert list(SHORT_NAMES) == DOCUMENTED
    assert all(full.endswith("ExecutionProvider") for full in SHORT_NAMES.values())
    assert len(set(SHORT_NAMES.values())) == len(SHORT_NAMES)


def test_every_installed_provider_by_short_and_full_name(monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(EVERY))
    for full in EVERY:
        short = short_name(full)
        assert resolve_providers(short) == [full]
        assert resolve_providers(short.upper()) == [full]
        assert resolve_providers(full) == [full]
        assert resolve_providers(full.lower()) == [full]
    assert short_name("DnnlExecutionProvider") == "dnnl"
    assert resolve_providers(["openvino", "cpu"]) == ["OpenVINOExecutionProvider", CPU]
    assert resolve_providers("auto") == [CUDA, CPU]  # auto: AUTO_PREFERENCE only, whatever else is installed
    assert AUTO_PREFERENCE == (CUDA, CPU)


def test_unknown_and_missing_providers_are_refused_listing_the_installed(monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["XnnpackExecutionProvider", CPU])
    installed = f"installed: XnnpackExecutionProvider, {CPU}"
    for name, hint in (("tpu", ""), ("OpenVINO", " (the OpenVINO provider needs the onnxruntime-openvino package "
                                                "instead of onnxruntime)"),
                       ("cuda", " (the GPU path needs the onnxruntime-gpu package instead of onnxruntime)")):
        with pytest.raises(ProviderError) as info:
            resolve_providers(name)
        assert str(info.value) == f"execution provider {name!r} is not available here{hint}; {installed}"
    with pytest.raises(ProviderError, match="^auto is not a provider: give it alone, not in a list$"):
        resolve_providers(["auto", "cpu"])
    with pytest.raises(ProviderError, match="non-empty name"):
        resolve_providers(" ")


@pytest.mark.parametrize("name", ["cpu", "CPU", CPU, "cpuexecutionprovider"])
def test_the_api_and_every_command_take_the_names(name):
    model = WavenetModel.load(FIXTURES.step, provider=name, threads=1)
    assert model.providers == [CPU]
    step = str(FIXTURES.step)
    commands = [
        (cli.generate_command, ["--onnx", step, "-n", "2", "--seed", "1"]),
        (cli.complete_command, ["--onnx", step, "-k", "2"]),
        (cli.info_command, ["--check", step]),
    ]
    for command, args in commands:
        result = CliRunner().invoke(command, [*args, "--provider", name])
        assert result.exit_code == 0, (command.name, result.output)


def test_an_unknown_name_on_the_commands(tmp_path):
    data = tmp_path / "items.txt"
    data.write_text("emma\nolivia\n", encoding="utf-8")
    step = str(FIXTURES.step)
    installed = ", ".join(ort.get_available_providers())
    commands = ((cli.generate_command, ["--onnx", step]), (cli.complete_command, ["--onnx", step]),
                (cli.eval_command, ["--onnx", step, "--data", str(data)]), (cli.info_command, ["--check", step]))
    for command, args in commands:
        result = CliRunner().invoke(command, [*args, "--provider", "tpu"])
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == f"Error: execution provider 'tpu' is not available here; installed: {installed}\n"
