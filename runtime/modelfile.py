"""Read the top level of an .onnx file without the onnx package: is it ONNX, is it whole, what metadata.

    props = read_onnx_props("model.onnx")    # {"wavenet_edge.graph": "step", ...}

An ONNX file is a serialized `ModelProto` protobuf. Walking its top-level fields (skipping the graph
by its length) is enough to tell a foreign file from a truncated one and to read `metadata_props`
(field 14: key = 1, value = 2) before ONNX Runtime is asked to build a session.
"""

from __future__ import annotations

from pathlib import Path

from .common.errors import ModelFileError
from .common.files import read_bytes

__all__ = ["read_onnx_props", "scan_model_proto"]

# ModelProto field numbers (onnx/onnx.proto)
_IR_VERSION, _GRAPH, _METADATA_PROPS = 1, 7, 14
_KNOWN_FIELDS = {1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 21, 25}
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class _Truncated(Exception):
    """A field runs past the end of the bytes."""


class _Malformed(Exception):
    """Bytes that are not a protobuf message of the expected shape."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise _Truncated
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= 64:
            raise _Malformed


def _fields(data: bytes, known: set[int] | None = None):
    """Yield (field number, wire type, value) of a message; LEN values are bytes, others ints."""
    pos = 0
    value: int | bytes
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or (known is not None and number not in known):
            raise _Malformed
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire == _LEN:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Truncated
            value, pos = data[pos:pos + length], pos + length
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if pos + size > len(data):
                raise _Truncated
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise _Malformed
        yield number, wire, value


def scan_model_proto(data: bytes, where: str = "model") -> dict[str, str]:
    """`metadata_props` of serialized ModelProto bytes; ModelFileError for foreign or truncated bytes."""
    seen: set[int] = set()
    props: dict[str, str] = {}
    try:
        for number, wire, value in _fields(data, _KNOWN_FIELDS):
            seen.add(number)
            if number == _METADATA_PROPS:
                if wire != _LEN:
                    raise _Malformed
                entry = {n: v for n, w, v in _fields(value, {1, 2}) if w == _LEN}
                props[entry.get(1, b"").decode("utf-8")] = entry.get(2, b"").decode("utf-8")
    except _Truncated:
        if _IR_VERSION in seen:
            raise ModelFileError(f"{where}: truncated ONNX file (a field runs past the end of the file)") from None
        raise ModelFileError(f"{where}: not an ONNX model") from None
    except (_Malformed, UnicodeDecodeError):
        raise ModelFileError(f"{where}: not an ONNX model") from None
    if _IR_VERSION not in seen:
        raise ModelFileError(f"{where}: not an ONNX model")
    if _GRAPH not in seen:
        raise ModelFileError(f"{where}: truncated ONNX file (no graph)")
    return props


def read_onnx_props(path: str | Path) -> dict[str, str]:
    """`metadata_props` of the .onnx file at `path`; ModelFileError says in one line what is wrong."""
    path = Path(path)
    data = read_bytes(path, ModelFileError, "an .onnx file")
    if not data:
        raise ModelFileError(f"{path}: empty file, not an ONNX model")
    return scan_model_proto(data, where=str(path))
