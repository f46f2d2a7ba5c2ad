"""The committed tiny .onnx fixtures (tests/fixtures/), and broken or edited copies of them, made without onnx.

    from model_files import FIXTURES, bad_files, rewrite_props
    WavenetModel.load(FIXTURES.step)                              # a tiny wavenet, step graph
    rewrite_props(FIXTURES.step, tmp_path / "v9.onnx", format_version="9")

The fixtures are what tests/fixtures/make_fixtures.py writes (test_fixtures_in_sync.py checks they still are).
Edits work on the protobuf bytes directly (a ModelProto's fields, by number), so the runtime tests need
neither torch nor onnx. Not a test module (no tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tiny_data import ITEMS

from wavenet_edge.runtime.contract import FORMAT_VERSION, METADATA_PREFIX

__all__ = ["FIXTURE_DIR", "FIXTURE_WEIGHTS", "FIXTURES", "FixtureModels", "bad_files", "read_props", "rename_first_op",
           "rewrite_props", "without_props"]

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures"
FIXTURE_WEIGHTS = FIXTURE_DIR / "tiny-weights.npz"  # the tiny models' weights (tests/tiny_models.py)


@dataclass(frozen=True)
class FixtureModels:
    """Paths of the tiny models (trained on tiny_data.ITEMS): one wavenet as step and window graph, one lecture."""

    step: Path
    window: Path
    lecture_window: Path


FIXTURES = FixtureModels(FIXTURE_DIR / "tiny-step.onnx", FIXTURE_DIR / "tiny-window.onnx",
                         FIXTURE_DIR / "tiny-lecture-window.onnx")

# Field numbers of onnx.proto3: ModelProto.graph, ModelProto.metadata_props, GraphProto.node, NodeProto.op_type,
# StringStringEntryProto.key and .value.
MODEL_GRAPH, MODEL_METADATA, GRAPH_NODE, NODE_OP_TYPE, ENTRY_KEY, ENTRY_VALUE = 7, 14, 1, 4, 1, 2
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def read_fields(data: bytes) -> list[tuple[int, int, bytes]]:
    """The fields of one protobuf message, in order: (number, wire type, value bytes; the payload for LENGTH)."""
    fields, pos = [], 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            _, end = _read_varint(data, pos)
        elif wire == LENGTH:
            size, pos = _read_varint(data, pos)
            end = pos + size
        else:
            end = pos + {FIXED64: 8, FIXED32: 4}[wire]
        fields.append((number, wire, data[pos:end]))
        pos = end
    return fields


def write_fields(fields: list[tuple[int, int, bytes]]) -> bytes:
    """The inverse of read_fields."""
    out = bytearray()
    for number, wire, value in fields:
        out += _varint(number << 3 | wire)
        out += _varint(len(value)) + value if wire == LENGTH else value
    return bytes(out)


def read_props(data: bytes) -> dict[str, str]:
    """A model's metadata_props, in file order."""
    props = {}
    for number, _, value in read_fields(data):
        if number == MODEL_METADATA:
            entry = {n: v.decode() for n, _, v in read_fields(value)}
            props[entry.get(ENTRY_KEY, "")] = entry.get(ENTRY_VALUE, "")
    return props


def rewrite_props(src: Path, dst: Path, **changes: str | None) -> Path:
    """Copy an .onnx file with some wavenet_edge.* metadata changed (None: removed)."""
    data = src.read_bytes()
    props = read_props(data)
    for key, value in changes.items():
        if value is None:
            props.pop(METADATA_PREFIX + key, None)
        else:
            props[METADATA_PREFIX + key] = value
    return _write_with_props(data, dst, props)


def without_props(src: Path, dst: Path) -> Path:
    """Copy an .onnx file with no metadata_props at all (an ONNX model that is not ours)."""
    return _write_with_props(src.read_bytes(), dst, {})


def _write_with_props(data: bytes, dst: Path, props: dict[str, str]) -> Path:
    fields = [field for field in read_fields(data) if field[0] != MODEL_METADATA]
    for key, value in props.items():
        entry = write_fields([(ENTRY_KEY, LENGTH, key.encode()), (ENTRY_VALUE, LENGTH, value.encode())])
        fields.append((MODEL_METADATA, LENGTH, entry))
    dst.write_bytes(write_fields(fields))
    return dst


def rename_first_op(src: Path, dst: Path, op_type: str) -> Path:
    """Copy an .onnx file whose first graph node has another operator type (e.g. one no runtime knows)."""

    def edit(data: bytes, path: tuple[int, ...]) -> bytes:
        fields, first = read_fields(data), True
        for i, (number, wire, value) in enumerate(fields):
            if number == path[0] and first:
                first = False
                fields[i] = (number, wire, op_type.encode() if len(path) == 1 else edit(value, path[1:]))
        return write_fields(fields)

    dst.write_bytes(edit(src.read_bytes(), (MODEL_GRAPH, GRAPH_NODE, NODE_OP_TYPE)))
    return dst


def bad_files(root: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, exact one-line message) for every kind of file the runtime must refuse."""
    root.mkdir(exist_ok=True)
    data = good.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}
    missing = root / "missing.onnx"
    cases["missing"] = missing, f"{missing}: no such file"
    cases["directory"] = root, f"{root}: is a directory, not an .onnx file"
    empty = root / "empty.onnx"
    empty.write_bytes(b"")
    cases["empty"] = empty, f"{empty}: empty file, not an ONNX model"
    text = root / "names.onnx"
    text.write_text("\n".join(ITEMS[:20]) + "\n")
    cases["text"] = text, f"{text}: not an ONNX model"
    zipped = root / "checkpoint.onnx"
    zipped.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    cases["zip"] = zipped, f"{zipped}: not an ONNX model"
    for fraction in (0.1, 0.5, 0.9):
        cut = root / f"truncated{fraction}.onnx"
        cut.write_bytes(data[: int(len(data) * fraction)])
        cases[f"truncated {fraction}"] = cut, f"{cut}: truncated or damaged ONNX file (ONNX Runtime cannot parse it)"
    last = root / "truncated-last-byte.onnx"
    last.write_bytes(data[:-1])
    cases["truncated last byte"] = last, f"{last}: truncated or damaged ONNX file (ONNX Runtime cannot parse it)"
    foreign = without_props(good, root / "foreign.onnx")
    cases["not ours"] = foreign, f"{foreign}: not a wavenet-edge model (no wavenet_edge.* metadata)"
    future_version = FORMAT_VERSION + 1
    future = rewrite_props(good, root / "future.onnx", format_version=str(future_version))
    cases["version"] = future, (f"{future}: unsupported format version {future_version} "
                                f"(this runtime reads versions 1, {FORMAT_VERSION})")
    graph = rewrite_props(good, root / "graph.onnx", graph="recurrent")
    cases["graph kind"] = graph, f"{graph}: unknown graph kind 'recurrent' (expected step or window)"
    no_vocab = rewrite_props(good, root / "novocab.onnx", vocab=None)
    cases["no vocab"] = no_vocab, f"{no_vocab}: metadata wavenet_edge.vocab is missing"
    return cases
