"""Each shipped checkpoint (models/wavenet.pt, models/wavenet-large.pt) is the model inside its .onnx file
and that file's int8 copy: it loads with torch.load(weights_only=True) and load_checkpoint, holds no training
state, and gives the same log-probabilities as the exported files; `--model` names find those files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wavenet_edge.runtime import WavenetModel, shipped_model_path
from wavenet_edge.runtime.model import SHIPPED_MODELS
from wavenet_edge.runtime.vocab import BOUNDARY_ID
from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint

MODELS = Path(__file__).parent.parent / "models"
NAMES = ["emma", "olivia", "zoe", "xavier", "maximilian"]


@torch.no_grad()
def torch_logprobs(model: torch.nn.Module, vocab, items: list[str]) -> np.ndarray:
    out = []
    for item in items:
        ids = vocab.encode(item)
        x = torch.tensor([[BOUNDARY_ID] * model.receptive_field + ids])  # (1, R + n)
        logp = torch.log_softmax(model(x)[0, -len(ids) - 1:].double(), dim=-1)  # (n + 1, V)
        out.append(float(logp[torch.arange(len(ids) + 1), torch.tensor(ids + [BOUNDARY_ID])].sum()))
    return np.array(out)


@pytest.mark.parametrize("name", sorted(name for name in SHIPPED_MODELS if not name.endswith("-int8")))
def test_shipped_checkpoint_is_the_shipped_onnx_model(name):
    stem = SHIPPED_MODELS[name].removesuffix(".onnx")  # wavenet, wavenet-large
    assert shipped_model_path(name).resolve() == (MODELS / f"{stem}.onnx").resolve()
    assert shipped_model_path(f"{name}-int8").resolve() == (MODELS / f"{stem}.int8.onnx").resolve()
    raw = torch.load(MODELS / f"{stem}.pt", map_location="cpu", weights_only=True)
    assert raw["train_state"] is None and "optimizer" not in raw
    ckpt = load_checkpoint(MODELS / f"{stem}.pt")
    fp32 = WavenetModel.load(MODELS / f"{stem}.onnx", provider="cpu", threads=1)
    int8 = WavenetModel.load(MODELS / f"{stem}.int8.onnx", provider="cpu", threads=1)
    assert fp32.metadata.config == ckpt.config and fp32.metadata.vocab == ckpt.vocab
    assert fp32.metadata.metrics == ckpt.metrics and int8.metadata.metrics == ckpt.metrics
    assert fp32.metadata.data == ckpt.data and ckpt.data["source"] == "names"
    expected = torch_logprobs(model_from_checkpoint(ckpt), ckpt.vocab, NAMES)
    np.testing.assert_allclose(fp32.score(NAMES).logprobs, expected, atol=1e-4)
    np.testing.assert_allclose(int8.score(NAMES).logprobs, expected, atol=0.1)
