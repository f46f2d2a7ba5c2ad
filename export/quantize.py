"""Dynamic int8 quantization of an exported file, kept only if it barely changes the validation loss.

    report = quantize_int8("model.onnx", "model.int8.onnx", val_items, scorer)
    report.delta  # nats per character, int8 minus fp32

Weights become int8 (onnxruntime.quantization.quantize_dynamic); activations are quantized on the fly.
The file keeps the fp32 file's metadata, so the runtime loads it the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from wavenet_edge.runtime.common.errors import WavenetEdgeError
from wavenet_edge.runtime.common.files import atomic_path, check_output_path

from .quiet import quiet

__all__ = ["MAX_LOSS_CHANGE", "QuantizeReport", "Scorer", "default_int8_path", "gemm_to_matmul", "quantize_int8"]

MAX_LOSS_CHANGE = 0.01  # nats per character
INT8_SUFFIX = ".int8.onnx"

Scorer = Callable[[Path, Sequence[str]], float]  # (model file, items) -> mean NLL per character, nats


@dataclass(frozen=True)
class QuantizeReport:
    path: Path
    file_size: int  # bytes
    fp32_file_size: int
    fp32_loss: float  # nats per character on the items
    int8_loss: float

    @property
    def delta(self) -> float:
        return self.int8_loss - self.fp32_loss


def default_int8_path(fp32_path: str | Path) -> Path:
    """model.onnx -> model.int8.onnx, beside it."""
    path = Path(fp32_path)
    return path.with_name(path.name.removesuffix(".onnx") + INT8_SUFFIX)


def gemm_to_matmul(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with every Gemm (alpha = beta = 1, no transA) as MatMul + Add, which dynamic quantization
    handles (it quantizes MatMul, not Gemm); onnxruntime fuses the pair back when it loads the file."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    inits = {init.name: init for init in out.graph.initializer}
    nodes = []
    for node in out.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and not attrs.get("transA", 0)
        if node.op_type != "Gemm" or not plain:
            nodes.append(node)
            continue
        a, b = node.input[0], node.input[1]
        if attrs.get("transB", 0):
            if b not in inits:
                nodes.append(node)
                continue
            transposed = numpy_helper.from_array(numpy_helper.to_array(inits[b]).T.copy(), f"{b}_transposed")
            out.graph.initializer.append(transposed)
            b = transposed.name
        if len(node.input) > 2 and node.input[2]:
            product = f"{node.output[0]}_matmul"
            nodes.append(helper.make_node("MatMul", [a, b], [product], name=f"{node.name}_matmul"))
            nodes.append(helper.make_node("Add", [product, node.input[2]], list(node.output), name=f"{node.name}_add"))
        else:
            nodes.append(helper.make_node("MatMul", [a, b], list(node.output), name=f"{node.name}_matmul"))
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    return out


def quantize_int8(fp32_path: str | Path, out_path: str | Path, items: Sequence[str], scorer: Scorer,
                  max_change: float = MAX_LOSS_CHANGE, force: bool = False) -> QuantizeReport:
    """Write an int8 copy of `fp32_path` to `out_path`, measured with `scorer` on `items`.

    A loss change above `max_change` nats per character raises WavenetEdgeError and writes nothing,
    unless `force`.
    """
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    check_output_path(out_path, "quantized output", inputs={"fp32 model": fp32_path})
    if not items:
        raise WavenetEdgeError("int8 quantization needs validation items to measure the loss change")
    fp32 = onnx.load(str(fp32_path))
    with atomic_path(out_path) as tmp, tempfile.TemporaryDirectory() as work:
        prepared = Path(work) / "prepared.onnx"
        onnx.save_model(gemm_to_matmul(fp32), str(prepared))
        with quiet():  # quantize_dynamic logs advice through the root logger
            quantize_dynamic(prepared, tmp, weight_type=QuantType.QInt8)
        quantized = onnx.load(str(tmp))
        helper.set_model_props(quantized, {p.key: p.value for p in fp32.metadata_props})
        quantized.producer_name, quantized.producer_version = fp32.producer_name, fp32.producer_version
        onnx.save_model(quantized, str(tmp), save_as_external_data=False)
        fp32_loss, int8_loss = scorer(fp32_path, items), scorer(tmp, items)
        report = QuantizeReport(out_path, tmp.stat().st_size, fp32_path.stat().st_size, fp32_loss, int8_loss)
        if abs(report.delta) > max_change and not force:
            raise WavenetEdgeError(
                f"int8 quantization changes the val loss by {report.delta:+.4f} nats/char "
                f"({fp32_loss:.4f} -> {int8_loss:.4f}; limit {max_change:g}); {out_path} not written "
                "(--force keeps it)"
            )
    return report
