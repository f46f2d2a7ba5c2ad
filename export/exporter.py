"""Checkpoint -> self-describing .onnx file: wrap, export, attach metadata, verify, then write atomically.

    report = export_checkpoint("model.pt", "model.onnx")          # step graph for wavenet, window for lecture
    report.max_abs_diff, report.node_count, report.file_size

The file is written to a temporary path beside the output, checked there, and only then renamed over
the output: a failed check leaves no file and never replaces a good one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from wavenet_edge.runtime.common.errors import ConfigError, ModelFileError, WavenetEdgeError, first_line
from wavenet_edge.runtime.common.files import atomic_path, check_output_path
from wavenet_edge.runtime.common.interrupts import reraise_if_interrupted, watch_interrupts
from wavenet_edge.runtime.common.version import package_version
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.contract import (
    GRAPH_KINDS,
    GRAPH_STEP,
    GRAPH_WINDOW,
    INPUT_TOKENS,
    OUTPUT_LOGITS,
    ModelMetadata,
    newest_name,
    oldest_name,
)
from wavenet_edge.train.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint
from wavenet_edge.train.models import WaveNet, count_parameters

from .quiet import quiet
from .verify import DEFAULT_TOLERANCE, PARITY_BATCH_SIZES, verify_file
from .wrappers import StepGraph, initial_state, window_graph

__all__ = [
    "EXAMPLE_BATCH", "MIN_OPSET", "OPSET", "PRODUCER_NAME", "ExportReport", "default_graph", "export_checkpoint",
    "export_model", "graph_node_count", "load_export_checkpoint", "to_onnx",
]

# Opset 18: the torch.export-based exporter (torch >= 2.9's default) emits it natively (lower opsets go
# through onnx's version converter), onnxruntime >= 1.14 and onnx.reference run every op it uses.
OPSET = 18
MIN_OPSET = 18
PRODUCER_NAME = "wavenet-edge"
EXAMPLE_BATCH = 2  # >= 2 so that the exporter cannot specialise the dynamic batch axis to 1


@dataclass(frozen=True)
class ExportReport:
    """What export wrote and what it checked."""

    path: Path
    graph: str
    opset: int
    node_count: int
    file_size: int  # bytes
    parameters: int
    batch_sizes: tuple[int, ...] = ()  # batch sizes run against torch; empty when not verified
    max_abs_diff: float | None = None  # largest |onnx - torch| logit difference; None when not verified
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def verified(self) -> bool:
        return self.max_abs_diff is not None


def default_graph(config: ModelConfig) -> str:
    """The step graph for wavenet (Fast WaveNet generation), the window graph for lecture."""
    return GRAPH_STEP if config.arch == "wavenet" else GRAPH_WINDOW


def graph_node_count(model: str | Path | onnx.ModelProto) -> int:
    """Number of nodes in the main graph of an .onnx file (the per-step cost at batch 1)."""
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model), load_external_data=False)
    return len(proto.graph.node)


def _wrapper_and_inputs(model: nn.Module, config: ModelConfig, graph: str, state: torch.Tensor | None):
    """The wrapper module, example inputs (batch EXAMPLE_BATCH) and I/O names of one graph kind."""
    if graph == GRAPH_STEP:
        tokens = torch.zeros(EXAMPLE_BATCH, dtype=torch.long)  # (B,)
        assert state is not None and isinstance(model, WaveNet)  # step graphs: wavenet, with its initial state
        wrapper = StepGraph(model).eval()
        oldest = tuple(state[off:off + config.channels].repeat(EXAMPLE_BATCH, 1) for off, _ in wrapper.layout)
        layers = range(len(oldest))
        return (wrapper, (tokens, *oldest), [INPUT_TOKENS] + [oldest_name(i) for i in layers],
                [OUTPUT_LOGITS] + [newest_name(i) for i in layers])
    tokens = torch.zeros(EXAMPLE_BATCH, config.receptive_field, dtype=torch.long)  # (B, R)
    return window_graph(model).eval(), (tokens,), [INPUT_TOKENS], [OUTPUT_LOGITS]


def to_onnx(model: nn.Module, config: ModelConfig, graph: str, opset: int = OPSET,
            state: torch.Tensor | None = None) -> onnx.ModelProto:
    """Export one graph of `model` (eval mode) with a dynamic batch axis; no metadata yet."""
    wrapper, inputs, input_names, output_names = _wrapper_and_inputs(model, config, graph, state)
    batch = torch.export.Dim("batch")
    axis = {0: batch}  # every input's axis 0 is the one batch axis
    dynamic = (axis, tuple(axis for _ in inputs[1:])) if graph == GRAPH_STEP else (axis,)  # forward(tokens, *oldest)
    with watch_interrupts() as watch, quiet("torch.onnx"), torch.no_grad():  # quiet: "torchvision is not installed"
        try:
            program = torch.onnx.export(
                wrapper, inputs, input_names=input_names, output_names=output_names, opset_version=opset,
                dynamic_shapes=dynamic, dynamo=True, external_data=False, verbose=False,
            )
        except Exception as err:  # the exporter raises many types (a Ctrl-C too, wrapped): the message matters
            reraise_if_interrupted(watch, err)
            raise ModelFileError(
                f"torch.onnx.export failed for the {graph} graph at opset {opset}: {first_line(err)}") from None
    assert program is not None  # dynamo=True always returns the program
    proto = program.model_proto
    for node in proto.graph.node:  # torch's per-node debug info: stack traces with this machine's paths, fx names
        del node.metadata_props[:]
        node.doc_string = ""
    return proto


def load_export_checkpoint(path: str | Path) -> Checkpoint:
    """load_checkpoint, with anything it lets through turned into a one-line ModelFileError."""
    try:
        return load_checkpoint(path)
    except WavenetEdgeError:
        raise
    except Exception as err:  # a foreign file can make the unpickler fail in many ways
        raise ModelFileError(f"{path}: not a wavenet-edge checkpoint ({type(err).__name__}: {err})") from None


def _check_options(config: ModelConfig, graph: str, opset: int) -> None:
    if graph not in GRAPH_KINDS:
        raise ConfigError(f"unknown graph kind {graph!r} (choose from: {', '.join(GRAPH_KINDS)})")
    if graph == GRAPH_STEP and config.arch != "wavenet":
        raise ConfigError(f"a step graph needs the wavenet architecture; {config.arch} exports as --graph window")
    if opset < MIN_OPSET or opset > onnx.defs.onnx_opset_version():
        raise ConfigError(f"opset {opset} is not supported (choose {MIN_OPSET}..{onnx.defs.onnx_opset_version()})")


def export_model(ckpt: Checkpoint, out_path: str | Path, graph: str | None = None, opset: int = OPSET,
                 verify: bool = True, items: Sequence[str] = (), tolerance: float = DEFAULT_TOLERANCE,
                 batch_sizes: Sequence[int] = PARITY_BATCH_SIZES, rng: np.random.Generator | None = None,
                 where: str = "checkpoint") -> ExportReport:
    """Export a loaded checkpoint to `out_path`.

    graph: "step" | "window" | None (the architecture's default). verify: run the checker and compare
    with torch at `batch_sizes` (plus one step at a large batch) over `items` and random sequences; a
    failure raises ModelFileError and writes nothing. rng: for the random verification inputs.
    """
    out_path = Path(out_path)
    check_output_path(out_path, "output")
    config = ckpt.config
    graph = graph or default_graph(config)
    _check_options(config, graph, opset)
    model = model_from_checkpoint(ckpt, where)
    state = initial_state(model) if isinstance(model, WaveNet) and graph == GRAPH_STEP else None
    proto = to_onnx(model, config, graph, opset, state)
    meta = ModelMetadata(
        graph=graph, config=config, vocab=ckpt.vocab, metrics=dict(ckpt.metrics), data=dict(ckpt.data),
        package_version=package_version(), parameters=count_parameters(model),
        initial_state=None if state is None else state.numpy(),
    )
    onnx.helper.set_model_props(proto, meta.to_props())
    proto.producer_name = PRODUCER_NAME
    proto.producer_version = meta.package_version
    with atomic_path(out_path) as tmp:
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
        result = None
        if verify:
            rng = rng if rng is not None else np.random.default_rng(0)
            result = verify_file(tmp, model, meta, items=items, tolerance=tolerance, batch_sizes=batch_sizes,
                                 rng=rng)
        size = tmp.stat().st_size
    return ExportReport(
        path=out_path, graph=graph, opset=opset, node_count=graph_node_count(proto), file_size=size,
        parameters=meta.parameters, batch_sizes=result.batch_sizes if result else (),
        max_abs_diff=result.max_abs_diff if result else None, tolerance=tolerance,
    )


def export_checkpoint(ckpt_path: str | Path, out_path: str | Path, graph: str | None = None, opset: int = OPSET,
                      verify: bool = True, items: Sequence[str] = (), tolerance: float = DEFAULT_TOLERANCE,
                      rng: np.random.Generator | None = None) -> ExportReport:
    """Export the checkpoint file `ckpt_path` to `out_path` (see export_model)."""
    ckpt_path, out_path = Path(ckpt_path), Path(out_path)
    check_output_path(out_path, "output", inputs={"checkpoint": ckpt_path})
    ckpt = load_export_checkpoint(ckpt_path)
    return export_model(ckpt, out_path, graph=graph, opset=opset, verify=verify, items=items,
                        tolerance=tolerance, rng=rng, where=str(ckpt_path))
