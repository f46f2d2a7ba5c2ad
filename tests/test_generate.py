"""Generation with the runtime: determinism, batch-size independence, prefix, max-len, top-k/top-p, unique/exclude,
step/window agreement; and the sampler and random source on their own. Runs on the committed fixtures (no torch);
the torch parity of greedy names is in test_torch_parity.py."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from model_files import FIXTURES
from tiny_data import ITEMS, MAX_LEN, VOCAB

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.common.errors import WavenetEdgeError
from wavenet_edge.runtime.generation import _text_decoder
from wavenet_edge.runtime.sampling import RowUniforms, Sampler, SamplingParams, row_keys, stream_uniforms
from wavenet_edge.runtime.vocab import Vocab


@pytest.fixture(scope="module")
def models():
    return FIXTURES


@pytest.fixture(scope="module")
def step(models):
    return WavenetModel.load(models.step, provider="cpu", threads=1)


@pytest.fixture(scope="module")
def window(models):
    return WavenetModel.load(models.window, provider="cpu", threads=1)


@pytest.fixture(scope="module")
def lecture(models):
    return WavenetModel.load(models.lecture_window, provider="cpu", threads=1)


# ---------------------------------------------------------------- determinism


def test_same_seed_same_names_other_seed_other_names(step):
    names = step.generate(50, seed=7)
    assert len(names) == 50 and all(isinstance(name, str) for name in names)
    assert step.generate(50, seed=7) == names
    assert step.generate(50, seed=8) != names
    assert len(set(names)) > 10  # a sampler, not a constant
    assert set(names) & set(ITEMS)  # the tiny model learned the syllables


@pytest.mark.parametrize("name", ["step", "window", "lecture"])
def test_names_do_not_depend_on_batch_size(name, request):
    model = request.getfixturevalue(name)
    reference = model.generate(40, seed=11, batch_size=1)
    for batch_size in (2, 3, 7, 40, 256):
        assert model.generate(40, seed=11, batch_size=batch_size) == reference, batch_size


@pytest.mark.parametrize("name", ["step", "window"])
def test_batch_1_loop_gives_the_batched_names_and_logprobs_exactly(name, request):
    """batch_size 1 runs its own loop (one name after the other); it must reproduce the batched loop to the bit."""
    model = request.getfixturevalue(name)
    for kwargs in ({}, {"prefix": "a", "max_len": 4}, {"max_len": 2}, {"prefix": "jo", "max_len": 2},
                   {"temperature": 0.6, "top_k": 4}, {"top_p": 0.8}, {"top_k": 1}):
        one = model.generate(60, seed=13, batch_size=1, return_logprobs=True, **kwargs)
        assert one == model.generate(60, seed=13, batch_size=7, return_logprobs=True, **kwargs), kwargs
    assert list(itertools.islice(model.iter_generate(None, seed=6, batch_size=1), 25)) == \
        model.generate(25, seed=6, batch_size=5)


def test_names_do_not_depend_on_how_many_are_asked_for(step):
    many = step.generate(30, seed=5, batch_size=4)
    assert step.generate(10, seed=5, batch_size=8) == many[:10]
    endless = step.iter_generate(None, seed=5, batch_size=3)
    assert list(itertools.islice(endless, 30)) == many


def test_iter_generate_streams_in_index_order(step):
    stream = step.iter_generate(20, seed=2, batch_size=5)
    assert iter(stream) is stream
    first = next(stream)
    assert [first, *stream] == step.generate(20, seed=2, batch_size=5)


def test_step_and_window_graphs_agree(step, window):
    # greedy: a deterministic function of the logits, so the two graphs must give the same names
    for prefix in ("", "k", "jo", "ry", "ela"):
        assert step.generate(1, top_k=1, prefix=prefix) == window.generate(1, top_k=1, prefix=prefix)
    # sampled names: the same uniforms on logits equal to ~1e-6, so almost always the same
    a, b = step.generate(200, seed=3), window.generate(200, seed=3)
    assert sum(x == y for x, y in zip(a, b, strict=True)) >= 190


# ---------------------------------------------------------------- settings


def test_top_k_1_is_greedy_and_repeatable(step):
    names = step.generate(5, top_k=1, seed=0)
    assert len(set(names)) == 1
    assert step.generate(5, top_k=1, seed=99, batch_size=2) == names


def test_tiny_top_p_gives_the_greedy_name(step, lecture):
    for model in (step, lecture):
        greedy = model.generate(1, top_k=1)[0]
        assert model.generate(6, top_p=1e-6, seed=4) == [greedy] * 6


def test_top_k_of_the_whole_vocabulary_and_top_p_1_change_nothing(step):
    plain = step.generate(30, seed=6)
    assert step.generate(30, seed=6, top_k=VOCAB.size) == plain
    assert step.generate(30, seed=6, top_p=1.0) == plain


def test_truncation_and_temperature_change_the_names(step):
    plain = step.generate(60, seed=6)
    assert step.generate(60, seed=6, top_k=2) != plain
    assert step.generate(60, seed=6, top_p=0.5) != plain
    hot, cold = step.generate(200, seed=6, temperature=3.0), step.generate(200, seed=6, temperature=0.2)
    assert len(set(hot)) > len(set(cold))
    assert step.generate(60, seed=6, temperature=0.5) == step.generate(60, seed=6, temperature=0.5, batch_size=7)


def test_prefix_starts_every_name(step, window):
    for model in (step, window):
        names = model.generate(30, seed=1, prefix="ka")
        assert all(name.startswith("ka") for name in names)
        assert len(set(names)) > 3


def test_prefix_with_unknown_characters_is_refused(step):
    allowed = "".join(VOCAB.chars)
    with pytest.raises(WavenetEdgeError) as info:
        step.generate(3, prefix="Kaz!")
    assert str(info.value) == f"prefix 'Kaz!': characters not in the vocabulary: 'Kz!' (allowed: {allowed!r})"


def test_max_len_bounds_every_name(step, window):
    for model in (step, window):
        assert model.metadata.config.max_len == MAX_LEN
        assert max(len(name) for name in model.generate(300, seed=2, temperature=3.0)) <= MAX_LEN
        short = model.generate(100, seed=2, max_len=3)
        assert max(len(name) for name in short) == 3
        assert model.generate(4, prefix="jo", max_len=2) == ["jo"] * 4
        assert all(len(n) <= 5 and n.startswith("ka") for n in model.generate(50, prefix="ka", max_len=5))


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "n must be a positive integer, got 0"),
    ({"temperature": 0.0}, "temperature must be > 0, got 0.0"),
    ({"temperature": -1.0}, "temperature must be > 0, got -1.0"),
    ({"top_k": 0}, "top-k must be an integer >= 1, got 0"),
    ({"top_p": 0.0}, "top-p must be in (0, 1], got 0.0"),
    ({"top_p": 1.5}, "top-p must be in (0, 1], got 1.5"),
    ({"max_len": 0}, "max-len must be a positive integer, got 0"),
    ({"max_len": 2, "prefix": "kal"}, "max-len 2 is below the length of prefix 'kal' (3)"),
    ({"batch_size": 0}, "batch size must be an integer in 1..65536, got 0"),
])
def test_bad_settings_are_refused_before_anything_runs(step, kwargs, message):
    args = {"n": 3, **kwargs}
    with pytest.raises(WavenetEdgeError) as info:
        step.iter_generate(**args)  # not even the first name is asked for
    assert str(info.value) == message


# ---------------------------------------------------------------- log-probabilities


@pytest.mark.parametrize("name", ["step", "window", "lecture"])
def test_logprobs_are_the_models_probability_of_the_name(name, request):
    model = request.getfixturevalue(name)
    for kwargs in ({}, {"temperature": 0.7, "top_k": 5}, {"prefix": "vi", "top_p": 0.9}, {"max_len": 3}):
        pairs = model.generate(20, seed=9, return_logprobs=True, **kwargs)
        names = [n for n, _ in pairs]
        assert names == model.generate(20, seed=9, **kwargs)
        scored = model.score(names).logprobs
        np.testing.assert_allclose([lp for _, lp in pairs], scored, rtol=0, atol=1e-9)
        assert all(lp < 0 for _, lp in pairs)


# ---------------------------------------------------------------- unique / exclude


def test_unique_gives_n_distinct_names_in_a_repeatable_order(step):
    names = step.generate(60, seed=1, unique=True)
    assert len(names) == 60 == len(set(names))
    assert step.generate(60, seed=1, unique=True, batch_size=9) == names
    plain = step.generate(60, seed=1)
    assert names[: len(plain)] != plain or len(set(plain)) == 60  # duplicates were skipped, not kept
    first_distinct = list(dict.fromkeys(plain))
    assert names[: len(first_distinct)] == first_distinct


def test_exclude_drops_listed_names(step):
    plain = step.generate(80, seed=4)
    banned = set(plain[:20])
    names = step.generate(80, seed=4, exclude=banned)
    assert len(names) == 80 and not banned & set(names)
    both = step.generate(30, seed=4, exclude=banned, unique=True, return_logprobs=True)
    assert len({n for n, _ in both}) == 30 and not banned & {n for n, _ in both}


def test_unique_gives_up_with_a_clear_error(step):
    with pytest.raises(WavenetEdgeError) as info:
        step.generate(2, top_k=1, unique=True, patience=50)
    assert str(info.value) == (
        "gave up after 50 samples in a row were duplicates or excluded: found 1 of 2 names (try a higher "
        "temperature, a longer max-len, a shorter prefix or a smaller -n)"
    )


# ---------------------------------------------------------------- sampler and random source


def test_uniforms_are_counter_based():
    keys = row_keys(123, np.arange(10, dtype=np.uint64))
    u = stream_uniforms(keys, 40)  # [10, 40]
    assert u.shape == (10, 40) and u.min() > 0.0 and u.max() <= 1.0
    assert np.array_equal(stream_uniforms(keys[3:5], 40), u[3:5])  # a row does not depend on its neighbours
    assert np.array_equal(stream_uniforms(keys, 7), u[:, :7])
    assert not np.array_equal(stream_uniforms(row_keys(124, np.arange(10, dtype=np.uint64)), 40), u)
    big = stream_uniforms(row_keys(0, np.arange(2000, dtype=np.uint64)), 50)
    assert abs(big.mean() - 0.5) < 0.005 and abs(np.corrcoef(big[:, 0], big[:, 1])[0, 1]) < 0.05


def test_row_uniforms_step_through_each_rows_stream():
    keys = row_keys(5, np.arange(14, dtype=np.uint64))
    want = stream_uniforms(keys, 9)  # [14, 9]
    assert np.array_equal(stream_uniforms(keys, 4, start=5), want[:, 5:])
    draws = RowUniforms(3)
    draws.start(np.arange(3), keys[:3])
    got = [draws.next()[:, 0].copy() for _ in range(2)]  # rows 0-2 at positions 0, 1
    draws.start(np.array([1]), keys[7:8])  # row 1 starts name 7
    got.append(draws.next()[:, 0].copy())
    draws.keep(np.array([True, True, False]))
    got.append(draws.next()[:, 0].copy())
    assert np.array_equal(np.stack(got[:2], axis=1), want[:3, :2])
    assert np.array_equal(got[2], [want[0, 2], want[7, 0], want[2, 2]])
    assert np.array_equal(got[3], [want[0, 3], want[7, 1]])


def draw(params: SamplingParams, logits: np.ndarray, count: int = 20000) -> np.ndarray:
    """Token frequencies of one row of logits over evenly spaced uniforms (exact, no randomness)."""
    u = ((np.arange(count) + 0.5) / count)[:, None]  # [count, 1]
    out = np.empty(count, dtype=np.int64)
    Sampler(params)(np.repeat(logits[None], count, axis=0), u, out)
    return np.bincount(out, minlength=len(logits)) / count


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def test_sampler_follows_the_distribution_and_its_truncations():
    logits = np.array([0.5, 2.0, -1.0, 1.0, 0.0, -3.0], dtype=np.float32)
    p = softmax(logits.astype(np.float64))
    np.testing.assert_allclose(draw(SamplingParams(), logits), p, atol=2e-4)
    np.testing.assert_allclose(draw(SamplingParams(temperature=0.5), logits), softmax(logits / 0.5), atol=2e-4)
    top2 = np.where(np.isin(np.arange(6), [1, 3]), p, 0.0)
    np.testing.assert_allclose(draw(SamplingParams(top_k=2), logits), top2 / top2.sum(), atol=2e-4)
    # nucleus 0.8: most likely first: 1 (0.50), 3 (0.18), 0 (0.11) -> 0.80 reached with three tokens
    order = np.argsort(-p)
    keep = order[: int(np.searchsorted(np.cumsum(p[order]), 0.8) + 1)]
    nucleus = np.where(np.isin(np.arange(6), keep), p, 0.0)
    np.testing.assert_allclose(draw(SamplingParams(top_p=0.8), logits), nucleus / nucleus.sum(), atol=2e-4)
    assert draw(SamplingParams(top_k=1), logits)[1] == 1.0


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_sampler_never_picks_a_zero_probability_token_and_survives_huge_logits():
    logits = np.array([[-1e4, 3.0, -1e4], [900.0, 1000.0, 0.0], [-2000.0, -2000.5, -2100.0]], dtype=np.float32)
    out = np.empty(3, dtype=np.int64)
    for u in (2.0**-53, 0.5, 1.0):  # the smallest uniform the source makes, a middle one, the largest
        logp = Sampler(SamplingParams())(logits, np.full((3, 1), u), out, logprobs=True)
        assert out[0] == 1 and out[1] == 1 and out[2] in (0, 1)
        assert np.all(np.isfinite(logp)) and logp[0] == pytest.approx(0.0) and logp[1] == pytest.approx(0.0)
    Sampler(SamplingParams(top_k=2, temperature=2.0))(logits, np.full((3, 1), 1.0), out)
    assert out[0] == 1 and out[1] in (0, 1) and out[2] in (0, 1)


def test_sampler_logprobs_are_temperature_1_log_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 9)).astype(np.float32)
    u = rng.uniform(size=(50, 1))
    out = np.empty(50, dtype=np.int64)
    for params in (SamplingParams(), SamplingParams(temperature=0.3, top_p=0.7), SamplingParams(top_k=1)):
        logp = Sampler(params)(logits, u, out, logprobs=True)
        expected = [math.log(softmax(row.astype(np.float64))[t]) for row, t in zip(logits, out, strict=True)]
        np.testing.assert_allclose(logp, expected, atol=1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_row_sampler_draws_what_the_batched_sampler_draws():
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(400, 11)) * rng.uniform(0.1, 30.0, size=(400, 1))).astype(np.float32)
    logits[:3] = [[1e3] * 11, [-1e4] * 10 + [0.0], [800.0] + [0.0] * 10]  # overflow / underflow fall-backs
    u = rng.uniform(size=(400, 1))
    u[3:6, 0] = (2.0**-53, 1.0, 0.5)
    out, one = np.empty(400, dtype=np.int64), np.empty(1, dtype=np.int64)
    for params in (SamplingParams(), SamplingParams(temperature=0.3, top_p=0.7), SamplingParams(top_k=1),
                   SamplingParams(top_k=3, temperature=2.0)):
        sampler = Sampler(params)
        sampler(logits, u, out)
        draw_row = sampler.row_sampler(11)
        for i in range(400):
            token, token_logp = draw_row(logits[i : i + 1], float(u[i, 0]), True)
            logp = sampler(logits[i : i + 1], u[i : i + 1], one, logprobs=True)  # the batched sampler on this row
            assert token == one[0] == out[i] and isinstance(token, int)
            assert token_logp == logp[0] and isinstance(token_logp, float)
            assert draw_row(logits[i : i + 1], float(u[i, 0])) == (token, None)


def test_name_decoding_ascii_and_not():
    tokens = np.array([[1, 2, 3, 0, 0], [3, 3, 1, 2, 0]], dtype=np.int64)
    for chars in (("a", "b", "c"), ("a", "é", "ß")):
        decode = _text_decoder(Vocab(chars))
        assert decode(tokens, [3, 4]) == ["".join(chars), chars[2] * 2 + chars[0] + chars[1]]
        assert decode(tokens[:0], []) == []
