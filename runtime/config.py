"""The model configuration: one dataclass, the single definition that training, export and runtime share.

It is pure Python (no torch) and serializes to a plain dict that travels inside every checkpoint and
every .onnx file, so an artifact never needs a sidecar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .common.errors import ConfigError

__all__ = ["ARCHITECTURES", "ModelConfig"]

ARCHITECTURES = ("wavenet", "lecture")


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of a model. Fields that an architecture does not use are ignored by it.

    wavenet (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio"): an embedding of
    `channels`, stacks of causal dilated convolutions (kernel 2) with gated activations, residual and
    skip connections, then ReLU -> 1x1 (`skip_channels` -> `head_channels`) -> ReLU -> 1x1 -> logits.

    lecture (Karpathy, makemore part 5): embedding of `n_embd`, log2(`block_size`) blocks of
    FlattenConsecutive(2) -> Linear(no bias) -> BatchNorm1d -> Tanh of width `n_hidden`, then Linear.
    """

    arch: str = "wavenet"
    vocab_size: int = 27
    max_len: int = 32  # longest item (characters) that training accepts; the default generation limit
    # wavenet
    channels: int = 48
    skip_channels: int = 96
    head_channels: int = 96
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    stacks: int = 1
    kernel_size: int = 2
    dropout: float = 0.1
    # lecture
    n_embd: int = 24
    n_hidden: int = 128
    block_size: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "dilations", tuple(self.dilations))
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first setting that makes no sense."""
        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"unknown architecture {self.arch!r} (choose from: {', '.join(ARCHITECTURES)})")
        positive = {"vocab_size": self.vocab_size, "max_len": self.max_len}
        if self.arch == "wavenet":
            positive.update(channels=self.channels, skip_channels=self.skip_channels,
                            head_channels=self.head_channels, stacks=self.stacks)
            if not self.dilations or any(not isinstance(d, int) or d < 1 for d in self.dilations):
                raise ConfigError(f"dilations must be positive integers, got {list(self.dilations)}")
            if self.kernel_size != 2:
                raise ConfigError(f"kernel_size must be 2 (the step graph assumes it), got {self.kernel_size}")
        else:
            positive.update(n_embd=self.n_embd, n_hidden=self.n_hidden, block_size=self.block_size)
            if self.block_size >= 2 and not math.log2(self.block_size).is_integer():
                raise ConfigError(f"block_size must be a power of two, got {self.block_size}")
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.vocab_size < 2:
            raise ConfigError(f"vocab_size must be at least 2, got {self.vocab_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def layer_dilations(self) -> tuple[int, ...]:
        """Dilation of every wavenet layer, bottom to top (the dilation cycle repeated `stacks` times)."""
        return self.dilations * self.stacks

    @property
    def receptive_field(self) -> int:
        """Tokens one prediction sees: the current token and the ones before it."""
        if self.arch == "wavenet":
            return 1 + (self.kernel_size - 1) * sum(self.layer_dilations)
        return self.block_size

    @property
    def n_blocks(self) -> int:
        """Lecture model: number of FlattenConsecutive(2) blocks."""
        return int(math.log2(self.block_size))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["dilations"] = list(self.dilations)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise ConfigError("malformed model config: expected a mapping")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys: {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as err:
            raise ConfigError(f"malformed model config: {err}") from None
