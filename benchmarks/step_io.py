"""Why the step graph keeps format 2's I/O: the two format-3 designs that issues 16 and 17 asked for, timed.

    python benchmarks/step_io.py                       # the shipped model (models/wavenet.pt), ~2 min
    python benchmarks/step_io.py --batches 1,256 --no-node

Issue 16 wants the generation state to stay on the device (rows that start over must not need a host write
into device memory), issue 17 fewer tensors per call for the JavaScript runtime; both allow one new format
if the Python runtime on the CPU does not get slower. Three forms of the same step (export.wrappers.StepGraph,
the same weights), each with the bindings a runtime would make:

    format 2  (shipped)  tokens [B], oldest_l [B, C] x L -> logits, newest_l [B, C] x L; the rings live in the
                         runtime, a row that starts over gets its start queues written by the host
    restart              format 2 plus age [B, 1] int64: layer l reads its start vector instead of oldest_l
                         while age < d_l (one Less per dilation, one Where per layer), so the host never writes
                         the rings: the device-resident design of issue 16
    packed               tokens [B], age [B], read [L] int64, ring [P, L, B, C] -> logits, newest [L, B, C]:
                         the ring is one tensor (P = max d + 1 slots), gathered in the graph, and newest is
                         bound to slot t mod P: 4 inputs and 2 outputs instead of 9 and 9 (issue 17)

Printed for each form and batch: onnxruntime's CPU time per step in Python (one thread, IOBinding on the
runtime's buffers, best of 5) and, where node and js/node_modules are there, onnxruntime-node's CPU time per
`session.run` with preallocated outputs (the JS runtime's call). The restart forms are checked against
format 2 first: the same logits for rows past their start, and for fresh rows the same logits as format 2
given the start queues. A format-3 candidate passes if Python is no slower than format 2 (within 3%) at
every batch size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from wavenet_edge.export.exporter import OPSET
from wavenet_edge.export.quiet import quiet
from wavenet_edge.export.wrappers import StepGraph, initial_state
from wavenet_edge.runtime.contract import state_layout
from wavenet_edge.runtime.providers import make_session_options
from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint

ROOT = Path(__file__).resolve().parent.parent
FORMS = ("format 2", "restart", "packed")
SLOWER_OK = 1.03  # "no slower": within 3% (run-to-run noise on a quiet machine)


class RestartStep(nn.Module):
    """Format 2 plus age [B, 1]: oldest_l is replaced by layer l's start vector while age < d_l."""

    def __init__(self, model):
        super().__init__()
        self.step = StepGraph(model)
        self.dilations = list(model.config.layer_dilations)
        self.register_buffer("starts", start_vectors(model))  # [L, C]

    def forward(self, tokens, age, *oldest):  # tokens [B], age [B, 1] int64, oldest L x [B, C]
        fresh = {d: age < d for d in sorted(set(self.dilations))}  # [B, 1] bool per dilation
        pairs = enumerate(zip(self.dilations, oldest, strict=True))
        old = [torch.where(fresh[d], self.starts[i], o) for i, (d, o) in pairs]
        return self.step(tokens, *old)


class PackedStep(nn.Module):
    """One ring tensor in, one newest tensor out: (tokens [B], age [B], read [L], ring [P, L, B, C])."""

    def __init__(self, model):
        super().__init__()
        self.step = StepGraph(model)
        dilations = list(model.config.layer_dilations)
        self.layers = len(dilations)
        self.register_buffer("starts", start_vectors(model))  # [L, C]
        self.register_buffer("dilation", torch.tensor(dilations)[:, None])  # [L, 1]
        self.register_buffer("layer", torch.arange(self.layers))  # [L]

    def forward(self, tokens, age, read, ring):
        old = ring.flatten(0, 1).index_select(0, read * self.layers + self.layer)  # [L, B, C]
        fresh = (age[None, :] < self.dilation)[:, :, None]  # [L, B, 1]
        old = torch.where(fresh, self.starts[:, None, :], old)
        logits, *newest = self.step(tokens, *old.unbind(0))
        return logits, torch.stack(newest, 0)  # [B, V], [L, B, C]


def start_vectors(model) -> torch.Tensor:
    """Each layer's start queue is one vector repeated d_l times (initial_state): those vectors, [L, C]."""
    state, c = initial_state(model), model.config.channels
    starts = []
    for entry in state_layout(model.config):
        queue = state[entry["offset"]:entry["offset"] + entry["size"]].reshape(entry["dilation"], c)
        assert torch.equal(queue, queue[:1].expand_as(queue)), "a start queue that is not one repeated vector"
        starts.append(queue[0])
    return torch.stack(starts)


def export(module: nn.Module, inputs: tuple, names: tuple[list[str], list[str]], dynamic) -> bytes:
    with quiet("torch.onnx"), torch.no_grad():
        program = torch.onnx.export(module.eval(), inputs, input_names=names[0], output_names=names[1],
                                    opset_version=OPSET, dynamic_shapes=dynamic, dynamo=True, verbose=False)
    assert program is not None
    return program.model_proto.SerializeToString()


def build(model) -> dict[str, bytes]:
    """The three forms as ONNX bytes (batch 2 examples; the batch axis dynamic)."""
    layers, c = len(model.config.layer_dilations), model.config.channels
    tokens, oldest = torch.zeros(2, dtype=torch.long), tuple(torch.zeros(2, c) for _ in range(layers))
    batch = torch.export.Dim("batch")
    olds, news = [f"oldest_{i}" for i in range(layers)], [f"newest_{i}" for i in range(layers)]
    slots = max(model.config.layer_dilations) + 1
    return {
        "format 2": export(StepGraph(model), (tokens, *oldest), (["tokens", *olds], ["logits", *news]),
                           ({0: batch}, tuple({0: batch} for _ in oldest))),
        "restart": export(RestartStep(model), (tokens, torch.zeros(2, 1, dtype=torch.long), *oldest),
                          (["tokens", "age", *olds], ["logits", *news]),
                          ({0: batch}, {0: batch}, tuple({0: batch} for _ in oldest))),
        "packed": export(PackedStep(model), (tokens, torch.zeros(2, dtype=torch.long),
                                             torch.zeros(layers, dtype=torch.long), torch.zeros(slots, layers, 2, c)),
                         (["tokens", "age", "read", "ring"], ["logits", "newest"]),
                         ({0: batch}, {0: batch}, None, {2: batch})),
    }


def session(graph: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(graph, make_session_options(1), providers=["CPUExecutionProvider"])


def check(model, graphs: dict[str, bytes], rng: np.random.Generator) -> float:
    """Largest |logit difference| of the restart forms against format 2 over rows of every age 0..max d."""
    config = model.config
    dilations, c = list(config.layer_dilations), config.channels
    starts = start_vectors(model).numpy()
    ages = np.arange(max(dilations) + 1)  # one row per age
    b = len(ages)
    tokens = rng.integers(0, config.vocab_size, b)
    oldest = [rng.standard_normal((b, c)).astype(np.float32) for _ in dilations]
    pairs = enumerate(zip(dilations, oldest, strict=True))
    expected_oldest = [np.where((ages < d)[:, None], starts[i], o) for i, (d, o) in pairs]
    reference = session(graphs["format 2"]).run(None, {"tokens": tokens, **{f"oldest_{i}": o
                                                                           for i, o in enumerate(expected_oldest)}})
    restart = session(graphs["restart"]).run(None, {"tokens": tokens, "age": ages[:, None],
                                                    **{f"oldest_{i}": o for i, o in enumerate(oldest)}})
    slots = max(dilations) + 1
    ring = rng.standard_normal((slots, len(dilations), b, c)).astype(np.float32)
    read = np.array([(slots - d) % slots for d in dilations])
    for i, o in enumerate(oldest):
        ring[read[i], i] = o
    packed = session(graphs["packed"]).run(None, {"tokens": tokens, "age": ages, "read": read, "ring": ring})
    worst = 0.0
    for form in (restart, packed):
        worst = max(worst, float(np.abs(form[0] - reference[0]).max()))
    newest = np.stack(reference[1:])
    worst = max(worst, float(np.abs(np.stack(restart[1:]) - newest).max()), float(np.abs(packed[1] - newest).max()))
    return worst


def _bind(binding: ort.IOBinding, name: str, array: np.ndarray, output: bool = False) -> None:
    (binding.bind_output if output else binding.bind_input)(name, "cpu", 0, array.dtype, list(array.shape),
                                                              array.ctypes.data)


def python_us(graph: bytes, form: str, config, batch: int, seconds: float) -> float:
    """CPU microseconds per step, the form's bindings made once per ring phase (as runtime/graphs.py does)."""
    sess = session(graph)
    dilations, c, vocab = list(config.layer_dilations), config.channels, config.vocab_size
    tokens, logits = np.zeros(batch, np.int64), np.empty((batch, vocab), np.float32)
    bindings = []
    if form == "packed":
        slots = max(dilations) + 1
        ring, age = np.zeros((slots, len(dilations), batch, c), np.float32), np.full(batch, slots, np.int64)
        keep = []
        for phase in range(slots):
            read = np.array([(phase - d) % slots for d in dilations], np.int64)
            keep.append(read)
            binding = sess.io_binding()
            for name, array in (("tokens", tokens), ("age", age), ("read", read), ("ring", ring)):
                _bind(binding, name, array)
            _bind(binding, "logits", logits, output=True)
            _bind(binding, "newest", ring[phase], output=True)
            bindings.append(binding)
    else:
        sizes = [1 << d.bit_length() for d in dilations]
        offsets = np.cumsum([0] + sizes)[:-1]
        ring, age = np.zeros((sum(sizes), batch, c), np.float32), np.full((batch, 1), max(sizes), np.int64)
        for phase in range(max(sizes)):
            binding = sess.io_binding()
            _bind(binding, "tokens", tokens)
            if form == "restart":
                _bind(binding, "age", age)
            _bind(binding, "logits", logits, output=True)
            for layer, (d, m, offset) in enumerate(zip(dilations, sizes, offsets, strict=True)):
                _bind(binding, f"oldest_{layer}", ring[offset + (phase - d) % m])
                _bind(binding, f"newest_{layer}", ring[offset + phase % m], output=True)
            bindings.append(binding)
    calls = max(50, int(seconds / 5 / max(cpu_time(lambda: sess.run_with_iobinding(bindings[0])), 1e-7)))
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for i in range(calls):
            sess.run_with_iobinding(bindings[i % len(bindings)])
        best = min(best, (time.process_time() - t0) / calls * 1e6)
    return best


def cpu_time(func) -> float:
    t0 = time.process_time()
    func()
    return time.process_time() - t0


NODE_SCRIPT = r"""
import { createRequire } from "node:module";
const require = createRequire(process.argv[2]);
const ort = require("onnxruntime-node");
const [, , , dir, specText] = process.argv;
const spec = JSON.parse(specText);
const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
const out = {};
for (const [form, file] of Object.entries(spec.files)) {
  const s = await ort.InferenceSession.create(`${dir}/${file}`, opts);
  out[form] = {};
  for (const B of spec.batches) {
    const { L, C, V, P } = spec;
    const feeds = { tokens: new ort.Tensor("int64", new BigInt64Array(B), [B]) };
    const fetches = { logits: new ort.Tensor("float32", new Float32Array(B * V), [B, V]) };
    if (form === "packed") {
      const ring = new Float32Array(P * L * B * C);
      feeds.age = new ort.Tensor("int64", new BigInt64Array(B).fill(BigInt(P)), [B]);
      feeds.read = new ort.Tensor("int64", BigInt64Array.from(spec.dilations.map((d) => BigInt((P - d) % P))), [L]);
      feeds.ring = new ort.Tensor("float32", ring, [P, L, B, C]);
      fetches.newest = new ort.Tensor("float32", ring.subarray(0, L * B * C), [L, B, C]);
    } else {
      if (form === "restart") feeds.age = new ort.Tensor("int64", new BigInt64Array(B).fill(BigInt(P)), [B, 1]);
      for (let l = 0; l < L; l++) {
        feeds[`oldest_${l}`] = new ort.Tensor("float32", new Float32Array(B * C), [B, C]);
        fetches[`newest_${l}`] = new ort.Tensor("float32", new Float32Array(B * C), [B, C]);
      }
    }
    const calls = Math.max(50, Math.round(spec.calls / B));
    let best = Infinity;
    for (let k = 0; k < 6; k++) {
      const t = process.cpuUsage();
      for (let i = 0; i < calls; i++) await s.run(feeds, fetches);
      const u = process.cpuUsage(t);
      if (k > 0) best = Math.min(best, (u.user + u.system) / calls);  // the first round warms up
    }
    out[form][B] = best;
  }
}
console.log(JSON.stringify(out));
"""


def node_us(graphs: dict[str, bytes], config, batches: list[int]) -> dict[str, dict[int, float]] | None:
    """onnxruntime-node's CPU microseconds per session.run, per form and batch; None without node."""
    package = ROOT / "js" / "package.json"
    if shutil.which("node") is None or not (ROOT / "js" / "node_modules" / "onnxruntime-node").is_dir():
        return None
    dilations = list(config.layer_dilations)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for i, (form, graph) in enumerate(graphs.items()):
            files[form] = f"form{i}.onnx"
            Path(tmp, files[form]).write_bytes(graph)
        script = Path(tmp, "time.mjs")
        script.write_text(NODE_SCRIPT)
        spec = {"files": files, "batches": batches, "L": len(dilations), "C": config.channels,
                "V": config.vocab_size, "P": max(dilations) + 1, "dilations": dilations, "calls": 20000}
        out = subprocess.run(["node", str(script), str(package), tmp, json.dumps(spec)], check=True,
                             capture_output=True, text=True)
    raw = json.loads(out.stdout)
    return {form: {int(b): v for b, v in times.items()} for form, times in raw.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="models/wavenet.pt", help="a wavenet checkpoint (wn-train's .pt)")
    parser.add_argument("--batches", default="1,256,1024", help="comma-separated batch sizes")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed CPU seconds per form and batch (Python)")
    parser.add_argument("--no-node", action="store_true", help="skip the onnxruntime-node timings")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    model = model_from_checkpoint(load_checkpoint(args.checkpoint), args.checkpoint).eval()
    config = model.config
    graphs = build(model)
    worst = check(model, graphs, np.random.default_rng(0))
    py = {form: {b: python_us(graphs[form], form, config, b, args.seconds) for b in batches} for form in FORMS}
    node = None if args.no_node else node_us(graphs, config, batches)
    print(f"# {args.checkpoint}: {len(config.layer_dilations)} layers, {config.channels} channels; onnxruntime "
          f"{ort.__version__}, one thread; CPU microseconds per step (best of 5)")
    print(f"restart forms against format 2 (rows of every age): max abs difference {worst:.1e}")
    print()
    header = "| form | inputs + outputs | " + " | ".join(f"python b{b}" for b in batches)
    header += "".join(f" | node b{b}" for b in batches) if node else ""
    print(header + " |")
    print("|---|--:|" + "--:|" * (len(batches) * (2 if node else 1)))
    io = {"format 2": 2 + 2 * len(config.layer_dilations), "restart": 3 + 2 * len(config.layer_dilations),
          "packed": 6}
    for form in FORMS:
        cells = [f"{py[form][b]:.1f} ({py[form][b] / py['format 2'][b]:.2f}x)" for b in batches]
        if node:
            cells += [f"{node[form][b]:.1f} ({node[form][b] / node['format 2'][b]:.2f}x)" for b in batches]
        print(f"| {form} | {io[form]} | " + " | ".join(cells) + " |")
    print()
    for form in FORMS[1:]:
        ratio = max(py[form][b] / py["format 2"][b] for b in batches)
        verdict = "PASS" if ratio <= SLOWER_OK else "MISS"
        print(f"{verdict}  {form} as format 3: Python no slower than format 2 (<= {SLOWER_OK:.2f}x) at every batch: "
              f"worst {ratio:.2f}x")
    if node:
        for b in batches:
            best = min(node[form][b] for form in FORMS)
            print(f"node graph call at batch {b}: {node['format 2'][b] / py['format 2'][b]:.2f}x Python's "
                  f"(format 2); the best form in Node: {best / py['format 2'][b]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
