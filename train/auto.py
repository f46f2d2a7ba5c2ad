"""The model and settings that wn-train chooses from the data when no --recipe, --init or --resume is given,
and the parsing of a --time budget.

    choice = choose_for_data(items, split.train)     # model options, settings, and what they were chosen from
    seconds = parse_duration("1h30m")                 # 5400.0

The rules (docs/own-data.md gives them to users):

- receptive field: at least the 95th-percentile item length plus one (the boundary token that opens every
  item), and at least 31 (the `default` recipe's, which covers names): stacks of dilations 1-2-4-8, two or
  more, up to four; a longer item needs a longer cycle (1-2-4-8-16, ...), again two to four stacks;
- width: from the characters of the training split (end tokens included): under 20,000: 16 channels, 48
  skip and head channels; under 100,000: 24 and 64; under 1,000,000: 32 and 96 (the `default` recipe's); more:
  64 and 128 (the `large` recipe's), dropout 0.3 (0.25 otherwise);
- batch 256 items (lr 4e-3) from 5,000 training items on, else 64 (lr 3e-3); AdamW, weight decay 0.1,
  200 warm-up steps, cosine decay to 5% of the peak, an exponential moving average of the weights (0.999);
- steps: about 300 passes over the training items, rounded to the thousand, in 2,000..45,000;
- an evaluation every twentieth of the steps (100..2,000, rounded to the hundred).

Any option given on the command line replaces the chosen value, as it does a recipe's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from wavenet_edge.runtime.common.errors import ConfigError

from .trainer import TrainSettings, auto_eval_every

__all__ = ["AutoChoice", "choose_for_data", "length_percentile", "parse_duration"]

MIN_RECEPTIVE_FIELD = 31  # the default recipe's: names need no more
PASSES = 300  # passes over the training items
MIN_STEPS, MAX_STEPS = 2_000, 45_000
# (training characters below which a width applies, channels, skip and head channels, dropout)
WIDTHS = ((20_000, 16, 48, 0.25), (100_000, 24, 64, 0.25), (1_000_000, 32, 96, 0.25), (math.inf, 64, 128, 0.3))
BIG_BATCH_FROM = 5_000  # training items


@dataclass(frozen=True)
class AutoChoice:
    model: dict  # ModelConfig keyword arguments
    settings: TrainSettings
    p95: int  # 95th-percentile item length (characters)
    longest: int
    train_items: int
    train_chars: int  # characters of the training items, end tokens included

    @property
    def receptive_field(self) -> int:
        return 1 + sum(self.model["dilations"]) * self.model["stacks"]


def length_percentile(items: list[str], fraction: float = 0.95) -> int:
    """The length that `fraction` of the items do not exceed (nearest rank)."""
    lengths = sorted(len(item) for item in items)
    if not lengths:
        return 0
    return lengths[max(0, math.ceil(fraction * len(lengths)) - 1)]


def dilations_for(need: int) -> tuple[tuple[int, ...], int]:
    """The dilation cycle and stack count (2..4 stacks) whose receptive field is at least `need`."""
    need = max(need, MIN_RECEPTIVE_FIELD)
    top = 3
    while True:
        cycle = tuple(2 ** i for i in range(top + 1))
        stacks = max(2, math.ceil((need - 1) / sum(cycle)))
        if stacks <= 4:
            return cycle, stacks
        top += 1


def choose_for_data(items: list[str], train: list[str], steps: int | None = None) -> AutoChoice:
    """The model and settings for `items` (all of them: the lengths) with training split `train`. `steps`
    given: the evaluation interval follows it instead of the chosen count."""
    p95 = length_percentile(items)
    cycle, stacks = dilations_for(p95 + 1)
    train_chars = sum(len(item) + 1 for item in train)
    _, channels, head, dropout = next(w for w in WIDTHS if train_chars < w[0])
    big = len(train) >= BIG_BATCH_FROM
    batch = 256 if big else 64
    chosen = round(PASSES * len(train) / batch, -3)
    chosen = int(min(MAX_STEPS, max(MIN_STEPS, chosen)))
    model = {"arch": "wavenet", "channels": channels, "skip_channels": head, "head_channels": head,
             "dilations": cycle, "stacks": stacks, "dropout": dropout}
    settings = TrainSettings(steps=chosen, batch_size=batch, lr=4e-3 if big else 3e-3, optimizer="adamw",
                             weight_decay=0.1, warmup_steps=200, min_lr_ratio=0.05,
                             eval_every=auto_eval_every(steps or chosen), ema=0.999)
    return AutoChoice(model, settings, p95, max((len(i) for i in items), default=0), len(train), train_chars)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smh])")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """Seconds of a duration such as 90s, 10m, 1.5h or 1h30m; ConfigError in one line otherwise."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(a + b for a, b in parts) != compact:
        raise ConfigError(f"--time must be a duration such as 90s, 10m or 1h30m, got {text!r}")
    seconds = sum(float(value) * _UNIT[unit] for value, unit in parts)
    if not 0 < seconds <= 30 * 24 * 3600:
        raise ConfigError(f"--time must be more than 0s and at most 720h, got {text!r}")
    return seconds


def describe_duration(seconds: float) -> str:
    """90 -> '1 min 30 s', 5400 -> '1 h 30 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min" + (f" {rest} s" if rest and minutes < 10 else "")
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h" + (f" {rest // 60} min" if rest // 60 else "")
