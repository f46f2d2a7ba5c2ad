"""Input and output tables of the cluster jobs: planning partitions, reading one, writing its part file,
assembling the parts into one file (pandas and pyarrow only; no Dask here).

    plan = plan_input(Path("items.csv"), "name")            # on the client: rows, columns, where rows start
    slices = plan.slices(8)                                  # 8 contiguous pieces of about rows / 8 rows
    frame = read_slice(slices[3])                            # on a worker: that piece only
    items, reasons = cell_items(values, vocab, max_len)      # what is scored, and why a row is not

The client never holds the data: a CSV file is scanned block by block for the byte offsets where rows
start (a row ends at a newline outside double quotes, RFC 4180), remembering one offset every
OFFSET_EVERY rows; a Parquet file's row counts come from its footer. A worker reads its byte range (CSV)
or its rows (Parquet) itself.

Strings are never guessed at: a CSV is read with dtype=str, keep_default_na=False and na_filter=False, so
`nan`, `null`, `NA`, `None` and `n/a` are names like any other; a blank line is not a row (pandas' rule).
A Parquet column must hold strings (string, large_string, or a dictionary of them): another type is refused
before any work. Each cell becomes the item scored by wn-eval's rule: surrounding whitespace stripped
(str.strip). A null cell (Parquet) is not scored and marked "missing"; a cell that is empty after stripping
is marked "empty"; the row is kept, and the output's column holds the cell exactly as it was read.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.errors import DataError, OutputError

__all__ = ["CSV", "OFFSET_EVERY", "PARQUET", "SCORE_COLUMNS", "InputPlan", "Slice", "assemble", "cell_items",
           "format_of", "plan_input", "read_slice", "write_part"]

CSV, PARQUET, TEXT, JSONL = "csv", "parquet", "text", "jsonl"
SCORE_COLUMNS = ("logprob", "nll_per_char", "unscored")  # what a scored row gains
OFFSET_EVERY = 1024  # a CSV scan keeps the offset of every 1024th row: partitions are sized in such steps
SCAN_BLOCK = 1 << 23  # bytes of a CSV read at once by the scan (its memory: a few times this)
CSV_READ = {"dtype": str, "keep_default_na": False, "na_filter": False, "encoding": "utf-8"}
STRING_TYPES = ("string", "large_string", "string_view")


def format_of(path: str | Path) -> str | None:
    """csv or parquet, from a file name's suffix; None when it says neither."""
    suffix = Path(path).suffix.lower()
    return {".csv": CSV, ".parquet": PARQUET, ".pq": PARQUET}.get(suffix)


@dataclass(frozen=True)
class Slice:
    """What one partition reads: rows [start, start + rows) of the input, and for a CSV the bytes that hold
    them (header: the bytes of the header row, put before the range so that pandas parses it alone)."""

    path: str
    kind: str
    index: int
    start: int
    rows: int
    byte_start: int = 0
    byte_end: int = 0
    header: bytes = b""


@dataclass(frozen=True)
class InputPlan:
    path: str  # absolute
    kind: str  # csv or parquet
    rows: int  # a CSV's rows as the scan counts them (a blank line counts here, not in the output)
    columns: tuple[str, ...]
    header: bytes = b""  # CSV: the header row's bytes, newline included
    offsets: tuple[int, ...] = ()  # CSV: byte offset of rows 0, OFFSET_EVERY, 2 OFFSET_EVERY, ...; then the end

    def slices(self, partitions: int) -> list[Slice]:
        """`partitions` contiguous pieces of about equal rows (a CSV's in steps of OFFSET_EVERY rows); fewer
        when there are fewer rows (or steps) than that; every row in exactly one piece, in order."""
        if self.kind == PARQUET:
            bounds = _even(self.rows, partitions, 1)
            return [Slice(self.path, self.kind, i, a, b - a) for i, (a, b) in enumerate(bounds)]
        steps = len(self.offsets) - 1  # offsets[k]: row k * OFFSET_EVERY; offsets[-1]: the end of the data
        bounds = _even(steps, partitions, 1)
        out = []
        for i, (a, b) in enumerate(bounds):
            first, last = a * OFFSET_EVERY, min(b * OFFSET_EVERY, self.rows)
            out.append(Slice(self.path, self.kind, i, first, last - first, self.offsets[a], self.offsets[b],
                             self.header))
        return out


def _even(count: int, parts: int, minimum: int) -> list[tuple[int, int]]:
    """[0, count) in at most `parts` contiguous ranges of sizes differing by at most 1."""
    parts = max(1, min(parts, count // minimum if count >= minimum else 1))
    base, extra = divmod(count, parts)
    out, at = [], 0
    for part in range(parts):
        size = base + (part < extra)
        if size:
            out.append((at, at + size))
            at += size
    return out


def plan_input(path: Path, column: str, reserved: Sequence[str] = SCORE_COLUMNS) -> InputPlan:
    """The plan of a CSV or Parquet input (by its suffix); DataError in one line for a missing or unreadable
    file, an unknown suffix, a missing column (naming the columns there are), a column that is not of
    strings, a column named like one the job adds, or no rows."""
    kind = format_of(path)
    if kind is None:
        raise DataError(f"{path}: cannot tell the input's format: name it .csv or .parquet")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    try:
        plan = _plan_parquet(path, column) if kind == PARQUET else _plan_csv(path)
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    if column not in plan.columns:
        raise DataError(f"{path}: no column {column!r} (its columns: {', '.join(plan.columns)})")
    clash = [name for name in reserved if name in plan.columns]
    if clash:
        raise DataError(f"{path}: already has a column {clash[0]!r}, which the scores would replace: rename it")
    if plan.rows == 0:
        raise DataError(f"{path}: no rows (only a header)")
    return plan


def _plan_parquet(path: Path, column: str) -> InputPlan:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except (pa.ArrowInvalid, pa.ArrowException) as err:
        raise DataError(f"{path}: not a Parquet file ({_first(err)})") from None
    schema = meta.schema_arrow
    columns = tuple(schema.names)
    if column in columns:
        kind = schema.field(column).type
        value = kind.value_type if pa.types.is_dictionary(kind) else kind
        if str(value) not in STRING_TYPES:
            raise DataError(f"{path}: column {column!r} holds {kind}, not strings (cast it to string first)")
    return InputPlan(str(path), PARQUET, meta.metadata.num_rows, columns)


def _plan_csv(path: Path) -> InputPlan:
    """Scan the file for row starts (a newline outside double quotes ends a row), keeping every
    OFFSET_EVERY-th; the header is the first row."""
    import numpy as np
    import pandas as pd

    size = path.stat().st_size
    offsets: list[int] = []  # where data rows 0, OFFSET_EVERY, ... start
    header_end = -1
    last_end = 0  # the offset after the last newline that ends a row
    rows = 0  # data rows that end with a newline
    quoted = False  # inside quotes at the end of the previous block
    at = 0
    with open(path, "rb") as handle:
        while block := handle.read(SCAN_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            newlines = np.flatnonzero(data == 10)
            quotes = data == 34
            if quoted or quotes.any():
                inside = np.logical_xor.accumulate(quotes)
                if quoted:
                    inside = ~inside
                quoted = bool(inside[-1])
                newlines = newlines[~inside[newlines]]
                del inside
            del data, quotes
            ends = newlines + (at + 1)
            if len(ends):
                last_end = int(ends[-1])
                if header_end < 0:
                    header_end = int(ends[0])
                    offsets.append(header_end)
                    ends = ends[1:]
                starts = np.arange(rows + 1, rows + 1 + len(ends))  # the number of the row each end starts
                offsets.extend(int(x) for x in ends[(starts % OFFSET_EVERY == 0) & (ends < size)])
                rows += len(ends)
            at += len(block)
    if header_end < 0:  # no newline outside quotes: a header alone, or nothing
        header_end = last_end = size
        offsets.append(size)
    if size > last_end:
        rows += 1  # a last row without a newline
    offsets.append(size)
    with open(path, "rb") as handle:
        header = handle.read(header_end)
    if not header.strip():
        raise DataError(f"{path}: empty file (a CSV needs a header row naming its columns)")
    try:
        columns = tuple(str(c) for c in pd.read_csv(io.BytesIO(header), nrows=0, **CSV_READ).columns)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read its header row: {_first(err)}") from None
    return InputPlan(str(path), CSV, rows, columns, header, tuple(offsets))


def _first(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_slice(piece: Slice, column: str) -> Any:
    """The rows of `piece`: a pandas DataFrame of strings (CSV) or a pyarrow Table (Parquet)."""
    if piece.kind == CSV:
        import pandas as pd

        with open(piece.path, "rb") as handle:
            handle.seek(piece.byte_start)
            body = handle.read(piece.byte_end - piece.byte_start)
        return pd.read_csv(io.BytesIO(piece.header + body), **CSV_READ)
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(piece.path)
    meta = source.metadata
    end = piece.start + piece.rows
    groups: list[int] = []
    first_row = at = 0
    for group in range(meta.num_row_groups):
        count = meta.row_group(group).num_rows
        if at + count > piece.start and at < end:
            if not groups:
                first_row = at
            groups.append(group)
        at += count
    batches, at = [], first_row
    for batch in source.iter_batches(batch_size=65_536, row_groups=groups, use_pandas_metadata=False):
        lo, hi = max(piece.start, at), min(end, at + batch.num_rows)
        if hi > lo:
            batches.append(batch.slice(lo - at, hi - lo))
        at += batch.num_rows
        if at >= end:
            break
    table = pa.Table.from_batches(batches, schema=source.schema_arrow)
    return table.replace_schema_metadata(None)  # pandas' metadata describes the whole file's index, not this


def column_values(rows: Any, column: str) -> list[Any]:
    """The cells of `column` as Python objects (None for a null)."""
    if hasattr(rows, "to_pylist"):  # pyarrow Table
        return rows.column(column).to_pylist()
    return rows[column].tolist()


def cell_items(values: Iterable[Any], unknown_chars: Any, max_len: int) -> tuple[list[str], list[str | None]]:
    """The item scored for each cell (wn-eval's rule: surrounding whitespace stripped) and why a row is not
    scored (None: it is): missing (a null), not a string, empty, characters outside the vocabulary (`unknown_chars`:
    the vocabulary's function), or longer than max_len."""
    import math

    items: list[str] = []
    reasons: list[str | None] = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)) or _is_na(value):
            items.append("")
            reasons.append("missing")
            continue
        if not isinstance(value, str):
            items.append("")
            reasons.append(f"not a string ({type(value).__name__})")
            continue
        item = value.strip()
        items.append(item)
        if not item:
            reasons.append("empty")
        elif unknown := unknown_chars(item):
            reasons.append(f"characters not in the model's vocabulary: {''.join(unknown)!r}")
        elif len(item) > max_len:
            reasons.append(f"{len(item)} characters, more than the model's max_len {max_len}")
        else:
            reasons.append(None)
    return items, reasons


def _is_na(value: Any) -> bool:
    """pandas.NA and NaT (not strings): a missing cell of a pandas frame given to the API."""
    return type(value).__name__ in ("NAType", "NaTType")


def part_name(index: int, kind: str) -> str:
    suffix = {CSV: ".csv", PARQUET: ".parquet", TEXT: ".txt", JSONL: ".jsonl"}[kind]
    return f"part-{index:05d}{suffix}"


def write_bytes_atomic(directory: Path, name: str, payload: bytes) -> None:
    """`payload` as directory/name, written beside it and renamed into place (a retried task replaces it)."""
    tmp = directory / f".{name}.{os.uname().nodename}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(payload)
    os.replace(tmp, directory / name)


def write_part(rows: Any, scores: dict[str, Any], directory: Path, index: int, kind: str) -> int:
    """Write `rows` (a pandas frame or pyarrow Table) with the score columns as part `index` of the output,
    in `kind` (csv or parquet), atomically; return the bytes of its CSV header (0 for Parquet)."""
    import pyarrow as pa

    name = part_name(index, kind)
    if kind == PARQUET:
        import pyarrow.parquet as pq

        if isinstance(rows, pa.Table):
            table = rows
        else:  # a frame read from a CSV: every column is strings
            table = pa.table({str(c): pa.array(rows[c].tolist(), type=pa.string()) for c in rows.columns})
        table = table.append_column("logprob", pa.array(scores["logprob"], type=pa.float64()))
        table = table.append_column("nll_per_char", pa.array(scores["nll_per_char"], type=pa.float64()))
        table = table.append_column("unscored", pa.array(scores["unscored"], type=pa.string()))
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        write_bytes_atomic(directory, name, sink.getvalue().to_pybytes())
        return 0
    frame = rows.to_pandas() if isinstance(rows, pa.Table) else rows
    frame = frame.assign(**{key: list(value) if key == "unscored" else value for key, value in scores.items()})
    text = frame.to_csv(index=False, lineterminator="\n")
    header_len = len(frame.iloc[:0].to_csv(index=False, lineterminator="\n").encode("utf-8"))
    write_bytes_atomic(directory, name, text.encode("utf-8"))
    return header_len


def assemble(directory: Path, parts: Sequence[tuple[int, int]], kind: str, out: Path) -> None:
    """Stream the part files (index, header bytes) of `directory` into the file `out` in order, never holding
    more than one Parquet row group or one copy buffer: CSV parts after the first lose their header row."""
    if kind == PARQUET:
        import pyarrow.parquet as pq

        writer = None
        try:
            for index, _ in parts:
                source = pq.ParquetFile(directory / part_name(index, kind))
                if writer is None:
                    writer = pq.ParquetWriter(out, source.schema_arrow)
                for group in range(source.num_row_groups):
                    writer.write_table(source.read_row_group(group))
            if writer is None:
                raise OutputError(f"{out}: no parts to assemble")
        finally:
            if writer is not None:
                writer.close()
        return
    with open(out, "wb") as sink:
        for number, (index, header_len) in enumerate(parts):
            with open(directory / part_name(index, kind), "rb") as source:
                if number and header_len:
                    source.seek(header_len)
                shutil.copyfileobj(source, sink, 1 << 20)
