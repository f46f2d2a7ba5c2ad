"""Weight-only int8 quantization of an exported file, kept only if it barely changes the validation loss.

    report = quantize_int8("model.onnx", "model.int8.onnx", val_items, scorer)
    report.delta  # nats per character, int8 minus fp32

Every weight matrix (the B of each Gemm/MatMul, the embedding table) is stored as int8 with one fp32
scale per output column (per embedding row), symmetric: w ~ scale * q, q in [-127, 127]. The file reads
each one through `Cast(q, to=float) * scale` (FORM_CAST, what wn-export writes): both inputs are
constants, so onnxruntime's constant folding turns them into the fp32 weight matrix when a session
loads the file, under its default options, in every language: the fp32 graph, fp32 speed, and every
row of a batch computed on its own, so the same seed gives the same names at any batch size. The file
is about 37% of fp32 (a smaller download) and keeps the fp32 file's metadata and graph inputs and
outputs, so it is read like any other file of its format version (docs/format.md).

FORM_DEQUANTIZE (int8 files written before: the same int8 values and scales behind DequantizeLinear)
gives bit-identical fp32 weights only when the session sets `session.disable_quant_qdq` (the runtimes
do, runtime/providers.py and js/src/model.js): under default options onnxruntime fuses each
DequantizeLinear + Gemm into a MatMulNBits kernel, whose logits differ in the third decimal and which
is slower. It is kept here for benchmarks/int8_forms.py and the tests of old files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from wavenet_edge.runtime.common.errors import WavenetEdgeError
from wavenet_edge.runtime.common.files import atomic_path, check_output_path

__all__ = ["FORM_CAST", "FORM_DEQUANTIZE", "MAX_LOSS_CHANGE", "QuantizeReport", "Scorer", "default_int8_path",
           "quantize_int8", "quantize_weights"]

MAX_LOSS_CHANGE = 0.01  # nats per character
INT8_SUFFIX = ".int8.onnx"
QMAX = 127  # symmetric int8: -127..127 (no -128, so the scale maps both signs alike)
FORM_CAST = "cast"  # int8 -> Cast -> Mul(scale): folded to fp32 constants by any default session
FORM_DEQUANTIZE = "dequantize"  # int8 -> DequantizeLinear: older files (see the module docstring)
FORMS = (FORM_CAST, FORM_DEQUANTIZE)

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


def _weight_axes(graph: onnx.GraphProto) -> dict[str, int]:
    """Initializer name -> the axis that gets one scale each: the output columns of a Gemm/MatMul B
    (axis 0 under transB), the rows of a Gather table (one embedding per token)."""
    inits = {init.name: init for init in graph.initializer}
    axes: dict[str, int] = {}
    for node in graph.node:
        if node.op_type in ("Gemm", "MatMul") and node.input[1] in inits:
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            axis = 0 if trans_b else 1
        elif node.op_type == "Gather" and node.input[0] in inits:
            axis = 0
        else:
            continue
        name = node.input[1] if node.op_type != "Gather" else node.input[0]
        if len(inits[name].dims) == 2 and inits[name].data_type == onnx.TensorProto.FLOAT:
            if axes.setdefault(name, axis) != axis:  # used two ways: leave it fp32
                axes[name] = -1
    return {name: axis for name, axis in axes.items() if axis >= 0}


def quantize_weights(model: onnx.ModelProto, form: str = FORM_CAST) -> onnx.ModelProto:
    """A copy of `model` whose weight matrices are int8 + per-channel fp32 scales, read through
    Cast + Mul (FORM_CAST) or DequantizeLinear (FORM_DEQUANTIZE). Both forms hold the same int8 values
    and scales and give the same fp32 weights (q * scale, one float32 rounding) once folded."""
    if form not in FORMS:
        raise ValueError(f"unknown int8 form {form!r} (expected one of {', '.join(FORMS)})")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    axes = _weight_axes(out.graph)
    kept, reads = [], []  # initializers; the nodes that read the int8 weights as fp32
    for init in out.graph.initializer:
        if init.name not in axes:
            kept.append(init)
            continue
        axis = axes[init.name]
        w = numpy_helper.to_array(init).astype(np.float32)  # [K, N] (or [V, C])
        amax = np.abs(w).max(axis=1 - axis)  # [channels on `axis`]
        scale = (np.where(amax > 0, amax, 1.0) / QMAX).astype(np.float32)
        shaped = scale[:, None] if axis == 0 else scale[None, :]
        q = np.clip(np.rint(w / shaped), -QMAX, QMAX).astype(np.int8)
        quantized, scale_name = f"{init.name}_int8", f"{init.name}_scale"
        if form == FORM_DEQUANTIZE:
            kept += [numpy_helper.from_array(q, quantized), numpy_helper.from_array(scale, scale_name)]
            reads.append(helper.make_node("DequantizeLinear", [quantized, scale_name], [init.name],
                                               name=f"{init.name}_dequantize", axis=axis))
            continue
        # the scale shaped to broadcast along `axis` ([N, 1] or [1, N]), so that Mul scales each channel
        kept += [numpy_helper.from_array(q, quantized), numpy_helper.from_array(shaped, scale_name)]
        reads += [
            helper.make_node("Cast", [quantized], [f"{init.name}_float"], to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [f"{init.name}_float", scale_name], [init.name]),
        ]
    del out.graph.initializer[:]
    out.graph.initializer.extend(kept)
    nodes = reads + list(out.graph.node)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    return out


def quantize_int8(fp32_path: str | Path, out_path: str | Path, items: Sequence[str], scorer: Scorer,
                  max_change: float = MAX_LOSS_CHANGE, force: bool = False, form: str = FORM_CAST) -> QuantizeReport:
    """Write a weight-only int8 copy of `fp32_path` to `out_path`, measured with `scorer` on `items`.

    A loss change above `max_change` nats per character raises WavenetEdgeError and writes nothing,
    unless `force`.
    """
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    check_output_path(out_path, "quantized output", inputs={"fp32 model": fp32_path})
    if not items:
        raise WavenetEdgeError("int8 quantization needs validation items to measure the loss change")
    fp32 = onnx.load(str(fp32_path))
    quantized = quantize_weights(fp32, form)
    onnx.checker.check_model(quantized, full_check=True)
    with atomic_path(out_path) as tmp:
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
