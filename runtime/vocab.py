"""The character vocabulary: id 0 is the boundary token (start and end of every item), ids 1.. are characters.

The boundary token is not a character, so data containing '.' (makemore's boundary) or any other
symbol still round-trips. This class is the single definition used by training, export and runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .common.errors import VocabError

__all__ = ["BOUNDARY_ID", "Vocab"]

BOUNDARY_ID = 0


@dataclass(frozen=True)
class Vocab:
    """Characters in id order; the character at index i has id i + 1."""

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.chars:
            raise VocabError("the vocabulary is empty")
        if any(not isinstance(c, str) or len(c) != 1 for c in self.chars):
            raise VocabError("the vocabulary must hold single characters")
        if len(set(self.chars)) != len(self.chars):
            raise VocabError("the vocabulary holds a character twice")
        object.__setattr__(self, "_index", {c: i + 1 for i, c in enumerate(self.chars)})

    @classmethod
    def from_items(cls, items: Iterable[str]) -> Vocab:
        """The sorted set of characters that occur in `items`."""
        return cls(tuple(sorted(set("".join(items)))))

    @property
    def size(self) -> int:
        """Number of ids, the boundary token included."""
        return len(self.chars) + 1

    def unknown_chars(self, text: str) -> list[str]:
        """Characters of `text` that have no id, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._index))

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of `text` (no boundary tokens added)."""
        unknown = self.unknown_chars(text)
        if unknown:
            raise VocabError(
                f"characters not in the vocabulary: {''.join(unknown)!r} (allowed: {''.join(self.chars)!r})"
            )
        return [self._index[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of `ids`; boundary tokens are dropped."""
        return "".join(self.chars[i - 1] for i in ids if i != BOUNDARY_ID)

    def to_dict(self) -> dict:
        return {"boundary_id": BOUNDARY_ID, "chars": list(self.chars)}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        if not isinstance(data, dict) or data.get("boundary_id") != BOUNDARY_ID or "chars" not in data:
            raise VocabError("malformed vocabulary: expected {'boundary_id': 0, 'chars': [...]}")
        return cls(tuple(data["chars"]))
