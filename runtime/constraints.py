"""Constrained sampling: names of a length range, with an ending, containing a letter sequence, each a
draw from the model's distribution restricted to the names that satisfy the constraints.

    constraints = NameConstraints(min_len=5, max_len=7, suffix="a")
    stream = constrain(stream, constraints, budget=100_000)     # (index, name, logprob) items that pass

How it stays exact: name i of a seed is an independent draw from the model (its own counter-based random
stream, runtime/sampling.py); keeping the draws that satisfy the constraints and dropping the others
(rejection sampling) leaves independent draws from the model conditioned on the constraints, and the
accepted names keep their index order, so the output for a seed is the same at any batch size and in
both runtimes. Masking the end token before min_len would not be exact (it re-weights every name by the
probability of the ends it skipped), so no mask is used.

`max_len` is a limit on complete names: the generator runs with room for max_len + 1 characters and a
name that reaches max_len + 1 without the model ending it is dropped, never cut (runtime/generation.py
forces the end token only at that extra position). `budget` bounds the draws: past it, a
ConstraintError gives the acceptance rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .common.errors import WavenetEdgeError

__all__ = ["ConstraintError", "NameConstraints", "constrain", "default_budget", "too_rare"]

MIN_BUDGET = 100_000  # draws before a constrained request gives up, at least
BUDGET_PER_NAME = 1000


class ConstraintError(WavenetEdgeError):
    """The constraints were met too rarely for the budget of draws."""


def default_budget(n: int | None) -> int:
    return max(MIN_BUDGET, BUDGET_PER_NAME * (n or 1))


@dataclass(frozen=True)
class NameConstraints:
    """What a generated name must satisfy; validated on construction. The prefix is part of the name."""

    max_len: int
    min_len: int = 0
    suffix: str = ""
    contains: str = ""

    def __post_init__(self) -> None:
        for name, value, low in (("min-len", self.min_len, 0), ("max-len", self.max_len, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                kind = "a non-negative" if low == 0 else "a positive"
                raise WavenetEdgeError(f"{name} must be {kind} integer, got {value!r}")
        if self.min_len > self.max_len:
            raise WavenetEdgeError(f"min-len {self.min_len} is above max-len {self.max_len}")
        for option, text in (("suffix", self.suffix), ("contains", self.contains)):
            if not isinstance(text, str):
                raise WavenetEdgeError(f"{option} must be a string, got {text!r}")
        if len(self.suffix) > self.max_len:
            raise WavenetEdgeError(f"max-len {self.max_len} is below the length of suffix {self.suffix!r} "
                                   f"({len(self.suffix)})")
        if len(self.contains) > self.max_len:
            raise WavenetEdgeError(f"max-len {self.max_len} is below the length of contains {self.contains!r} "
                                   f"({len(self.contains)})")

    @property
    def active(self) -> bool:
        """Whether anything but max_len constrains the names."""
        return self.min_len > 0 or bool(self.suffix) or bool(self.contains)

    def accepts(self, name: str) -> bool:
        return (self.min_len <= len(name) <= self.max_len and name.endswith(self.suffix)
                and self.contains in name)

    def describe(self) -> str:
        parts = [f"min-len {self.min_len}"] if self.min_len > 0 else []
        parts.append(f"max-len {self.max_len}")
        if self.suffix:
            parts.append(f"suffix {self.suffix!r}")
        if self.contains:
            parts.append(f"contains {self.contains!r}")
        return ", ".join(parts)


def constrain(stream: Iterable[tuple[int, str, float | None]], constraints: NameConstraints, n: int | None,
              budget: int) -> Iterator[tuple[int, str, float | None]]:
    """The items of `stream` whose names satisfy `constraints`, in order. ConstraintError when the
    `budget`-th draw leaves fewer than `n` names accepted (n None: fewer than one)."""
    wanted = n or 1
    drawn = accepted = 0
    for item in stream:
        drawn += 1
        if constraints.accepts(item[1]):
            accepted += 1
            yield item
        if drawn >= budget and accepted < wanted:  # the budget-th draw: drawn == budget in the message
            raise too_rare(constraints, accepted, drawn, wanted)


def too_rare(constraints: NameConstraints, accepted: int, drawn: int, wanted: int) -> ConstraintError:
    return ConstraintError(
        f"the constraints ({constraints.describe()}) are too rare: {accepted} of {drawn:,} draws met them "
        f"(acceptance {accepted / drawn:.4%}); found {accepted} of {wanted} names (loosen them, or raise "
        f"max-samples)"
    )
