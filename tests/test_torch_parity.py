"""The runtime agrees with the torch model it was exported from: greedy names and scores, for every graph kind.

Torch only: the models are trained and exported in this session (tiny_models.exported()), so these tests check
today's exporter and runtime together; the runtime's own tests run on the committed fixtures without torch.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from tiny_data import ITEMS
from tiny_models import exported, torch_greedy, torch_logprobs

from wavenet_edge.runtime import WavenetModel, cli

TOL = 1e-4


@pytest.fixture(scope="module")
def models():
    return exported()


def test_greedy_names_match_the_torch_model(models):
    step, window, lecture = (WavenetModel.load(path, provider="cpu", threads=1)
                             for path in (models.step, models.window, models.lecture_window))
    for prefix in ("", "ka", "vi", "moel"):
        expected = torch_greedy(models.wavenet, prefix)
        assert step.generate(1, top_k=1, prefix=prefix) == [expected]
        assert window.generate(1, top_k=1, prefix=prefix) == [expected]
        assert lecture.generate(1, top_k=1, prefix=prefix) == [torch_greedy(models.lecture, prefix)]


CASES = [("step", "wavenet"), ("window", "wavenet"), ("lecture_window", "lecture")]


@pytest.mark.parametrize("path_name, torch_name", CASES)
def test_score_agrees_with_the_torch_model(models, path_name, torch_name):
    model = WavenetModel.load(getattr(models, path_name), provider="cpu")
    items = ITEMS[:150] + ["k", "anan", "elelelelelel"]  # lengths 1 .. 12 (max_len), duplicates included
    result = model.score(items)
    expected, n_chars = torch_logprobs(getattr(models, torch_name), items)
    assert result.n_items == len(items)
    assert result.n_chars == n_chars == sum(len(item) + 1 for item in items)
    assert result.nll_per_char == pytest.approx(-expected.sum() / n_chars, abs=TOL)
    np.testing.assert_allclose(result.logprobs, expected, atol=TOL)
    assert isinstance(result.logprobs[0], float) and len(result.logprobs) == len(items)


@pytest.mark.parametrize("path_name, torch_name", CASES)
def test_info_counts_the_torch_models_parameters(models, path_name, torch_name):
    result = CliRunner().invoke(cli.info_command, [str(getattr(models, path_name)), "--format", "json"])
    assert result.exit_code == 0, result.output
    torch_model = getattr(models, torch_name)
    assert json.loads(result.stdout)["parameters"] == sum(p.numel() for p in torch_model.parameters())
