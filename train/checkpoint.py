"""The checkpoint: one file holding weights, config, vocabulary, split, metrics, data fingerprint and,
for --resume, the full training state. It loads with torch.load(weights_only=True) and is written
atomically.

    ckpt = load_checkpoint("model.pt")
    model = model_from_checkpoint(ckpt)     # best-val weights, eval mode
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch

from wavenet_edge.runtime.common.errors import ConfigError, ModelFileError, VocabError, first_line
from wavenet_edge.runtime.common.files import atomic_path
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab

from .models import LectureNet, WaveNet, build_model

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "Checkpoint", "load_checkpoint", "model_from_checkpoint",
           "save_checkpoint"]

CHECKPOINT_FORMAT = "wavenet-edge-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    config: ModelConfig
    vocab: Vocab
    state_dict: dict  # best-val weights
    metrics: dict = field(default_factory=dict)  # train_loss, val_loss, step, ... of the best-val weights
    data: dict = field(default_factory=dict)  # sha256, source, split description
    train_state: dict | None = None  # latest weights, optimizer, scheduler, step, RNG, history: for --resume

    def to_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(), "vocab": self.vocab.to_dict(),
            "state_dict": self.state_dict, "metrics": self.metrics, "data": self.data,
            "train_state": self.train_state,
        }


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> None:
    """Write atomically: a kill mid-write leaves the previous file intact."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:  # through Python's file: a full disk is an OSError
        torch.save(ckpt.to_dict(), handle)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and validate a checkpoint; ModelFileError says in one line what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _unpickling_reason(err)
        if "global" in reason.lower():  # torch refused to import something: the file would run code
            raise ModelFileError(f"{path}: refused by weights_only loading (not a safe checkpoint): {reason}") from None
        raise ModelFileError(f"{path}: not a readable checkpoint (truncated or corrupt?): {reason}") from None
    except Exception as err:  # torch's legacy loader fails on random bytes in many ways (KeyError, IndexError...)
        raise ModelFileError(f"{path}: not a readable checkpoint (truncated or corrupt?): {first_line(err)}") from None
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(f"{path}: not a wavenet-edge checkpoint")
    version = raw.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise ModelFileError(
            f"{path}: unsupported checkpoint format version {version} (this version reads {CHECKPOINT_VERSION})"
        )
    try:
        config = ModelConfig.from_dict(raw["config"])
        vocab = Vocab.from_dict(raw["vocab"])
        state_dict = raw["state_dict"]
    except (KeyError, ConfigError, VocabError) as err:
        raise ModelFileError(f"{path}: malformed checkpoint: {err}") from None
    if vocab.size != config.vocab_size:
        raise ModelFileError(f"{path}: vocabulary size {vocab.size} does not match config {config.vocab_size}")
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ModelFileError(f"{path}: malformed checkpoint: state_dict is not a mapping of tensors")
    return Checkpoint(config, vocab, state_dict, raw.get("metrics") or {}, raw.get("data") or {},
                      raw.get("train_state"))


def _unpickling_reason(err: pickle.UnpicklingError) -> str:
    """The line of torch's weights_only error that says what was refused, without its generic advice."""
    lines = [line.strip() for line in str(err).splitlines()
             if line.strip() and not line.strip().startswith("Check the documentation")]
    return lines[-1].split("WeightsUnpickler error:")[-1].strip() if lines else "unsafe content"


def model_from_checkpoint(ckpt: Checkpoint, where: str = "checkpoint") -> WaveNet | LectureNet:
    """The best-val model of a checkpoint, in eval mode; ModelFileError when the weights do not fit."""
    model = build_model(ckpt.config)
    try:
        model.load_state_dict(ckpt.state_dict)
    except RuntimeError as err:
        raise ModelFileError(f"{where}: weights do not match the config: {first_line(err)}") from None
    return model.eval()
