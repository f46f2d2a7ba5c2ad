"""The model configuration: one dataclass, the single definition that training, export and runtime share.

It is pure Python (no torch) and serializes to a plain dict that travels inside every checkpoint and
every .onnx file, so an artifact never needs a sidecar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .common.errors import ConfigError

__all__ = ["ARCHITECTURES", "LIMITS", "MAX_LAYERS", "MAX_RECEPTIVE_FIELD", "MAX_STATE_SIZE", "ModelConfig"]

ARCHITECTURES = ("wavenet", "lecture")
# The range of every integer setting: values outside them make no model that trains or runs on one machine
# (a receptive field of a million tokens, 100,000 channels), so they are refused before any work.
LIMITS = {
    "vocab_size": (2, 0x110000 + 1),  # every Unicode code point, plus the boundary token
    "max_len": (1, 10_000),
    "channels": (1, 4096), "skip_channels": (1, 4096), "head_channels": (1, 4096),
    "stacks": (1, 64),
    "n_embd": (1, 4096), "n_hidden": (1, 4096), "block_size": (1, 1024),
}
MAX_DILATION = 4096
MAX_LAYERS = 256  # wavenet: len(dilations) x stacks
MAX_RECEPTIVE_FIELD = 8192  # tokens
MAX_STATE_SIZE = 1 << 22  # step graph: floats per generated row (channels x (receptive field - 1)), 16 MiB


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in {low}..{high}, got {value!r}")


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
        used = ("vocab_size", "max_len") + (
            ("channels", "skip_channels", "head_channels", "stacks") if self.arch == "wavenet"
            else ("n_embd", "n_hidden", "block_size"))
        for name in used:
            _check_int(name, getattr(self, name), *LIMITS[name])
        if self.arch == "wavenet":
            self._validate_wavenet()
        elif not math.log2(self.block_size).is_integer():
            raise ConfigError(f"block_size must be a power of two in 1..{LIMITS['block_size'][1]}, "
                              f"got {self.block_size}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be a number in [0, 1), got {self.dropout!r}")

    def _validate_wavenet(self) -> None:
        if not self.dilations or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_DILATION
                                     for d in self.dilations):
            raise ConfigError(f"dilations must be integers in 1..{MAX_DILATION}, got {list(self.dilations)}")
        if self.kernel_size != 2:
            raise ConfigError(f"kernel_size must be 2 (the step graph assumes it), got {self.kernel_size!r}")
        layers = len(self.dilations) * self.stacks
        if layers > MAX_LAYERS:
            raise ConfigError(f"{len(self.dilations)} dilations x {self.stacks} stacks make {layers} layers; "
                              f"the most is {MAX_LAYERS}")
        if self.receptive_field > MAX_RECEPTIVE_FIELD:
            raise ConfigError(f"the receptive field (1 + stacks x sum of dilations) is {self.receptive_field} "
                              f"tokens; it must be in 2..{MAX_RECEPTIVE_FIELD}")
        state = (self.receptive_field - 1) * self.channels
        if state > MAX_STATE_SIZE:
            raise ConfigError(f"channels x (receptive field - 1) is {state} floats of generation state per name; "
                              f"the most is {MAX_STATE_SIZE} (fewer channels or smaller dilations)")

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
