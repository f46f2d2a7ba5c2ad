"""threads=k: big requests split over k worker processes in contiguous blocks, with exactly the names,
log-probabilities and scores of one process for any k, batch size, n, prefix, sampling setting and
constraint; the policy that keeps small requests in one process; the default; bad counts refused in one
line. Runs on the committed fixtures (no torch); tests/test_process_pool.py covers the pool itself."""

from __future__ import annotations

import itertools

import pytest
from model_files import FIXTURES
from tiny_data import ITEMS

from wavenet_edge.runtime import WavenetModel, process_pool, scoring, workers
from wavenet_edge.runtime.generation import GenerationRequest
from wavenet_edge.runtime.providers import ProviderError

BATCH_SIZES = (1, 2, 7, 64, 256)


@pytest.fixture(scope="module", params=["step", "window"])
def path(request):
    return getattr(FIXTURES, request.param)


@pytest.fixture(scope="module")
def reference(path):
    """The 1-process model, and its first 203 names and log-probabilities for seed 21 at batch 1."""
    one = WavenetModel.load(path, provider="cpu", threads=1)
    return one, one.generate(203, seed=21, batch_size=1, return_logprobs=True)


@pytest.fixture(scope="module", params=[2, 3])
def pooled(request, path):
    with WavenetModel.load(path, provider="cpu", threads=request.param) as model:
        yield model


def test_names_and_logprobs_do_not_depend_on_workers_or_batch_size(reference, pooled, many_workers):
    one, expected = reference
    for batch_size in BATCH_SIZES:
        assert pooled.generate(203, seed=21, batch_size=batch_size, return_logprobs=True) == expected, batch_size
    assert len(pooled.worker_pids) == pooled.threads  # the split really ran on processes
    assert one.generate(203, seed=21, batch_size=64, return_logprobs=True) == expected


def test_settings_constraints_and_endless_streams_are_the_same_on_workers(reference, pooled, many_workers):
    one, _ = reference
    for kwargs in ({"prefix": "ka", "max_len": 5}, {"temperature": 0.6, "top_k": 4}, {"top_p": 0.8},
                   {"unique": True}, {"exclude": {"kali", "mora"}}, {"min_len": 5, "suffix": "a"},
                   {"contains": "ne", "return_logprobs": True}):
        for batch_size in (3, 64):
            assert pooled.generate(40, seed=2, batch_size=batch_size, **kwargs) == \
                one.generate(40, seed=2, batch_size=9, **kwargs), (kwargs, batch_size)
    endless = pooled.iter_generate(None, seed=6, batch_size=6, return_logprobs=True)
    assert list(itertools.islice(endless, 150)) == one.generate(150, seed=6, batch_size=4, return_logprobs=True)
    assert pooled.draw_range(37, 60, seed=6, batch_size=8) == one.draw_range(37, 60, seed=6, batch_size=1)


def test_scores_do_not_depend_on_workers(reference, pooled, many_workers, monkeypatch):
    one, _ = reference
    monkeypatch.setattr(scoring, "STEP_BATCH", 16)  # this process: other batches of items than the workers'
    monkeypatch.setattr(process_pool, "SCORE_BLOCK", 37)  # several blocks for each worker
    items = ITEMS[:150] + ["k" * 40]
    assert pooled.score(items) == one.score(items)


def test_small_requests_stay_in_one_process(path):
    with WavenetModel.load(path, provider="cpu", threads=2) as model:
        model.generate(500, seed=1, batch_size=256)
        model.score(ITEMS)
        assert model.worker_pids == []


def test_worker_count_follows_rows_and_size():
    count = workers.worker_count
    assert count(8, GenerationRequest(n=10**6, batch_size=1)) == 1  # batch 1: one process is right
    assert count(8, GenerationRequest(n=10**6, batch_size=1024)) == 8
    assert count(8, GenerationRequest(n=10**6, batch_size=256)) == 4  # at least 64 rows each
    assert count(8, GenerationRequest(n=None, batch_size=4096)) == 8  # endless
    assert count(8, GenerationRequest(n=None, batch_size=4096), names=100) == 1  # --unique -n 100
    small = GenerationRequest(n=workers.START_NAMES - 1, batch_size=4096)
    assert count(8, small) == 1  # not worth starting processes...
    assert count(8, small, started=4) == 4  # ... but worth using those already running
    assert count(8, GenerationRequest(n=3 * workers.MIN_NAMES_PER_WORKER, batch_size=4096), started=8) == 3
    assert workers.score_worker_count(8, 10**6) == 8
    assert workers.score_worker_count(8, 1000, started=8) == 1
    assert workers.physical_cores() >= 1


def test_default_threads_is_every_physical_core():
    assert WavenetModel.load(FIXTURES.step, provider="cpu").threads == workers.physical_cores()


@pytest.mark.parametrize("threads", [0, -1, 1025, 20000])
def test_bad_thread_counts_are_refused(threads):
    with pytest.raises(ProviderError, match=rf"^threads must be an integer in 1\.\.1024, got {threads}$"):
        WavenetModel.load(FIXTURES.step, provider="cpu", threads=threads)
