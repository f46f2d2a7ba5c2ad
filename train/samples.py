"""Sampling from a torch model (the lecture's loop: recompute the window for each character).

Used to print samples during training and as the eager baseline of the generation benchmark; the
product's fast sampler is the ONNX runtime's.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab

from .models import LectureNet, WaveNet

__all__ = ["sample_names"]


@torch.no_grad()
def sample_names(model: WaveNet | LectureNet, vocab: Vocab, n: int, max_len: int, generator: torch.Generator,
                 temperature: float = 1.0, device: torch.device | str = "cpu") -> list[str]:
    """n names sampled in one batch; each row stops at its first boundary token or at max_len characters."""
    was_training = model.training
    model.eval()
    r = model.receptive_field
    window = torch.full((n, r), BOUNDARY_ID, dtype=torch.long, device=device)  # (n, R)
    out = torch.zeros((n, max_len), dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    for t in range(max_len):
        logits = model(window)[:, -1] / temperature  # (n, V)
        probs = F.softmax(logits.float(), dim=-1).cpu()
        nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (n,)
        nxt[done] = BOUNDARY_ID
        done |= nxt == BOUNDARY_ID
        out[:, t] = nxt
        if bool(done.all()):
            break
        window = torch.cat([window[:, 1:], nxt.unsqueeze(1).to(device)], dim=1)
    model.train(was_training)
    return [vocab.decode(row.tolist()) for row in _cut_at_end(out)]


def _cut_at_end(out: torch.Tensor) -> list[torch.Tensor]:
    rows = []
    for row in out:
        ends = (row == BOUNDARY_ID).nonzero()
        rows.append(row[: int(ends[0])] if len(ends) else row)
    return rows
