"""runtime.sampling.BlockSampler: a big batch drawn in row blocks on several threads (the host's side of a
GPU step, issue 16) gives exactly the tokens and log-probabilities of one Sampler call, for every kind of
sampling, and generation with it gives the same names."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.sampling import BlockSampler, Sampler, SamplingParams

STEP = Path(__file__).resolve().parent / "fixtures" / "tiny-step.onnx"
PARAMS = [SamplingParams(), SamplingParams(temperature=0.7), SamplingParams(top_k=5),
          SamplingParams(top_p=0.8, temperature=1.3), SamplingParams(top_k=1)]


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")  # the overflowing row, on purpose
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"t{p.temperature}-k{p.top_k}-p{p.top_p}")
@pytest.mark.parametrize("logprobs", [False, True])
def test_row_blocks_draw_what_one_call_draws(pool, params, logprobs):
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((1001, 27)) * 4).astype(np.float32)
    logits[7] += 800.0  # a row whose plain exp overflows: drawn by the max-subtracted fallback
    u = 1.0 - rng.random((1001, 1))
    want, got = np.empty(1001, dtype=np.int64), np.full(1001, -1, dtype=np.int64)
    expected = Sampler(params)(logits, u, want, logprobs)
    blocked = BlockSampler(Sampler(params), pool, threads=4, block_rows=100)
    result = blocked(logits, u, got, logprobs)
    assert np.array_equal(got, want)
    if logprobs:
        assert np.array_equal(result, expected)
    else:
        assert result is None


def test_small_batches_take_one_call(pool):
    calls = []

    class Counting(Sampler):
        def __call__(self, logits, u, out, logprobs=False):
            calls.append(len(out))
            return super().__call__(logits, u, out, logprobs)

    blocked = BlockSampler(Counting(SamplingParams()), pool, threads=4, block_rows=100)
    logits, u = np.zeros((150, 27), dtype=np.float32), np.full((150, 1), 0.5)
    blocked(logits, u, np.empty(150, dtype=np.int64))
    blocked(np.zeros((1000, 27), dtype=np.float32), np.full((1000, 1), 0.5), np.empty(1000, dtype=np.int64))
    assert calls == [150, 250, 250, 250, 250]


def test_generation_with_sampler_threads_gives_the_same_names(monkeypatch):
    monkeypatch.setattr(BlockSampler.__init__, "__defaults__", (16,))  # block_rows 16: 128 rows make 3 blocks
    one = WavenetModel.load(STEP, provider="cpu", threads=1)
    assert one.runner.sampler_threads == 1  # on the CPU the worker processes are the parallelism
    blocked = WavenetModel.load(STEP, provider="cpu", threads=1)
    blocked.runner.sampler_threads = 3  # as WavenetModel.load sets it on a device session
    widths = []
    draw = Sampler.__call__
    monkeypatch.setattr(Sampler, "__call__", lambda self, logits, u, out, logprobs=False:
                        widths.append(len(out)) or draw(self, logits, u, out, logprobs))
    for kwargs in ({}, {"temperature": 0.8, "top_k": 6}, {"prefix": "a"}):
        want = one.generate(300, seed=4, batch_size=128, return_logprobs=True, **kwargs)
        widths.clear()
        assert blocked.generate(300, seed=4, batch_size=128, return_logprobs=True, **kwargs) == want
        assert {42, 43} <= set(widths) and 128 not in widths  # 128 rows drawn as blocks of 42, 43 and 43
