"""--provider auto on an onnxruntime-gpu install where CUDA cannot run: the best provider that works.

The stand-in keeps onnxruntime's real Python layer (InferenceSession, its provider checks and its own
fallback logic) and replaces only the compiled session where CUDA would start, reproducing the two ways
onnxruntime-gpu fails without a usable GPU (microsoft/onnxruntime#17801, #21424, #11561):
  - "no device": the CUDA provider raises during initialize_session ("CUDA failure 100: no CUDA-capable
    device is detected"), which onnxruntime's Python layer would catch, print on stdout and retry on CPU;
  - "no libraries": libonnxruntime_providers_cuda.so cannot load its CUDA libraries; onnxruntime logs an
    error and builds the session on the CPU alone, without raising.
"""

from __future__ import annotations

import logging

import onnxruntime as ort
import pytest
from click.testing import CliRunner
from model_files import FIXTURES
from onnxruntime.capi import onnxruntime_inference_collection as collection

from wavenet_edge.runtime import WavenetModel, cli
from wavenet_edge.runtime.providers import CPU, CUDA, ProviderError, resolve_providers

NO_DEVICE = ("/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:129 std::conditional_t<THRW, void, "
             "onnxruntime::common::Status> onnxruntime::CudaCall(...) [with ERRTYPE = cudaError; bool THRW = true] "
             "CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; hostname=box ; "
             "file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=282 ; "
             "expr=cudaSetDevice(info_.device_id);")
NO_LIBRARIES = ("[E:onnxruntime:Default, provider_bridge_ort.cc:1480 TryGetProviderInfo_CUDA] Failed to load library "
                "libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file")


@pytest.fixture(scope="module")
def models():
    return FIXTURES


def gpu_build_without_gpu(monkeypatch, mode: str) -> None:
    """Make the installed onnxruntime behave as onnxruntime-gpu on a machine where CUDA cannot run."""
    real_session = collection.C.InferenceSession
    listed = [CUDA, CPU]

    class CompiledSession:
        def __init__(self, *args):
            self._real = real_session(*args)

        def initialize_session(self, providers, provider_options, disabled):
            if CUDA in providers:
                if mode == "no device":
                    raise RuntimeError(NO_DEVICE)
                print(NO_LIBRARIES, file=__import__("sys").stderr)
                keep = [i for i, p in enumerate(providers) if p != CUDA]
                providers = [providers[i] for i in keep]
                provider_options = [provider_options[i] for i in keep]
            self._real.initialize_session(providers, provider_options, disabled)

        def __getattr__(self, name):
            return getattr(self._real, name)

    monkeypatch.setattr(collection.C, "InferenceSession", CompiledSession)
    monkeypatch.setattr(collection.C, "get_available_providers", lambda: list(listed))
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(listed))


@pytest.mark.parametrize("mode", ["no device", "no libraries"])
def test_auto_falls_back_to_the_cpu_with_a_note(models, monkeypatch, caplog, mode):
    gpu_build_without_gpu(monkeypatch, mode)
    assert resolve_providers("auto") == [CUDA, CPU]
    with caplog.at_level(logging.INFO, logger="wavenet_edge"):
        model = WavenetModel.load(models.step, provider="auto")
    assert model.providers == [CPU]
    assert model.generate(5, seed=1) == WavenetModel.load(models.step, provider="cpu").generate(5, seed=1)
    reason = f"cannot run here ({NO_DEVICE})" if mode == "no device" else \
        "did not start (a missing CUDA library or driver?)"
    assert [r.getMessage() for r in caplog.records] == [f"{CUDA} is installed but {reason}; using {CPU}"]


@pytest.mark.parametrize("mode", ["no device", "no libraries"])
def test_a_named_provider_that_cannot_run_is_still_an_error(models, monkeypatch, mode):
    gpu_build_without_gpu(monkeypatch, mode)
    with pytest.raises(ProviderError) as info:
        WavenetModel.load(models.step, provider="cuda")
    hint = "(onnxruntime-gpu is installed; is there a GPU with its driver and the CUDA and cuDNN libraries?)"
    if mode == "no device":
        assert str(info.value) == f"execution provider {CUDA} is installed but cannot run here: {NO_DEVICE} {hint}"
    else:
        assert str(info.value) == (f"ONNX Runtime did not take execution provider {CUDA} (the session runs on {CPU}) "
                                   f"{hint}")
    assert "pip install" not in str(info.value) and "instead of onnxruntime" not in str(info.value)


def test_wn_generate_auto_says_so_under_verbose_only(models, monkeypatch):
    gpu_build_without_gpu(monkeypatch, "no device")
    plain = CliRunner().invoke(cli.generate_command, ["--onnx", str(models.step), "-n", "3", "--seed", "1"])
    assert plain.exit_code == 0 and plain.stderr == "" and len(plain.stdout.splitlines()) == 3
    verbose = CliRunner().invoke(cli.generate_command, ["--onnx", str(models.step), "-n", "3", "--seed", "1",
                                                        "--verbose"])
    assert verbose.exit_code == 0 and verbose.stdout == plain.stdout  # ONNX Runtime's own "EP Error" print: gone
    note = verbose.stderr.splitlines()[0]
    assert note == f"note: {CUDA} is installed but cannot run here ({NO_DEVICE}); using {CPU}"
    named = CliRunner().invoke(cli.generate_command, ["--onnx", str(models.step), "--provider", "cuda"])
    assert named.exit_code == 2 and named.stderr.startswith(f"Error: execution provider {CUDA} is installed but ")
    assert logging.getLogger("wavenet_edge").handlers == []  # the note handler lives only as long as the load
