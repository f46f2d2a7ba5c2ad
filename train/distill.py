"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network").

    teacher = Teacher.load("big.pt", vocab)
    loss_sum = distillation_loss_sum(student_logits, teacher.logits(x_teacher), y, weight=0.5, temperature=2.0)

The student's loss at every non-padding position is

    (1 - a) * NLL(y | student) + a * T^2 * KL(softmax(teacher / T) || softmax(student / T))

The T^2 keeps the soft targets' gradient on the scale of the hard targets' as T changes (Hinton et al.,
sec. 2). Any architecture can teach any other: the batches carry max(R_student, R_teacher) - 1 leading
boundary tokens and each model reads the last R columns it needs (`model_input`), so both predict the
same positions. The vocabularies must be the same.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional as F

from wavenet_edge.runtime.common.dataset import file_sha256
from wavenet_edge.runtime.common.errors import DataError
from wavenet_edge.runtime.vocab import Vocab

from .batches import IGNORE_INDEX
from .checkpoint import load_checkpoint, model_from_checkpoint
from .models import count_parameters

__all__ = ["DISTILL_SCHEDULES", "Teacher", "distill_weight_at", "distillation_loss_sum", "model_input"]

DISTILL_SCHEDULES = ("constant", "linear")  # linear: the weight falls from a to 0 over the run


def distill_weight_at(weight: float, schedule: str, step: int, steps: int) -> float:
    """The KL weight at `step` (0-based) of a `steps`-step run."""
    if schedule == "linear":
        return weight * max(0.0, 1.0 - step / steps)
    return weight


def distillation_loss_sum(student_logits: torch.Tensor, targets: torch.Tensor,
                          teacher_logits: torch.Tensor | None = None, weight: float = 0.0,
                          temperature: float = 1.0) -> torch.Tensor:
    """Sum over the non-padding positions of (1 - a) NLL + a T^2 KL(teacher_T || student_T).

    student_logits, teacher_logits (B, T, V); targets (B, T) with IGNORE_INDEX at padding. Without a
    teacher (or a = 0) it is the plain summed NLL. Divide by the number of targets for the mean."""
    nll = F.cross_entropy(student_logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
                          reduction="sum")
    if teacher_logits is None or weight == 0.0:
        return nll
    mask = targets != IGNORE_INDEX  # (B, T)
    log_student = F.log_softmax(student_logits[mask] / temperature, dim=-1)  # (N, V)
    log_teacher = F.log_softmax(teacher_logits[mask].detach() / temperature, dim=-1)  # (N, V)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum()
    return (1.0 - weight) * nll + weight * temperature ** 2 * kl


def model_input(x: torch.Tensor, batch_receptive_field: int, receptive_field: int) -> torch.Tensor:
    """The columns of x (built for `batch_receptive_field`) that a model of `receptive_field` reads:
    the leading extra boundary tokens are dropped, so every model predicts the same positions."""
    return x[:, batch_receptive_field - receptive_field:]


class Teacher:
    """A trained checkpoint in eval mode whose logits are the soft targets."""

    def __init__(self, model: torch.nn.Module, identity: dict):
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.identity = identity

    @property
    def receptive_field(self) -> int:
        return self.model.receptive_field

    @classmethod
    def load(cls, path: str | Path, vocab: Vocab, device: torch.device | str = "cpu") -> Teacher:
        """The checkpoint at `path` as a teacher for a student of `vocab`; DataError if the vocabularies differ."""
        path = Path(path)
        ckpt = load_checkpoint(path)
        if ckpt.vocab != vocab:
            raise DataError(f"--teacher {path}: its vocabulary ({''.join(ckpt.vocab.chars)!r}) differs from "
                            f"the data's ({''.join(vocab.chars)!r})")
        model = model_from_checkpoint(ckpt, f"--teacher {path}").to(device)
        identity = {"path": str(path), "sha256": file_sha256(path), "config": ckpt.config.to_dict(),
                    "parameters": count_parameters(model), "metrics": dict(ckpt.metrics), "data": dict(ckpt.data)}
        return cls(model, identity)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, R_teacher - 1 + T) -> (B, T, V)"""
        return self.model(x)

    @torch.no_grad()
    def table(self, x: torch.Tensor, batch_receptive_field: int, chunk: int = 1024) -> torch.Tensor:
        """The teacher's logits for every row of a batcher's x (N, batch_rf - 1 + T), once: (N, T, V) on the
        CPU. The teacher runs in eval mode, so a batch's soft targets are rows of this table (its columns
        cut to the batch's length) and training needs no teacher pass per step."""
        device = next(self.model.parameters()).device
        parts = [self.logits(model_input(x[i: i + chunk], batch_receptive_field, self.receptive_field).to(device))
                 .float().cpu() for i in range(0, x.shape[0], chunk)]
        return torch.cat(parts)
