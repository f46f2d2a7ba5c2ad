"""WavenetModel.score on the committed fixtures (no torch): both graph kinds, batching, errors. The torch parity of
the scores is in test_torch_parity.py."""

from __future__ import annotations

import numpy as np
import pytest
from model_files import FIXTURES
from tiny_data import ITEMS, VOCAB

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime import scoring as scoring_module
from wavenet_edge.runtime.common.errors import WavenetEdgeError


@pytest.fixture(scope="module")
def models():
    return FIXTURES


def test_step_and_window_graphs_score_alike(models):
    step = WavenetModel.load(models.step, provider="cpu").score(ITEMS)
    window = WavenetModel.load(models.window, provider="cpu").score(ITEMS)
    np.testing.assert_allclose(step.logprobs, window.logprobs, atol=1e-4)
    assert step.nll_per_char == pytest.approx(window.nll_per_char, abs=1e-6)


@pytest.mark.parametrize("path_name", ["step", "window"])
def test_batching_does_not_change_the_scores(models, monkeypatch, path_name):
    model = WavenetModel.load(getattr(models, path_name), provider="cpu")
    items = ITEMS[:40]
    whole = model.score(items)
    monkeypatch.setattr(scoring_module, "STEP_BATCH", 3)
    monkeypatch.setattr(scoring_module, "WINDOW_BATCH", 10)  # smaller than some items' window count
    small = model.score(items)
    np.testing.assert_allclose(small.logprobs, whole.logprobs, rtol=0, atol=1e-6)
    assert model.score(reversed(items)).logprobs == pytest.approx(whole.logprobs[::-1], abs=1e-6)


def test_score_errors_name_the_item(models):
    model = WavenetModel.load(models.step, provider="cpu")
    allowed = "".join(VOCAB.chars)
    with pytest.raises(WavenetEdgeError) as info:
        model.score(["kali", "mora", "Mo-ra"])
    assert str(info.value) == f"item 3 'Mo-ra': characters not in the vocabulary: 'M-' (allowed: {allowed!r})"
    with pytest.raises(WavenetEdgeError, match="^nothing to score: no items$"):
        model.score([])
