"""The checkpoint: one file holding weights, config, vocabulary, split, metrics, data fingerprint and,
for --resume, the full training state. It loads with torch.load(weights_only=True) and is written
atomically.

    ckpt = load_checkpoint("model.pt")
    model = model_from_checkpoint(ckpt)     # best-val weights, eval mode
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from wavenet_edge.runtime.common.errors import ConfigError, ModelFileError, VocabError, first_line
from wavenet_edge.runtime.common.files import atomic_path
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab

from .models import LectureNet, WaveNet, build_model

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "Checkpoint", "load_checkpoint", "model_from_checkpoint",
           "save_checkpoint", "validate_train_state"]

KNOWN_KEYS = {"format", "format_version", "config", "vocab", "state_dict", "metrics", "data", "train_state",
              "teacher"}
NUMERIC_METRICS = ("step", "batch_loss", "train_loss", "val_loss", "test_loss", "lr", "elapsed_s", "parameters")
# train_state: key -> (what it must be, a test)
TRAIN_STATE_FIELDS = {
    "model": ("a mapping of tensors", lambda v: isinstance(v, dict) and all(isinstance(t, torch.Tensor)
                                                                            for t in v.values())),
    "optimizer": ("an optimizer state", lambda v: isinstance(v, dict) and {"state", "param_groups"} <= set(v)),
    "step": ("a non-negative integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "batch_rng": ("an RNG state tensor", lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.uint8),
    "history": ("a list of evaluation records", lambda v: isinstance(v, list) and all(
        isinstance(r, dict) and _numeric(r.get("step")) and _numeric(r.get("val_loss")) for r in v)),
    "elapsed": ("a number", lambda v: _numeric(v)),
    "settings": ("a mapping of training settings", lambda v: isinstance(v, dict)),
}

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
    teacher: dict = field(default_factory=dict)  # a distilled model's teacher: path, sha256, config, metrics, data
    source: str | None = field(default=None, compare=False)  # the file it was loaded from (not saved)

    def to_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(), "vocab": self.vocab.to_dict(),
            "state_dict": self.state_dict, "metrics": self.metrics, "data": self.data,
            "train_state": self.train_state, "teacher": self.teacher,
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
        with warnings.catch_warnings():  # torch's own warnings (a raw pickle, an old format): the Error line says it
            warnings.simplefilter("ignore")
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
    unknown = sorted(str(k) for k in set(raw) - KNOWN_KEYS)
    if unknown:
        raise ModelFileError(f"{path}: malformed checkpoint: unknown keys {', '.join(unknown)}")
    metrics, data, teacher = raw.get("metrics") or {}, raw.get("data") or {}, raw.get("teacher") or {}
    for name, value in (("metrics", metrics), ("data", data), ("teacher", teacher)):
        if not isinstance(value, dict):
            raise ModelFileError(f"{path}: malformed checkpoint: {name} is {type(value).__name__}, not a mapping")
    for name in NUMERIC_METRICS:
        if name in metrics and not _numeric(metrics[name]):
            raise ModelFileError(f"{path}: malformed checkpoint: metrics {name} is {metrics[name]!r}, not a number")
    train_state = raw.get("train_state")
    if train_state is not None and not isinstance(train_state, dict):
        raise ModelFileError(f"{path}: malformed checkpoint: train_state is {type(train_state).__name__}")
    return Checkpoint(config, vocab, state_dict, metrics, data, train_state, teacher, str(path))


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_train_state(state: dict | None, where: str) -> dict:
    """The training state of a checkpoint for --resume, or ModelFileError naming the first bad field.
    (Whether it fits the model and optimizer is checked when they load it.)"""
    if not state:
        raise ModelFileError(f"{where}: the checkpoint holds no training state")
    for name, (what, ok) in TRAIN_STATE_FIELDS.items():
        if name not in state:
            raise ModelFileError(f"{where}: malformed training state: {name} is missing")
        if not ok(state[name]):
            raise ModelFileError(f"{where}: malformed training state: {name} is not {what}")
    if "rng" not in state and not isinstance(state.get("torch_rng"), torch.Tensor):
        raise ModelFileError(f"{where}: malformed training state: torch_rng is missing")
    if "rng" in state and not (isinstance(state["rng"], list) and state["rng"]):
        raise ModelFileError(f"{where}: malformed training state: rng is not a list of RNG states")
    return state


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
