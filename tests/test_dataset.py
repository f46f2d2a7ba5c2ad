"""read_items (validation, exact messages) and split_items (the lecture's split, exactly)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tiny_data import write_names

from wavenet_edge.runtime.common.dataset import SPLIT_SEED, read_items, split_items
from wavenet_edge.runtime.common.errors import DataError


def write(tmp_path: Path, data: bytes, name: str = "items.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def message(path: Path, max_len: int | None = None) -> str:
    with pytest.raises(DataError) as info:
        read_items(path, max_len=max_len)
    return str(info.value)


# --- read_items -------------------------------------------------------------------------------------------


def test_strips_whitespace_and_drops_blank_lines(tmp_path):
    path = write(tmp_path, b"  emma \n\n\t\nolivia\r\n   \nava\t\n\nzoe")
    assert read_items(path) == ["emma", "olivia", "ava", "zoe"]


def test_inner_spaces_and_any_characters_are_kept(tmp_path):
    path = write(tmp_path, "mary ann\n j.r. \nzoë\n".encode())
    assert read_items(path) == ["mary ann", "j.r.", "zoë"]


def test_max_len_accepts_an_item_of_exactly_max_len(tmp_path):
    path = write(tmp_path, b"emma\nolivia\n")
    assert read_items(path, max_len=6) == ["emma", "olivia"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    assert message(path) == f"{path}: no such file"


def test_directory(tmp_path):
    assert message(tmp_path) == f"{tmp_path}: is a directory, not a text file"


def test_empty_file(tmp_path):
    path = write(tmp_path, b"")
    assert message(path) == f"{path}: no items (the file is empty or holds only blank lines)"


def test_blank_only_file(tmp_path):
    path = write(tmp_path, b"\n   \n\t\r\n\n")
    assert message(path) == f"{path}: no items (the file is empty or holds only blank lines)"


def test_binary_file_names_the_line_of_the_nul_byte(tmp_path):
    path = write(tmp_path, b"emma\n\nol\x00ivia\nava\n")
    assert message(path) == f"{path}:3: binary data (NUL byte); expected UTF-8 text, one item per line"


def test_binary_file_on_the_first_line(tmp_path):
    path = write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert message(path) == f"{path}:3: binary data (NUL byte); expected UTF-8 text, one item per line"


def test_non_utf8_names_the_line_and_byte(tmp_path):
    path = write(tmp_path, b"emma\nolivia\n\nz\xf6e\n")  # latin-1 'zoe' with o-umlaut
    assert message(path) == f"{path}:4: not valid UTF-8 (byte 0xf6)"


def test_item_longer_than_max_len_names_the_line(tmp_path):
    path = write(tmp_path, b"emma\n\n  alexandria  \nava\n")  # blank lines count, surrounding spaces do not
    assert message(path, max_len=9) == (
        f"{path}:3: the longest item has 10 characters, more than the model's max_len 9"
    )


def test_items_over_the_limit_name_the_longest_its_first_line_and_the_limit(tmp_path):
    path = write(tmp_path, b"emma\nalexandra\nava\nmaximiliana\nbartholomew\nmaximilianb\n")
    with pytest.raises(DataError) as info:
        read_items(path, max_len=8, limit="--max-len", hint=" (raise --max-len)")
    assert str(info.value) == (
        f"{path}:4: the longest item has 11 characters, more than --max-len 8 (4 items are over it) (raise --max-len)"
    )


# --- split_items ------------------------------------------------------------------------------------------


def test_split_of_names_matches_the_lecture_exactly(tmp_path):
    names = write_names(tmp_path / "names.txt", count=32033)  # as many names as makemore's names.txt
    items = read_items(names)
    # The lecture, independently: its own reading of the file and the *global* random module.
    with open(names) as handle:
        words = handle.read().splitlines()
    assert items == words  # the file has no blank lines or padding: both readings agree
    state = random.getstate()
    try:
        random.seed(42)
        random.shuffle(words)
    finally:
        random.setstate(state)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))

    before = random.getstate()
    split = split_items(items)
    assert random.getstate() == before  # a private RNG: the global one is left alone
    assert items == read_items(names)  # the input list is not shuffled in place

    assert (len(split.train), len(split.val), len(split.test)) == (25626, 3203, 3204)
    assert split.train == words[:n1]
    assert split.val == words[n1:n2]
    assert split.test == words[n2:]
    assert split.part("all") == words
    assert split.describe() == {"method": "random.seed(42); random.shuffle; 80/10/10", "seed": SPLIT_SEED,
                                "train": 25626, "val": 3203, "test": 3204}


def test_split_is_deterministic_and_parts_cover_the_items():
    items = [f"item{i}" for i in range(100)]
    first, second = split_items(items), split_items(items)
    assert first == second
    assert (len(first.train), len(first.val), len(first.test)) == (80, 10, 10)
    assert sorted(first.part("all")) == sorted(items)


def test_too_few_items():
    with pytest.raises(DataError) as info:
        split_items(["a", "b", "c", "d", "e"])
    assert str(info.value) == (
        "too few items for the 80/10/10 split: 5 items give train/val/test of 4/0/1 (each part needs at least 1)"
    )
    # The smallest list that the split accepts (every part at least one item) has 6 items.
    split = split_items(["a", "b", "c", "d", "e", "f"])
    assert (len(split.train), len(split.val), len(split.test)) == (4, 1, 1)


def test_unknown_part():
    split = split_items([str(i) for i in range(10)])
    with pytest.raises(DataError) as info:
        split.part("dev")
    assert str(info.value) == "unknown split 'dev' (choose from: train, val, test, all)"
