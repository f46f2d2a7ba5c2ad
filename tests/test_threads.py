"""Generation on k worker threads: exactly the names and log-probabilities of one thread, for any batch size,
n, prefix and sampling setting; the default worker count; bad thread counts refused in one line."""

from __future__ import annotations

import itertools
import threading

import pytest
from tiny_models import ITEMS, exported

from wavenet_edge.runtime import WavenetModel, scoring, workers
from wavenet_edge.runtime.generation import GenerationRequest
from wavenet_edge.runtime.providers import ProviderError


@pytest.fixture(scope="module")
def models():
    return exported()


@pytest.fixture(scope="module", params=["step", "window"])
def path(request, models):
    return getattr(models, request.param)


@pytest.fixture()
def many_workers(monkeypatch):
    """Let small batches use several workers too, so the tiny tests exercise the split."""
    monkeypatch.setattr(workers, "MIN_ROWS_PER_WORKER", 1)


def test_names_and_logprobs_do_not_depend_on_threads_or_batch_size(path, many_workers):
    reference = WavenetModel.load(path, provider="cpu", threads=1).generate(
        101, seed=21, batch_size=1, return_logprobs=True)
    for threads in (2, 3, 8):
        model = WavenetModel.load(path, provider="cpu", threads=threads)
        for batch_size in (1, 2, 7, 64, 256):
            got = model.generate(101, seed=21, batch_size=batch_size, return_logprobs=True)
            assert got == reference, (threads, batch_size)


def test_settings_and_endless_streams_are_the_same_on_threads(path, many_workers):
    one = WavenetModel.load(path, provider="cpu", threads=1)
    three = WavenetModel.load(path, provider="cpu", threads=3)
    for kwargs in ({"prefix": "ka", "max_len": 5}, {"temperature": 0.6, "top_k": 4}, {"top_p": 0.8},
                   {"unique": True}):
        assert three.generate(40, seed=2, batch_size=9, **kwargs) == one.generate(40, seed=2, batch_size=9, **kwargs)
    endless = three.iter_generate(None, seed=6, batch_size=6)
    assert list(itertools.islice(endless, 50)) == one.generate(50, seed=6, batch_size=4)


def test_scores_do_not_depend_on_threads(path, monkeypatch):
    monkeypatch.setattr(scoring, "STEP_BATCH", 16)  # several batches of items to share out
    monkeypatch.setattr(scoring, "WINDOW_BATCH", 50)
    items = ITEMS[:150]
    one = WavenetModel.load(path, provider="cpu", threads=1).score(items)
    three = WavenetModel.load(path, provider="cpu", threads=3).score(items)
    assert three == one


def test_abandoned_streams_stop_their_workers(path, many_workers):
    model = WavenetModel.load(path, provider="cpu", threads=4)
    before = threading.active_count()
    stream = model.iter_generate(None, seed=1, batch_size=8)
    assert len(list(itertools.islice(stream, 5))) == 5
    stream.close()
    assert threading.active_count() == before


def test_worker_count_follows_the_rows():
    assert workers.worker_count(8, GenerationRequest(n=10_000, batch_size=1)) == 1  # batch 1: one core is right
    assert workers.worker_count(8, GenerationRequest(n=10_000, batch_size=1024)) == 8
    assert workers.worker_count(8, GenerationRequest(n=100, batch_size=1024)) == 1  # 100 rows: one worker
    assert workers.worker_count(2, GenerationRequest(n=None, batch_size=256)) == 2
    assert workers.physical_cores() >= 1


def test_default_threads_is_every_physical_core(models):
    assert WavenetModel.load(models.step, provider="cpu").threads == workers.physical_cores()


@pytest.mark.parametrize("threads", [0, -1, 1025, 20000])
def test_bad_thread_counts_are_refused(models, threads):
    with pytest.raises(ProviderError, match=rf"^threads must be an integer in 1\.\.1024, got {threads}$"):
        WavenetModel.load(models.step, provider="cpu", threads=threads)
