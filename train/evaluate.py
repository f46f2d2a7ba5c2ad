"""Evaluation: mean negative log-likelihood per character (end token included), the lecture's metric."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .batches import IGNORE_INDEX, SequenceBatcher

__all__ = ["mean_nll"]


@torch.no_grad()
def mean_nll(model: nn.Module, batcher: SequenceBatcher, device: torch.device, batch_size: int = 1024) -> float:
    """Sum of NLL over every target of every item / number of targets, with the model in eval mode."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)  # on the device: one read at the end, not per chunk
    count = 0
    for x, y in batcher.chunks(batch_size):
        logits = model(x.to(device))  # (B, T, V)
        total += F.cross_entropy(logits.flatten(0, 1).double(), y.to(device).flatten(), ignore_index=IGNORE_INDEX,
                                 reduction="sum")
        count += int((y != IGNORE_INDEX).sum())
    model.train(was_training)
    return total.item() / count
