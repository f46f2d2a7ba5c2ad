"""Turning items into training batches: whole sequences (wavenet) or single windows (the lecture's recipe).

Both give (x, y) with x [B, L] token ids and y [B, L - R + 1] targets (-1 = padding, masked from the
loss), matching the models' interface: logits[:, j] predicts y[:, j] from x[:, j : j + R].

Every item is encoded as R boundary tokens, then its characters: predictions are its characters, then
the boundary token (the end). So the first prediction sees only boundary tokens, as in the lecture.
"""

from __future__ import annotations

import torch

from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab

__all__ = ["IGNORE_INDEX", "SequenceBatcher", "WindowBatcher", "encode_sequences"]

IGNORE_INDEX = -1


def encode_sequences(items: list[str], vocab: Vocab, receptive_field: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x [N, R - 1 + T] (left-padded with boundary tokens, right-padded likewise) and y [N, T] (-1 padded),
    with T = longest item + 1 (the end token)."""
    longest = max(len(item) for item in items)
    t = longest + 1
    x = torch.full((len(items), receptive_field - 1 + t), BOUNDARY_ID, dtype=torch.long)
    y = torch.full((len(items), t), IGNORE_INDEX, dtype=torch.long)
    for row, item in enumerate(items):
        ids = torch.tensor(vocab.encode(item), dtype=torch.long)
        n = len(ids)
        x[row, receptive_field: receptive_field + n] = ids  # x[:, R-1] is the item's start token
        y[row, :n] = ids
        y[row, n] = BOUNDARY_ID  # the end of the item
    return x, y


def trim(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop trailing columns where every target is padding."""
    keep = int((y != IGNORE_INDEX).any(dim=0).nonzero().max()) + 1
    return x[:, : x.shape[1] - y.shape[1] + keep], y[:, :keep]


class SequenceBatcher:
    """Random batches of whole items: every position of every item is predicted in one pass."""

    def __init__(self, items: list[str], vocab: Vocab, receptive_field: int):
        self.x, self.y = encode_sequences(items, vocab, receptive_field)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.take(self.draw(batch_size, generator))

    def draw(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """The rows of a random batch (B,)."""
        return torch.randint(0, self.x.shape[0], (batch_size,), generator=generator)

    def take(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return trim(self.x[rows], self.y[rows])

    def chunks(self, batch_size: int):
        """The whole set in order, for evaluation."""
        for start in range(0, self.x.shape[0], batch_size):
            yield trim(self.x[start: start + batch_size], self.y[start: start + batch_size])


class WindowBatcher:
    """The lecture's examples: every (window of R tokens -> next token) pair, sampled independently."""

    def __init__(self, items: list[str], vocab: Vocab, receptive_field: int):
        x, y = encode_sequences(items, vocab, receptive_field)
        windows = x.unfold(1, receptive_field, 1)[:, : y.shape[1]]  # (N, T, R)
        mask = y != IGNORE_INDEX
        self.x = windows[mask]  # (M, R)
        self.y = y[mask].unsqueeze(1)  # (M, 1)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.take(self.draw(batch_size, generator))

    def draw(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """The rows of a random batch (B,)."""
        return torch.randint(0, self.x.shape[0], (batch_size,), generator=generator)

    def take(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[rows], self.y[rows]
