"""Reading a one-item-per-line text file and the lecture's train/val/test split (pure Python).

    items = read_items("names.txt")
    split = split_items(items)      # random.seed(42); shuffle; 80% / 10% / 10%
    split.train[:3], split.val[:3]
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError
from .files import read_bytes

__all__ = ["SPLIT_NAMES", "SPLIT_SEED", "Split", "file_sha256", "longest_item", "read_items", "split_items"]

SPLIT_SEED = 42
SPLIT_NAMES = ("train", "val", "test")


def read_items(path: str | Path, max_len: int | None = None, limit: str = "the model's max_len",
               hint: str = "") -> list[str]:
    """Items of a UTF-8 text file, one per line, surrounding whitespace stripped, blank lines dropped.

    Raises DataError (with the line number where it applies) for a missing, empty, binary or
    non-UTF-8 file, or for items longer than `max_len` characters: the message names the longest of
    them (its first line), how many there are, and `limit` (what sets the limit, e.g. "--max-len"),
    then `hint` (what to do).
    """
    items, lines = _read_numbered(Path(path))
    if max_len is not None:
        over = [i for i, item in enumerate(items) if len(item) > max_len]
        if over:
            worst = max(over, key=lambda i: (len(items[i]), -i))  # the longest, its first line
            others = f" ({len(over)} items are over it)" if len(over) > 1 else ""
            raise DataError(f"{path}:{lines[worst]}: the longest item has {len(items[worst])} characters, more than "
                            f"{limit} {max_len}{others}{hint}")
    return items


def longest_item(items: list[str]) -> int:
    """Characters of the longest item (0 for none)."""
    return max((len(item) for item in items), default=0)


def _read_numbered(path: Path) -> tuple[list[str], list[int]]:
    """The items and the line number of each."""
    raw = read_bytes(path, DataError, "a text file")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{path}:{line}: binary data (NUL byte); expected UTF-8 text, one item per line")
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is not part of the first item
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte 0x{raw[err.start]:02x})") from None
    items, lines = [], []
    for number, text_line in enumerate(text.split("\n"), start=1):  # only \n ends a line, as for the byte checks
        item = text_line.strip()
        if item:
            items.append(item)
            lines.append(number)
    if not items:
        raise DataError(f"{path}: no items (the file is empty or holds only blank lines)")
    return items, lines


@dataclass(frozen=True)
class Split:
    train: list[str]
    val: list[str]
    test: list[str]

    def part(self, name: str) -> list[str]:
        if name == "all":
            return self.train + self.val + self.test
        if name not in SPLIT_NAMES:
            raise DataError(f"unknown split {name!r} (choose from: train, val, test, all)")
        return getattr(self, name)

    def describe(self) -> dict:
        return {"method": "random.seed(42); random.shuffle; 80/10/10", "seed": SPLIT_SEED,
                "train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_items(items: list[str], min_per_part: int = 1) -> Split:
    """The lecture's split: random.seed(42), random.shuffle, n1 = int(0.8 n), n2 = int(0.9 n).

    Uses a private random.Random(42), which shuffles exactly as the lecture's global seed does.
    """
    shuffled = list(items)
    random.Random(SPLIT_SEED).shuffle(shuffled)
    n = len(shuffled)
    n1, n2 = int(0.8 * n), int(0.9 * n)
    split = Split(shuffled[:n1], shuffled[n1:n2], shuffled[n2:])
    if min(len(split.train), len(split.val), len(split.test)) < min_per_part:
        raise DataError(
            f"too few items for the 80/10/10 split: {n} items give train/val/test of "
            f"{len(split.train)}/{len(split.val)}/{len(split.test)} (each part needs at least {min_per_part})"
        )
    return split


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes: the data fingerprint stored in every artifact."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
