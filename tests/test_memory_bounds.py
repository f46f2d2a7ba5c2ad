"""Memory grows with what is produced, not with the limits given: generation at a huge max-len or batch size,
and scoring a very long item, stay within a few MB (tracemalloc counts numpy's buffers too)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner
from tiny_models import ITEMS, exported

from wavenet_edge.runtime import WavenetModel, cli, generation, scoring
from wavenet_edge.runtime.common.errors import WavenetEdgeError

MB = 1 << 20


@pytest.fixture(scope="module")
def models():
    return exported()


@pytest.fixture(scope="module", params=["step", "window"])
def model(request, models):
    return WavenetModel.load(getattr(models, request.param), provider="cpu", threads=1)


def peak_bytes(func) -> tuple[object, int]:
    """func()'s result and the peak of memory allocated while it ran."""
    tracemalloc.start()
    try:
        result = func()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("batch_size", [1, 256])
def test_a_huge_max_len_allocates_nothing_per_position(model, batch_size):
    reference = model.generate(3, seed=4, batch_size=batch_size, max_len=40)
    names, peak = peak_bytes(lambda: model.generate(3, seed=4, batch_size=batch_size, max_len=10**6))
    assert names == reference  # the tiny model ends its names long before either limit
    assert peak < 2 * MB  # one [B, max_len] float64 buffer alone would be 8 MB per row


def test_names_survive_the_token_ring_growing(model, monkeypatch):
    """The token buffer starts small and doubles as names grow: start it at 2 positions to grow it often."""
    reference = model.generate(80, seed=9, batch_size=7, return_logprobs=True, temperature=3.0)
    monkeypatch.setattr(generation, "RING_START", 2)
    for batch_size in (1, 7, 80):
        assert model.generate(80, seed=9, batch_size=batch_size, return_logprobs=True, temperature=3.0) == reference


def test_batch_size_above_the_limit_is_refused_and_a_big_one_costs_only_n_rows(model):
    limit = generation.MAX_BATCH_SIZE
    with pytest.raises(WavenetEdgeError, match=rf"^batch size must be an integer in 1\.\.{limit}, got 1000000000$"):
        model.generate(3, batch_size=10**9)
    names, peak = peak_bytes(lambda: model.generate(3, seed=4, batch_size=limit))
    assert names == model.generate(3, seed=4, batch_size=1) and peak < 2 * MB


def test_cli_refuses_a_huge_batch_size_in_one_line(models):
    result = CliRunner().invoke(cli.generate_command, ["--onnx", str(models.step), "--batch-size", str(10**9)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert f"1<=x<={generation.MAX_BATCH_SIZE}" in result.stderr


def test_scoring_a_very_long_item_among_many_is_bounded(model):
    long_item = "".join(ITEMS)[:40_000]  # 40k characters, scored with 1023 short items in one batch
    items = ITEMS * 3 + [long_item]
    result, peak = peak_bytes(lambda: model.score(items))
    # padded to the longest item, one [1024, 40k] int64 batch would take 330 MB
    assert peak < 40 * MB
    assert result.n_chars == sum(len(item) + 1 for item in items)
    short = model.score(ITEMS[:50])
    np.testing.assert_allclose(result.logprobs[:50], short.logprobs, rtol=0, atol=1e-9)


def test_scoring_in_pieces_gives_the_same_numbers(model, monkeypatch):
    items = ITEMS[:40] + ["".join(ITEMS[:30])]
    whole = model.score(items)
    monkeypatch.setattr(scoring, "SEGMENT", 3)
    monkeypatch.setattr(scoring, "WINDOW_BATCH", 7)
    pieces = model.score(items)
    np.testing.assert_allclose(pieces.logprobs, whole.logprobs, rtol=0, atol=1e-9)
