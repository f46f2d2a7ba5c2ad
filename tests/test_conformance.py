"""The conformance vectors of docs/format.md (tests/conformance/v1/), run by the Python runtime and by the
plain-onnxruntime example docs/examples/embed.py; and every shipped file, fp32 and int8, in a default
`onnxruntime.InferenceSession(path)` gives wn-eval's numbers and wn-generate's names.
js/test/conformance.test.js runs the same vectors in the JS runtime."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wavenet_edge.runtime import WavenetModel

ROOT = Path(__file__).resolve().parents[1]
VECTORS = sorted((ROOT / "tests" / "conformance" / "v1").glob("*.json"))
EXAMPLE = ROOT / "docs" / "examples" / "embed.py"
SHIPPED = ["models/wavenet.onnx", "models/wavenet.int8.onnx", "models/wavenet-large.onnx",
           "models/wavenet-large.int8.onnx"]
OLD_INT8 = ROOT / "tests" / "data" / "format2-int8-dequantize.onnx"  # models/wavenet.int8.onnx as shipped before


def _example():
    spec = importlib.util.spec_from_file_location("embed", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


embed = _example()


def _sampling(case: dict) -> dict:
    return {key: case[key] for key in ("temperature", "top_k", "top_p", "prefix", "max_len") if key in case}


@pytest.fixture(scope="module", params=VECTORS, ids=[p.stem for p in VECTORS])
def vectors(request) -> dict:
    data = json.loads(request.param.read_text(encoding="utf-8"))
    assert data["conformance_version"] == 1
    model = ROOT / data["model"]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == data["model_sha256"], (
        f"{data['model']} changed: python tests/conformance/make_vectors.py writes its vectors again")
    return data


def test_the_vectors_cover_both_formats_and_graph_kinds():
    kinds = set()
    for path in VECTORS:
        data = json.loads(path.read_text(encoding="utf-8"))
        kinds.add((data["format_version"], data["graph"]))
        assert path.stat().st_size < 40_000  # tens of KB each
    assert kinds == {(1, "step"), (2, "step"), (2, "window")}
    assert {json.loads(p.read_text())["model"] for p in VECTORS} >= set(SHIPPED)


def test_python_runtime(vectors):
    tol = vectors["tolerance"]
    model = WavenetModel.load(ROOT / vectors["model"], provider="cpu", threads=1)
    for seq in vectors["steps"]:
        state = model.runner.initial_state(1)
        for token, want in zip(seq["tokens"], seq["logits"], strict=True):
            logits, state = model.runner.advance(state, np.array([token], dtype=np.int64))
            np.testing.assert_allclose(logits[0], want, rtol=0, atol=tol["logits"])
    scored = model.score(vectors["score"]["items"])
    np.testing.assert_allclose(scored.logprobs, vectors["score"]["logprobs"], rtol=0, atol=tol["logprob"])
    assert scored.nll_per_char == pytest.approx(vectors["score"]["nll_per_char"], abs=tol["nll_per_char"])
    for case in vectors["greedy"]:
        assert model.generate(3, top_k=1, prefix=case["prefix"]) == [case["name"]] * 3
    for case in vectors["complete"]:
        found = model.complete(case["prefix"], k=case["k"], max_len=case["max_len"])
        assert [c.name for c in found] == case["names"]
        np.testing.assert_allclose([c.logprob for c in found], case["logprobs"], rtol=0, atol=tol["logprob"])
    for case in vectors["generate"]:
        for batch_size in (1, 5):
            named = model.generate(case["n"], seed=int(case["seed"]), batch_size=batch_size, return_logprobs=True,
                                   **_sampling(case))
            assert [name for name, _ in named] == case["names"], case
            np.testing.assert_allclose([lp for _, lp in named], case["logprobs"], rtol=0, atol=tol["logprob"])


def test_plain_onnxruntime_example(vectors):
    """docs/examples/embed.py: numpy and a default InferenceSession, one row at a time."""
    tol = vectors["tolerance"]
    model = embed.Model(str(ROOT / vectors["model"]))
    for seq in vectors["steps"]:
        state = model.start()
        for token, want in zip(seq["tokens"], seq["logits"], strict=True):
            logits, state = model.step(state, token)
            np.testing.assert_allclose(logits, want, rtol=0, atol=tol["logits"])
    items = vectors["score"]["items"]
    logprobs = [embed.score(model, item) for item in items]
    np.testing.assert_allclose(logprobs, vectors["score"]["logprobs"], rtol=0, atol=tol["logprob"])
    nll = -sum(logprobs) / sum(len(item) + 1 for item in items)
    assert nll == pytest.approx(vectors["score"]["nll_per_char"], abs=tol["nll_per_char"])
    for case in vectors["greedy"]:
        assert embed.generate(model, 1, top_k=1, prefix=case["prefix"]) == [case["name"]]
    for case in vectors["generate"]:
        sampling = _sampling(case)
        names = embed.generate(model, case["n"], int(case["seed"]), sampling.pop("prefix", ""),
                               sampling.pop("max_len", None), **sampling)
        assert names == case["names"], case


@pytest.mark.parametrize("relative", SHIPPED)
def test_shipped_file_in_a_default_session_gives_wn_eval_numbers(relative):
    """No session entry: int8 weights are folded to float32 by onnxruntime's default constant folding."""
    path = ROOT / relative
    runtime = WavenetModel.load(path, provider="cpu", threads=1)
    plain = embed.Model(str(path))
    with pytest.raises(RuntimeError, match="does not have configuration"):  # a default session: no entry set
        plain.session.get_session_options().get_session_config_entry("session.disable_quant_qdq")
    items = ["emma", "olivia", "zyxw", *runtime.generate(40, seed=7)]
    want = runtime.score(items)
    got = [embed.score(plain, item) for item in items]
    assert -sum(got) / want.n_chars == pytest.approx(want.nll_per_char, abs=1e-6)
    np.testing.assert_allclose(got, want.logprobs, rtol=0, atol=1e-6)
    assert embed.generate(plain, 30, seed=1) == runtime.generate(30, seed=1)


def test_int8_files_are_weight_only_and_folded_at_load():
    onnx = pytest.importorskip("onnx", reason="the onnx package comes with the train extra")

    for relative in SHIPPED[1::2]:
        int8 = onnx.load(str(ROOT / relative))
        ops = {node.op_type for node in int8.graph.node}
        assert "DequantizeLinear" not in ops and {"Cast", "Mul"} <= ops
        assert (ROOT / relative).stat().st_size < 0.4 * (ROOT / relative.replace(".int8", "")).stat().st_size


def test_old_dequantize_int8_files_keep_their_numbers():
    """An int8 file written before (DequantizeLinear form) gives, in the runtime, the numbers of the same
    weights in the Cast + Mul form (the runtime sets session.disable_quant_qdq for such files)."""
    old = WavenetModel.load(OLD_INT8, provider="cpu", threads=1)
    new = WavenetModel.load(ROOT / "models" / "wavenet.int8.onnx", provider="cpu", threads=1)
    items = ["emma", "olivia", "zyxw", "kaylee"]
    assert old.score(items).logprobs == new.score(items).logprobs
    assert old.score(["emma", "olivia", "zyxw"]).nll_per_char == pytest.approx(2.659457, abs=1e-6)
    assert old.generate(50, seed=1, return_logprobs=True) == new.generate(50, seed=1, return_logprobs=True)


def test_example_command_line():
    run = [sys.executable, str(EXAMPLE), str(ROOT / "models" / "wavenet.onnx")]
    scored = subprocess.run([*run, "--score", "emma", "olivia", "zyxw"], capture_output=True, text=True, check=True)
    assert scored.stdout == "2.660942\n"
    names = subprocess.run([*run, "-n", "5", "--seed", "1"], capture_output=True, text=True, check=True)
    assert names.stdout.split() == WavenetModel.load(ROOT / "models" / "wavenet.onnx").generate(5, seed=1)
