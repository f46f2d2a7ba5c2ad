"""Exact top-k completions (runtime/complete.py): the best-first search returns exactly the k most probable
complete names, against a brute-force enumeration of every name up to a small length, for every graph
kind and format; ties in name order; a node budget with a one-line error; wn-complete's output."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from cli_checks import assert_error, invoke

from wavenet_edge.runtime import WavenetModel, cli
from wavenet_edge.runtime.complete import CompletionError

TESTS = Path(__file__).resolve().parent
FILES = {
    "step, format 2": TESTS / "fixtures" / "tiny-step.onnx",
    "step, format 1": TESTS / "data" / "format1-step.onnx",
    "window": TESTS / "fixtures" / "tiny-window.onnx",
    "lecture window": TESTS / "fixtures" / "tiny-lecture-window.onnx",
}


@pytest.fixture(scope="module", params=list(FILES), ids=list(FILES))
def model(request) -> WavenetModel:
    return WavenetModel.load(FILES[request.param], provider="cpu", threads=1)


def brute_force(model: WavenetModel, prefix: str, max_len: int) -> list[tuple[str, float]]:
    """Every name that starts with `prefix`, up to max_len characters, scored, most probable first, ties by name."""
    chars = model.metadata.vocab.chars
    names = [prefix + "".join(tail) for n in range(max_len - len(prefix) + 1)
             for tail in itertools.product(chars, repeat=n)]
    names = [name for name in names if name]  # the empty name is no name (wn-generate skips it too)
    logprobs = model.score(names).logprobs
    return sorted(zip(names, logprobs, strict=True), key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize(("prefix", "max_len", "k"), [("", 3, 25), ("a", 4, 30), ("ke", 5, 10), ("ke", 2, 5)])
def test_completions_equal_a_brute_force_enumeration(model, prefix, max_len, k):
    if any(c not in model.metadata.vocab.chars for c in prefix):
        pytest.skip("prefix outside this model's vocabulary")
    expected = brute_force(model, prefix, max_len)[:k]
    got = model.complete(prefix, k, max_len=max_len)
    assert [c.name for c in got] == [name for name, _ in expected]
    assert np.allclose([c.logprob for c in got], [lp for _, lp in expected], rtol=0, atol=1e-9)
    assert all(math.isclose(c.probability, math.exp(c.logprob)) for c in got)
    assert [c.logprob for c in got] == sorted((c.logprob for c in got), reverse=True)


def test_fewer_names_than_k_when_fewer_exist(model):
    chars = model.metadata.vocab.chars
    prefix = chars[0] * 2
    got = model.complete(prefix, 5, max_len=2)  # the prefix is as long as max_len: only itself
    assert [c.name for c in got] == [prefix]


def test_the_node_budget_is_one_clear_error(model):
    with pytest.raises(CompletionError) as info:
        model.complete("", 50, max_len=12, max_nodes=3)
    assert str(info.value).startswith("complete: gave up after expanding ")
    assert str(info.value).endswith("completions found for prefix ''); raise max-nodes, or ask for fewer")


def test_wn_complete_prints_names_and_probabilities():
    path = FILES["step, format 2"]
    model = WavenetModel.load(path, provider="cpu", threads=1)
    expected = model.complete("a", 4)
    result = invoke(cli.complete_command, ["--onnx", path, "--prefix", "a", "-k", 4])
    assert result.exit_code == 0, result.output
    assert result.stdout == "".join(f"{c.name}\t{c.probability:.6g}\n" for c in expected)
    result = invoke(cli.complete_command, ["--onnx", path, "--prefix", "a", "-k", 4, "--format", "jsonl"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["name"] for r in rows] == [c.name for c in expected]
    assert [r["probability"] for r in rows] == [c.probability for c in expected]


@pytest.mark.parametrize(("args", "message"), [
    (["-k", 0], "Invalid value for '-k': 0 is not in the range 1<=x<=1000."),
    (["--prefix", "Q"], "prefix 'Q': "),
    (["--prefix", "aaa", "--max-len", 2], "max-len 2 is below the length of prefix 'aaa' (3)"),
])
def test_wn_complete_refuses_bad_options_in_one_line(args, message):
    result = invoke(cli.complete_command, ["--onnx", FILES["step, format 2"], *args])
    if message.endswith(": "):
        assert result.exit_code == 2 and result.stderr.startswith(f"Error: {message}")
        assert result.stderr.count("\n") == 1
    else:
        assert_error(result, message)
