"""Data the tests make for themselves (no torch, no downloads): the syllable items the tiny models learn, and
names-like files that stand in for makemore's names.txt.

    from tiny_data import ITEMS, VOCAB, write_names
    path = write_names(tmp_path / "names.txt", count=600)    # lower-case a-z names, one per line

Not a test module (no tests): the test modules, tiny_models.py and fixtures/make_fixtures.py import it.
"""

from __future__ import annotations

import random
from pathlib import Path

from wavenet_edge.runtime.vocab import Vocab

__all__ = ["DATA", "ITEMS", "MAX_LEN", "METRICS", "SYLLABLES", "VOCAB", "make_items", "names_like", "write_names"]

SYLLABLES = ["ka", "li", "mo", "ra", "ne", "to", "su", "vi", "el", "an", "jo", "ry"]


def make_items(count: int = 400, seed: int = 0) -> list[str]:
    """Names of 2-3 syllables: enough structure for a tiny model to learn in a few hundred steps."""
    rng = random.Random(seed)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))) for _ in range(count)]


ITEMS = make_items()  # what the tiny models (tiny_models.py, fixtures/*.onnx) are trained on
VOCAB = Vocab.from_items(ITEMS)
MAX_LEN = 12
METRICS = {"train_loss": 1.5, "val_loss": 1.6, "step": 300}  # the metadata the tiny models carry
DATA = {"sha256": "0" * 64, "source": "test-syllables", "split": {"seed": 42}}

_ONSETS = "b c d f g h j k l m n p qu r s t v w x y z br ch gr sh st th tr".split()
_VOWELS = "a e i o u y ai ea ie io ou".split()
_CODAS = ["", "", "", "n", "l", "r", "s", "x", "th", "nd", "ck"]


def names_like(count: int, seed: int = 0) -> list[str]:
    """`count` lower-case names of 2-10 letters that use all 26 letters (as makemore's names.txt does)."""
    rng = random.Random(seed)
    names = []
    while len(names) < count:
        name = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.choice((1, 2, 2, 3))))
        name = (name + rng.choice(_CODAS))[:10]
        if len(name) >= 2:
            names.append(name)
    return names


def write_names(path: Path, count: int = 600, seed: int = 0) -> Path:
    """A names.txt stand-in: `names_like(count, seed)`, one per line, UTF-8 with a final newline."""
    path.write_text("\n".join(names_like(count, seed)) + "\n", encoding="utf-8")
    return path
