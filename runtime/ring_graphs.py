"""Two tiny ONNX graphs that act on a generation ring kept in device memory (issue 16), written here as ONNX
protobuf bytes so that the runtime needs no `onnx` package:

    restart_graph()   ring [M, B, C], slots [S, 1, 1] int64, rows [1, K, 1] int64, values [S, 1, C]
                      -> ring_out [M, B, C]: ring with ring[slots[s], rows[k]] = values[s] for every s, k
    keep_graph()      ring [M, B, C], rows [K] int64 -> kept [M, K, C] = ring[:, rows]

`restart_graph` is one ScatterND (opset 18). Its output is bound to the same device buffer as its input:
ONNX Runtime's ScatterND kernels are registered MayInplace(0, 0) and copy the data only when the output
buffer differs from the input's (onnxruntime/core/providers/cuda/tensor/scatter_nd.cc), so a restart
writes S x K vectors and nothing else, and no host write into device memory is needed. The indices and
updates are broadcast in the graph (an Add with a zero of the other's shape), so only `rows` (K int64)
and the phase's `slots` and `values` (a few KB) cross from the host.

Field numbers are those of onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto, ...); tests check the
bytes with onnx.checker and against onnx.helper's encoding of the same graph.
"""

from __future__ import annotations

import struct

__all__ = ["keep_graph", "restart_graph"]

OPSET = 18
IR_VERSION = 8
FLOAT, INT64 = 1, 7  # TensorProto.DataType
_ATTR_INT = 2  # AttributeProto.AttributeType INT


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64 as two's complement, as protobuf encodes them
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _tensor_type(name: str, elem_type: int, dims: list[str | int]) -> bytes:
    """ValueInfoProto: name, TypeProto.tensor_type(elem_type, shape); a str dim is a named (dynamic) one."""
    shape = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    tensor = _int(1, elem_type) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor))


def _node(op: str, inputs: list[str], outputs: list[str], **ints: int) -> bytes:
    attributes = b"".join(_bytes(5, _bytes(1, key) + _int(3, value) + _int(20, _ATTR_INT))
                          for key, value in ints.items())
    return (b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
            + _bytes(4, op) + attributes)


def _int64_scalar(name: str, value: int) -> bytes:
    """TensorProto of one int64 (dims [], raw little-endian data)."""
    return _int(2, INT64) + _bytes(8, name) + _bytes(9, struct.pack("<q", value))


def _model(name: str, nodes: list[bytes], initializers: list[bytes], inputs: list[bytes],
           outputs: list[bytes]) -> bytes:
    graph = (b"".join(_bytes(1, n) for n in nodes) + _bytes(2, name) + b"".join(_bytes(5, t) for t in initializers)
             + b"".join(_bytes(11, i) for i in inputs) + b"".join(_bytes(12, o) for o in outputs))
    opset = _bytes(1, "") + _int(2, OPSET)
    return _int(1, IR_VERSION) + _bytes(2, "wavenet-edge") + _bytes(7, graph) + _bytes(8, opset)


def restart_graph() -> bytes:
    """ring_out = ring with ring[slots[s, 0, 0], rows[0, k, 0], :] = values[s, 0, :] (see the module doc)."""
    nodes = [
        _node("Mul", ["rows", "zero"], ["rows_zero"]),  # [1, K, 1] zeros
        _node("Mul", ["slots", "zero"], ["slots_zero"]),  # [S, 1, 1] zeros
        _node("Add", ["slots", "rows_zero"], ["slot_index"]),  # [S, K, 1]
        _node("Add", ["rows", "slots_zero"], ["row_index"]),  # [S, K, 1]
        _node("Concat", ["slot_index", "row_index"], ["indices"], axis=2),  # [S, K, 2]
        _node("Cast", ["rows_zero"], ["rows_zero_float"], to=FLOAT),  # [1, K, 1]
        _node("Add", ["values", "rows_zero_float"], ["updates"]),  # [S, K, C]
        _node("ScatterND", ["ring", "indices", "updates"], ["ring_out"]),  # [M, B, C]
    ]
    ring_dims: list[str | int] = ["slots_all", "batch", "channels"]
    inputs = [_tensor_type("ring", FLOAT, ring_dims), _tensor_type("slots", INT64, ["written", 1, 1]),
              _tensor_type("rows", INT64, [1, "restarted", 1]),
              _tensor_type("values", FLOAT, ["written", 1, "channels"])]
    return _model("restart", nodes, [_int64_scalar("zero", 0)], inputs, [_tensor_type("ring_out", FLOAT, ring_dims)])


def keep_graph() -> bytes:
    """kept = ring[:, rows] (Gather on axis 1)."""
    inputs = [_tensor_type("ring", FLOAT, ["slots_all", "batch", "channels"]), _tensor_type("rows", INT64, ["kept"])]
    return _model("keep", [_node("Gather", ["ring", "rows"], ["kept"], axis=1)], [], inputs,
                  [_tensor_type("kept", FLOAT, ["slots_all", "kept", "channels"])])
