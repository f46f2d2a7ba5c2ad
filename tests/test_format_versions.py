"""Format 1 step graphs (queues shifted inside the graph, written by wavenet-edge before format 2) still load
and run: the same names for a seed at any batch size and thread count, and the same model as a format-2
export of the same weights. tests/data/format1-step.onnx was written by the format-1 exporter from the
weights in tests/data/format1-step.npz (a tiny model of tests/tiny_models.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import DATA, ITEMS, METRICS, VOCAB, WAVENET

from wavenet_edge.export import export_model
from wavenet_edge.runtime import WavenetModel
from wavenet_edge.train.checkpoint import Checkpoint

FORMAT1 = Path(__file__).parent / "data" / "format1-step.onnx"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    weights = np.load(FORMAT1.with_suffix(".npz"))
    ckpt = Checkpoint(WAVENET, VOCAB, {k: torch.from_numpy(weights[k]) for k in weights.files}, dict(METRICS),
                      dict(DATA))
    path = tmp_path_factory.mktemp("format2") / "step.onnx"
    export_model(ckpt, path, graph="step")
    return WavenetModel.load(FORMAT1, provider="cpu", threads=1), WavenetModel.load(path, provider="cpu", threads=1)


def test_format_1_still_runs_and_matches_format_2(models):
    old, new = models
    assert (old.metadata.format_version, new.metadata.format_version) == (1, 2)
    assert [e["name"] for e in old.metadata.io["inputs"]] == ["tokens", "state"]
    reference = old.generate(60, seed=3, batch_size=1, return_logprobs=True)
    for batch_size in (7, 60):
        assert old.generate(60, seed=3, batch_size=batch_size, return_logprobs=True) == reference
    assert WavenetModel.load(FORMAT1, provider="cpu", threads=3).generate(
        60, seed=3, batch_size=60, return_logprobs=True) == reference
    fresh = new.generate(60, seed=3, batch_size=7, return_logprobs=True)
    assert [name for name, _ in fresh] == [name for name, _ in reference]  # logits agree to ~1e-6
    np.testing.assert_allclose([lp for _, lp in fresh], [lp for _, lp in reference], atol=1e-4)
    np.testing.assert_allclose(old.score(ITEMS[:100]).logprobs, new.score(ITEMS[:100]).logprobs, atol=1e-4)
