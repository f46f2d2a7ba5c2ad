"""Constrained sampling (runtime/constraints.py): every name satisfies the constraints, the names are the
seed's unconstrained names that satisfy them, in order (so: the same at any batch size and thread count),
and their frequencies match the model's conditional distribution, computed exactly on a tiny model."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path

import pytest
from cli_checks import assert_error, invoke

from wavenet_edge.runtime import WavenetModel, cli
from wavenet_edge.runtime.constraints import ConstraintError

STEP = Path(__file__).resolve().parent / "fixtures" / "tiny-step.onnx"


@pytest.fixture(scope="module")
def model() -> WavenetModel:
    return WavenetModel.load(STEP, provider="cpu", threads=1)


def accepts(name: str, min_len: int = 0, max_len: int = 12, suffix: str = "", contains: str = "") -> bool:
    return min_len <= len(name) <= max_len and name.endswith(suffix) and contains in name


CASES = [dict(max_len=3), dict(min_len=4, max_len=6), dict(suffix="a"), dict(contains="on"),
         dict(min_len=3, max_len=5, suffix="e", prefix="k")]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_constrained_names_are_the_seeds_names_that_satisfy_them_in_order(model, case):
    case = dict(case)
    prefix = case.pop("prefix", "")
    got = model.generate(200, seed=4, prefix=prefix, **case)
    assert all(accepts(name, **case) for name in got)
    # unconstrained names of the same seed, with room for more characters than any constraint allows
    plain = model.generate(20_000, seed=4, prefix=prefix, max_len=12)
    assert got == [name for name in plain if accepts(name, **case)][:200]


@pytest.mark.parametrize("batch_size", [1, 7, 256])
def test_the_same_names_at_any_batch_size_and_thread_count(model, batch_size):
    kwargs = dict(seed=9, min_len=3, max_len=5, suffix="a", return_logprobs=True)
    expected = model.generate(150, **kwargs)
    assert model.generate(150, batch_size=batch_size, **kwargs) == expected
    two = WavenetModel.load(STEP, provider="cpu", threads=2)
    assert two.generate(150, batch_size=max(batch_size, 128), **kwargs) == expected


def test_max_len_drops_longer_names_instead_of_cutting_them(model):
    names = model.generate(3000, seed=1, max_len=2, return_logprobs=True)
    assert all(len(name) <= 2 for name, _ in names)
    scored = model.score([name for name, _ in names]).logprobs
    assert [lp for _, lp in names] == pytest.approx(scored, abs=1e-9)  # each one ended by the model itself


def test_frequencies_match_the_exact_conditional_distribution(model):
    """prefix 'an', min-len 4, max-len 4: every such name scored exactly, then 20,000 samples against it."""
    chars = model.metadata.vocab.chars
    names = ["an" + "".join(t) for t in itertools.product(chars, repeat=2)]
    logprobs = model.score(names).logprobs
    total = sum(math.exp(lp) for lp in logprobs)
    exact = {name: math.exp(lp) / total for name, lp in zip(names, logprobs, strict=True)}
    draws = 20_000
    counts = Counter(model.generate(draws, seed=123, prefix="an", min_len=4, max_len=4, batch_size=1024))
    assert set(counts) <= set(exact)
    likeliest = [(name, p) for name, p in exact.items() if p > 0.01]  # each drawn a few hundred times or more
    assert len(likeliest) >= 8
    for name, p in likeliest:
        sigma = math.sqrt(p * (1 - p) / draws)
        assert abs(counts[name] / draws - p) <= 5 * sigma, (name, counts[name] / draws, p)
    distance = 0.5 * sum(abs(counts[name] / draws - p) for name, p in exact.items())
    assert distance < 0.03  # total variation, sampling noise included


def test_too_rare_constraints_name_the_acceptance_rate(model):
    with pytest.raises(ConstraintError) as info:
        model.generate(5, seed=1, contains="jjj", max_samples=2000)
    assert str(info.value) == ("the constraints (max-len 12, contains 'jjj') are too rare: 0 of 2,000 draws met them "
                               "(acceptance 0.0000%); found 0 of 5 names (loosen them, or raise max-samples)")


@pytest.mark.parametrize(("args", "message"), [
    (["--min-len", 5, "--max-len", 4], "min-len 5 is above max-len 4"),
    (["--suffix", "Q"], "suffix 'Q': characters not in the model's vocabulary: 'Q' (allowed: 'aeijklmnorstuvy')"),
    (["--contains", "abcdefghijklm", "--max-len", 12],
     "max-len 12 is below the length of contains 'abcdefghijklm' (13)"),
])
def test_wn_generate_refuses_impossible_constraints_in_one_line(args, message):
    assert_error(invoke(cli.generate_command, ["--onnx", STEP, "-n", 3, "--seed", 1, *args]), message)


def test_wn_generate_prints_the_constrained_names(model):
    result = invoke(cli.generate_command, ["--onnx", STEP, "-n", 20, "--seed", 2, "--min-len", 4, "--suffix", "e"])
    assert result.exit_code == 0, result.output
    expected = [name for name in model.generate(20, seed=2, min_len=4, suffix="e")]
    assert result.stdout.splitlines() == expected
