"""Why the step graph has the form it has: three forms of the same step, timed in ONNX Runtime.

    python benchmarks/step_forms.py                  # the shipped model (models/wavenet.pt), ~1 min
    python benchmarks/step_forms.py --checkpoint runs/large.pt --batches 1,256,1024

Each form computes one Fast-WaveNet step (export.wrappers.StepGraph: the same weights, inputs, outputs
and contract) and differs only in how a layer's dilated convolution is laid out:

    taps    (shipped)  4 Gemms of C x C: filter and gate, each tap its own Gemm, the second taking the
                       first as C; onnxruntime fuses the Tanh / Sigmoid into the second (FusedGemm)
    fused              2 Gemms of C x 2C: filter ‖ gate side by side per tap, then Split
    concat             Concat([oldest, h']) and 1 Gemm of 2C x 2C, then Split

For each form and batch size: onnxruntime's time per step (one thread, inputs and outputs bound once,
best of 5), its node count, and at the largest batch the same matrix products alone (a graph of just
its Gemms, as benchmarks/generate.py measures the ceiling) and the form's share of that. The logits of
every form are compared with the exported file's (the `taps` form must match it exactly). Then the gated
activations alone (a graph of the layers' Tanh, Sigmoid and Mul at the largest batch), and the exported
file at batch 1 under onnxruntime session options that could cut per-kernel overhead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from wavenet_edge.export.exporter import export_checkpoint
from wavenet_edge.export.wrappers import StepGraph
from wavenet_edge.runtime.contract import INPUT_TOKENS, OUTPUT_LOGITS, newest_name, oldest_name
from wavenet_edge.runtime.providers import make_session_options
from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from generate import matmul_ceiling_us, time_per_call  # noqa: E402  (a sibling script: the same measurements)

FORMS = ("taps", "fused", "concat")


class GraphBuilder:
    """Nodes and initializers of one ONNX graph, named as they are added."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def weight(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def op(self, op_type: str, inputs: list[str], outputs: list[str], **attributes) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attributes))
        return outputs[0]


def _array(parameter) -> np.ndarray:
    return parameter.detach().numpy().astype(np.float32)


def build_form(step: StepGraph, form: str, vocab_size: int) -> bytes:
    """One step graph of `form` from StepGraph's weights, with the contract's input and output names."""
    c, layers = step.channels, len(step.dilations)
    g = GraphBuilder()
    h = g.op("Gather", [g.weight("embedding", _array(step.embedding)), INPUT_TOKENS], [newest_name(0)], axis=0)
    gates = []
    for i in range(layers):
        old = oldest_name(i)
        now_f, now_g = _array(step.filter_now[i]), _array(step.gate_now[i])  # (C, C) each
        old_f, old_g = _array(step.filter_old[i]), _array(step.gate_old[i])
        bias_f, bias_g = _array(step.filter_bias[i]), _array(step.gate_bias[i])  # (C,)
        if form == "taps":
            f = g.op("Gemm", [h, g.weight(f"now_f{i}", now_f), g.weight(f"bias_f{i}", bias_f)], [f"f_now{i}"])
            f = g.op("Gemm", [old, g.weight(f"old_f{i}", old_f), f], [f"f{i}"])
            q = g.op("Gemm", [h, g.weight(f"now_g{i}", now_g), g.weight(f"bias_g{i}", bias_g)], [f"q_now{i}"])
            q = g.op("Gemm", [old, g.weight(f"old_g{i}", old_g), q], [f"q{i}"])
        else:
            bias = g.weight(f"bias{i}", np.concatenate([bias_f, bias_g]))  # (2C,)
            if form == "fused":
                z = g.op("Gemm", [h, g.weight(f"now{i}", np.concatenate([now_f, now_g], 1)), bias], [f"z_now{i}"])
                z = g.op("Gemm", [old, g.weight(f"old{i}", np.concatenate([old_f, old_g], 1)), z], [f"z{i}"])
            else:  # concat: [oldest, h'] (B, 2C) @ [[W_old], [W_now]] (2C, 2C)
                pair = g.op("Concat", [old, h], [f"pair{i}"], axis=1)
                weight = np.concatenate([np.concatenate([old_f, old_g], 1), np.concatenate([now_f, now_g], 1)], 0)
                z = g.op("Gemm", [pair, g.weight(f"w{i}", weight), bias], [f"z{i}"])
            f, q = f"f{i}", f"q{i}"
            g.op("Split", [z], [f, q], axis=1, num_outputs=2)
        gate = g.op("Mul", [g.op("Tanh", [f], [f"tanh{i}"]), g.op("Sigmoid", [q], [f"sigmoid{i}"])], [f"g{i}"])
        gates.append(gate)
        if i < len(step.res_weight):
            h = g.op("Gemm", [gate, g.weight(f"res{i}", _array(step.res_weight[i])), h], [newest_name(i + 1)])
    skips = g.op("Gemm", [g.op("Concat", gates, ["gates"], axis=1), g.weight("skip_weight", _array(step.skip_weight)),
                          g.weight("skip_bias", _array(step.skip_bias))], ["skips"])
    hidden = g.op("Gemm", [g.op("Relu", [skips], ["relu_skips"]), g.weight("hidden_weight", _array(step.hidden_weight)),
                           g.weight("hidden_bias", _array(step.hidden_bias))], ["hidden_in"])
    g.op("Gemm", [g.op("Relu", [hidden], ["hidden"]), g.weight("out_weight", _array(step.out_weight)),
                  g.weight("out_bias", _array(step.out_bias))], [OUTPUT_LOGITS])
    inputs = [helper.make_tensor_value_info(INPUT_TOKENS, TensorProto.INT64, ["batch"])]
    outputs = [helper.make_tensor_value_info(OUTPUT_LOGITS, TensorProto.FLOAT, ["batch", vocab_size])]
    for i in range(layers):
        inputs.append(helper.make_tensor_value_info(oldest_name(i), TensorProto.FLOAT, ["batch", c]))
        outputs.append(helper.make_tensor_value_info(newest_name(i), TensorProto.FLOAT, ["batch", c]))
    model = helper.make_model(helper.make_graph(g.nodes, form, inputs, outputs, g.initializers),
                              opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def one_thread_session(model: bytes | str, change=lambda options: None) -> ort.InferenceSession:
    """A CPU session with the runtime's one-thread options (runtime.providers), `change`d."""
    options = make_session_options(1)
    change(options)
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def step_us(session: ort.InferenceSession, batch: int, seconds: float,
            output: str = OUTPUT_LOGITS) -> tuple[float, np.ndarray]:
    """Microseconds per step (best of 5 runs, inputs and outputs bound once) and one output (the logits [B, V])."""
    rng = np.random.default_rng(0)
    binding = session.io_binding()
    keep = []  # the bound arrays must outlive the binding's runs
    for node in session.get_inputs():
        array = rng.integers(1, 27, batch) if node.name == INPUT_TOKENS else \
            rng.standard_normal((batch, node.shape[1]), dtype=np.float32)
        keep.append(np.ascontiguousarray(array))
        binding.bind_cpu_input(node.name, keep[-1])
    results = {}
    for node in session.get_outputs():
        results[node.name] = np.empty((batch, *node.shape[1:]), dtype=np.float32)
        out = results[node.name]
        binding.bind_output(node.name, "cpu", 0, np.float32, list(out.shape), out.ctypes.data)
    best = time_per_call(lambda: session.run_with_iobinding(binding), seconds, repeats=5)
    return best, results[output].copy()


def activations_only(layers: int, channels: int) -> bytes:
    """A graph of just the gated activations of `layers` layers: tanh(f_l) * sigmoid(g_l) on [B, C] inputs."""
    g = GraphBuilder()
    inputs, outputs = [], []
    for i in range(layers):
        gate = g.op("Mul", [g.op("Tanh", [f"f{i}"], [f"tanh{i}"]), g.op("Sigmoid", [f"q{i}"], [f"sigmoid{i}"])],
                    [f"g{i}"])
        inputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", channels]) for name in
                   (f"f{i}", f"q{i}")]
        outputs.append(helper.make_tensor_value_info(gate, TensorProto.FLOAT, ["batch", channels]))
    model = helper.make_model(helper.make_graph(g.nodes, "activations", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 18)])
    return model.SerializeToString()


SESSION_OPTIONS = {  # name -> how it changes one_thread_session's options
    "as the runtime sets it": lambda o: None,
    "enable_mem_pattern off": lambda o: setattr(o, "enable_mem_pattern", False),
    "enable_cpu_mem_arena off": lambda o: setattr(o, "enable_cpu_mem_arena", False),
    "intra-op spinning off": lambda o: o.add_session_config_entry("session.intra_op.allow_spinning", "0"),
    "denormals as zero": lambda o: o.add_session_config_entry("session.set_denormal_as_zero", "1"),
    "optimisation level extended": lambda o: setattr(o, "graph_optimization_level",
                                                     ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
}


def gemm_shapes(model: bytes) -> list[tuple[int, int]]:
    proto = onnx.load_from_string(model)
    weights = {init.name: tuple(init.dims) for init in proto.graph.initializer}
    return [weights[node.input[1]] for node in proto.graph.node if node.op_type == "Gemm"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="models/wavenet.pt", help="a wavenet checkpoint (wn-train's .pt)")
    parser.add_argument("--batches", default="1,1024", help="comma-separated batch sizes")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per form and batch")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    ckpt = load_checkpoint(args.checkpoint)
    if ckpt.config.arch != "wavenet":
        sys.exit(f"{args.checkpoint}: a {ckpt.config.arch} checkpoint; step graphs need a wavenet")
    step = StepGraph(model_from_checkpoint(ckpt, args.checkpoint).eval())
    with tempfile.TemporaryDirectory(prefix="step-forms-") as tmp:
        exported = Path(tmp) / "step.onnx"
        export_checkpoint(args.checkpoint, exported, graph="step")
        reference = {b: step_us(one_thread_session(str(exported)), b, 0.05)[1] for b in batches}
        option_us = {name: step_us(one_thread_session(str(exported), change), 1, args.seconds)[0]
                     for name, change in SESSION_OPTIONS.items()}
    big = max(batches)
    print(f"# {args.checkpoint}: {len(step.dilations)} layers, {step.channels} channels; onnxruntime "
          f"{ort.__version__}, one thread; microseconds per step (best of 5)")
    print()
    print("| form | nodes | Gemms | " + " | ".join(f"batch {b}" for b in batches)
          + f" | Gemms alone, batch {big} | share | max abs logit diff vs export |")
    print("|---|--:|--:|" + "--:|" * len(batches) + "--:|--:|--:|")
    for form in FORMS:
        model = build_form(step, form, ckpt.config.vocab_size)
        session = one_thread_session(model)
        times, diff = [], 0.0
        for b in batches:
            us, logits = step_us(session, b, args.seconds)
            times.append(us)
            diff = max(diff, float(np.abs(logits - reference[b]).max()))
        shapes = gemm_shapes(model)
        ceiling = min(matmul_ceiling_us(shapes, big, args.seconds).values())
        nodes = len(onnx.load_from_string(model).graph.node)
        print(f"| {form} | {nodes} | {len(shapes)} | " + " | ".join(f"{t:.1f}" for t in times)
              + f" | {ceiling:.0f} | {ceiling / times[-1]:.0%} | {diff:.1e} |", flush=True)
    gates_us, _ = step_us(one_thread_session(activations_only(len(step.dilations), step.channels)), big,
                          args.seconds, output=f"g{len(step.dilations) - 1}")
    print()
    print(f"The gated activations alone ({len(step.dilations)} x Tanh, Sigmoid and Mul on [{big}, {step.channels}]): "
          f"{gates_us:.0f} us per step")
    print()
    print("The exported file at batch 1 under session options (us per step):")
    for name, us in option_us.items():
        print(f"  {name:<30} {us:.1f}")


if __name__ == "__main__":
    main()
