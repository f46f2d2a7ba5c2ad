"""WavenetModel.load: file validation (one-line ModelFileError), execution providers, and the torch-free runtime.

Runs on the committed fixtures (no torch, no onnx)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest
from model_files import FIXTURES, bad_files, read_props, rename_first_op, rewrite_props
from tiny_data import ITEMS, VOCAB

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime import providers as providers_module
from wavenet_edge.runtime.common.errors import ModelFileError, WavenetEdgeError
from wavenet_edge.runtime.contract import METADATA_PREFIX
from wavenet_edge.runtime.providers import ProviderError, create_session, make_session_options, resolve_providers

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
CUDA = "CUDAExecutionProvider"


@pytest.fixture(scope="module")
def models():
    return FIXTURES


# ---------------------------------------------------------------- loading


def test_load_exposes_metadata_graph_and_providers(models):
    model = WavenetModel.load(models.step, provider="cpu", threads=1)
    assert model.graph == "step"
    assert model.providers == ["CPUExecutionProvider"]
    assert model.metadata.vocab == VOCAB
    assert model.metadata.config.channels == 8 and model.metadata.config.max_len == 12
    assert model.metadata.metrics["val_loss"] == 1.6
    assert model.metadata.initial_state.shape == (model.metadata.state_size,)
    assert WavenetModel.load(models.window, provider="CPUExecutionProvider").graph == "window"
    assert WavenetModel.load(models.lecture_window, provider=["cpu"]).metadata.config.arch == "lecture"
    assert "step" in repr(model)


def test_metadata_is_what_onnx_runtime_reads_from_the_file(models):
    props = WavenetModel.load(models.step, provider="cpu").session.get_modelmeta().custom_metadata_map
    assert props[METADATA_PREFIX + "graph"] == "step"
    assert props == read_props(models.step.read_bytes())


def test_bad_files_raise_one_line_model_file_errors(models, tmp_path):
    for name, (path, message) in bad_files(tmp_path / "bad", models.step).items():
        with pytest.raises(ModelFileError) as info:
            WavenetModel.load(path, provider="cpu")
        assert str(info.value) == message, name
        assert "\n" not in str(info.value)


def test_graph_that_breaks_the_contract_is_refused(models, tmp_path):
    # the window graph's file, claiming to be a step graph (with a valid initial state)
    step_props = read_props(models.step.read_bytes())
    liar = rewrite_props(models.window, tmp_path / "liar.onnx", graph="step",
                         initial_state=step_props[METADATA_PREFIX + "initial_state"],
                         io=step_props[METADATA_PREFIX + "io"])
    with pytest.raises(ModelFileError) as info:
        WavenetModel.load(liar, provider="cpu")
    expected = (f"{liar}: graph inputs ['tokens'] do not match the step graph contract "
                "['tokens', 'oldest_0', 'oldest_1', 'oldest_2']")
    assert str(info.value) == expected


def test_onnx_runtime_load_failure_is_one_line(models, tmp_path):
    broken = rename_first_op(models.step, tmp_path / "broken.onnx", "NoSuchOperator")
    with pytest.raises(ModelFileError) as info:
        WavenetModel.load(broken, provider="cpu")
    assert str(info.value).startswith(f"{broken}: ONNX Runtime cannot load the model: ")
    assert "\n" not in str(info.value)


def test_foreign_bytes_are_not_an_onnx_model(tmp_path):
    for number, blob in enumerate((b"\x00\x01\x02", b"hello world\n", b"\xff" * 64)):
        path = tmp_path / f"blob{number}.onnx"
        path.write_bytes(blob)
        with pytest.raises(ModelFileError) as info:
            WavenetModel.load(path, provider="cpu")
        assert str(info.value) == f"{path}: not an ONNX model"


# ---------------------------------------------------------------- providers


def installed() -> str:
    return ", ".join(ort.get_available_providers())


def test_provider_names_resolve():
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers("CPU") == ["CPUExecutionProvider"]
    assert resolve_providers("CPUExecutionProvider") == ["CPUExecutionProvider"]
    assert resolve_providers(["cpu", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    best = CUDA if CUDA in ort.get_available_providers() else "CPUExecutionProvider"
    assert resolve_providers("auto") == [best]


@pytest.mark.skipif(CUDA in ort.get_available_providers(), reason="this machine has the CUDA provider")
def test_cuda_is_refused_naming_installed_providers(models):
    expected = ("execution provider 'cuda' is not available here (the GPU path needs the onnxruntime-gpu package "
                f"instead of onnxruntime); installed: {installed()}")
    with pytest.raises(ProviderError) as info:
        WavenetModel.load(models.step, provider="cuda")
    assert str(info.value) == expected
    with pytest.raises(ProviderError, match="'CUDAExecutionProvider' is not available here"):
        resolve_providers(["CUDAExecutionProvider", "cpu"])


def test_unknown_provider_and_bad_threads_are_refused(models):
    with pytest.raises(ProviderError) as info:
        resolve_providers("tpu")
    assert str(info.value) == f"execution provider 'tpu' is not available here; installed: {installed()}"
    with pytest.raises(ProviderError, match=r"^threads must be an integer in 1\.\.1024, got 0$"):
        WavenetModel.load(models.step, provider="cpu", threads=0)
    with pytest.raises(ProviderError, match="no execution provider requested"):
        resolve_providers([])
    assert issubclass(ProviderError, WavenetEdgeError)  # the commands turn it into one line


def test_session_that_did_not_take_the_provider_is_refused(models, monkeypatch):
    class FallbackSession:  # what onnxruntime does with a provider it cannot use: silently run on the CPU
        def __init__(self, path, sess_options=None, providers=None, **kwargs):
            pass

        def get_providers(self):
            return ["CPUExecutionProvider"]

    monkeypatch.setattr(providers_module.ort, "InferenceSession", FallbackSession)
    with pytest.raises(ProviderError) as info:
        create_session(models.step, ["CUDAExecutionProvider"])
    assert str(info.value) == (
        "ONNX Runtime did not take execution provider CUDAExecutionProvider (the session runs on "
        "CPUExecutionProvider) (onnxruntime-gpu is installed; is there a GPU with its driver and the CUDA and "
        "cuDNN libraries?)"
    )


def test_session_options_are_used(models):
    options = make_session_options(threads=1)
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.intra_op_num_threads == 1
    mine = ort.SessionOptions()
    model = WavenetModel.load(models.step, provider="cpu", session_options=mine, threads=2)
    assert mine.intra_op_num_threads == 1 and model.threads == 2  # on the CPU: 2 workers, one thread per call
    assert model.generate(3, seed=1) == WavenetModel.load(models.step, provider="cpu").generate(3, seed=1)


# ---------------------------------------------------------------- torch-free


FORBIDDEN = ("torch", "onnx", "onnxscript", "wavenet_edge.train", "wavenet_edge.export")


def test_runtime_sources_import_no_torch_onnx_train_or_export():
    for source in sorted(RUNTIME_DIR.glob("*.py")):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            else:
                continue
            for name in names:
                bad = name.startswith(("..train", "..export")) or any(
                    name == f or name.startswith(f + ".") for f in FORBIDDEN)
                assert not bad, f"{source.name} imports {name}"


TORCH_FREE_SCRIPT = r"""
import importlib, importlib.abc, json, pkgutil, sys
FORBIDDEN = %(forbidden)r
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            raise ImportError("forbidden import: " + name)
        return None
sys.meta_path.insert(0, Refuse())
sys.modules["torch"] = None  # belt and braces: `import torch` fails even if found elsewhere
sys.modules["onnx"] = None
import wavenet_edge.runtime as rt
from wavenet_edge.runtime import cli
for info in pkgutil.iter_modules(rt.__path__):
    importlib.import_module("wavenet_edge.runtime." + info.name)
from click.testing import CliRunner
out = {}
for path in %(paths)r:
    model = rt.WavenetModel.load(path, provider="cpu")
    out[path] = {"names": model.generate(5, seed=3), "nll": model.score(%(items)r).nll_per_char}
runner = CliRunner()
gen = runner.invoke(cli.generate_command, ["--onnx", %(paths)r[0], "-n", "5", "--seed", "3"])
info = runner.invoke(cli.info_command, [%(paths)r[0]])
out["cli"] = [gen.exit_code, gen.stdout, info.exit_code]
out["loaded"] = sorted(m for m in sys.modules if sys.modules[m] is not None and any(
    m == f or m.startswith(f + ".") for f in FORBIDDEN))
print(json.dumps(out))
"""


def test_generation_scoring_and_cli_run_with_torch_and_onnx_unimportable(models):
    paths = [str(models.step), str(models.window), str(models.lecture_window)]
    script = TORCH_FREE_SCRIPT % {"forbidden": FORBIDDEN, "paths": paths, "items": ITEMS[:20]}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    for path in paths:
        model = WavenetModel.load(path, provider="cpu")
        assert out[path]["names"] == model.generate(5, seed=3)
        assert out[path]["nll"] == pytest.approx(model.score(ITEMS[:20]).nll_per_char, abs=1e-12)
    printed = WavenetModel.load(paths[0], provider="cpu").generate(5, seed=3, exclude={""})  # as wn-generate
    assert out["cli"] == [0, "\n".join(printed) + "\n", 0]

