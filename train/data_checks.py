"""Warnings about a training file that is probably not what the user meant: a table (a delimiter that
splits every line into the same number of columns, perhaps under a header line) or too few items for
the validation loss to mean much. One line each, with what to do; training goes on."""

from __future__ import annotations

from pathlib import Path

from wavenet_edge.runtime.common.dataset import Split

__all__ = ["MIN_VAL_ITEMS", "data_warnings"]

DELIMITERS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "bars"}
MIN_VAL_ITEMS = 50  # below this the val loss that chooses the checkpoint is mostly noise
SAMPLE = 2000  # lines looked at for the table check
TABLE_SHARE = 0.9  # the share of lines that must have the same number of columns


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table_warning(path: Path, items: list[str]) -> str | None:
    """A line when the items look like the rows of a delimited table."""
    sample = items[:SAMPLE]
    if len(sample) < 3:
        return None
    for delimiter, name in DELIMITERS.items():
        counts = [item.count(delimiter) for item in sample]
        columns = max(set(counts), key=counts.count)
        if columns == 0 or counts.count(columns) < TABLE_SHARE * len(sample):
            continue
        header = ""
        first = sample[0].split(delimiter)
        rows = [item.split(delimiter) for item in sample[1:] if item.count(delimiter) == columns]
        for col, value in enumerate(first):
            numeric = sum(_number(row[col].strip()) for row in rows)
            if not _number(value.strip()) and rows and numeric >= TABLE_SHARE * len(rows):
                header = f"; its first line {sample[0][:40]!r} looks like a header"
                break
        return (f"Warning: {path} looks like a table ({columns + 1} columns separated by {name}{header}): wn-train "
                f"takes each whole line as one item, delimiters included; give it one column, one item per line")
    return None


def header_warning(path: Path, items: list[str]) -> str | None:
    """A line when the first item has characters that no other item has (a column title, say)."""
    if len(items) < 3:
        return None
    rest = set("".join(items[1:]))
    own = sorted(set(items[0]) - rest)
    if not own:
        return None
    return (f"Warning: {path}:1: {items[0][:40]!r} has characters that no other line has ({''.join(own)!r}): if it "
            f"is a header, remove it (wn-train takes every line as an item)")


def data_warnings(path: Path, items: list[str], split: Split, fine_tuning: bool = False) -> list[str]:
    """The warnings about `path`'s items; `fine_tuning`: the run already starts from a trained model (--init)."""
    warnings = []
    table = table_warning(path, items)
    if table:
        warnings.append(table)
    else:
        header = header_warning(path, items)
        if header:
            warnings.append(header)
    if len(split.val) < MIN_VAL_ITEMS:
        advice = "use more data" + ("" if fine_tuning else ", or fine-tune a trained model on it (--init default)")
        warnings.append(f"Warning: {path} has {len(items)} items, so val has {len(split.val)} (fewer than "
                        f"{MIN_VAL_ITEMS}): its loss says little about the model; {advice}")
    return warnings
