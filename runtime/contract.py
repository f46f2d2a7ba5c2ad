"""The contract between `wn-export` and the runtime: graph I/O names and the ONNX metadata layout.

docs/format.md is the specification, in language-neutral terms: every `wavenet_edge.*` metadata key (its
JSON type, units and an example from the shipped file), the vocabulary's ids, the step protocol of both
formats and of the window graph, scoring, generation and the sampler; tests/conformance/ holds the
numbers an implementation must reproduce. This module reads and validates the metadata
(`ModelMetadata.from_props`), writes it (`to_props`), and names the graphs' inputs and outputs:

    step graph, format 2   tokens [batch] int64, oldest_0 .. oldest_{L-1} [batch, C] float32
                           -> logits [batch, vocab], newest_0 .. newest_{L-1} [batch, C]
    step graph, format 1   tokens [batch] int64, state [batch, state_size] -> logits, next_state
    window graph           tokens [batch, receptive_field] int64 -> logits

`step_feeds` and `next_state` run format 2 on a flat [batch, state_size] state (the format-1 layout,
`state_layout`: offsets and sizes in float32 values); the runtime keeps a ring of d_l + 1 slots per layer
instead (runtime/graphs.py), so that no queue is ever shifted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .common.errors import ConfigError, ModelFileError, VocabError
from .config import ModelConfig
from .vocab import Vocab

__all__ = [
    "FORMAT_VERSION", "GRAPH_KINDS", "GRAPH_STEP", "GRAPH_WINDOW", "INPUT_STATE", "INPUT_TOKENS",
    "METADATA_PREFIX", "ModelMetadata", "OUTPUT_LOGITS", "OUTPUT_STATE", "READABLE_VERSIONS", "check_graph_shapes",
    "next_state", "oldest_name", "newest_name", "state_layout", "step_feeds",
]

FORMAT_VERSION = 2  # 2: the step graph's queues live outside the graph (1: inside, shifted by a Split + Concat)
READABLE_VERSIONS = (1, 2)
METADATA_PREFIX = "wavenet_edge."
GRAPH_STEP = "step"
GRAPH_WINDOW = "window"
GRAPH_KINDS = (GRAPH_STEP, GRAPH_WINDOW)

INPUT_TOKENS = "tokens"
INPUT_STATE = "state"  # format 1
OUTPUT_LOGITS = "logits"
OUTPUT_STATE = "next_state"  # format 1


def oldest_name(layer: int) -> str:
    """Step graph input (format 2): layer `layer`'s input from `dilation` steps ago."""
    return f"oldest_{layer}"


def newest_name(layer: int) -> str:
    """Step graph output (format 2): layer `layer`'s input at this step."""
    return f"newest_{layer}"


def state_layout(config: ModelConfig) -> list[dict]:
    """Where each wavenet layer's queue lives in the flat step-graph state (offsets in floats)."""
    layout, offset = [], 0
    for layer, dilation in enumerate(config.layer_dilations):
        size = dilation * config.channels
        layout.append({"layer": layer, "dilation": dilation, "offset": offset, "size": size})
        offset += size
    return layout


def step_feeds(config: ModelConfig, tokens: np.ndarray, state: np.ndarray) -> dict[str, np.ndarray]:
    """Format-2 step graph inputs for tokens [B] int64 and a flat state [B, state_size] (state_layout)."""
    c = config.channels
    feeds = {INPUT_TOKENS: np.ascontiguousarray(tokens, dtype=np.int64)}
    for entry in state_layout(config):
        feeds[oldest_name(entry["layer"])] = np.ascontiguousarray(state[:, entry["offset"]:entry["offset"] + c])
    return feeds


def next_state(config: ModelConfig, state: np.ndarray, newest: list[np.ndarray]) -> np.ndarray:
    """The flat state [B, state_size] after a format-2 step: every queue drops its oldest vector and
    takes the graph's newest_l (outputs 1.. of the step, in layer order)."""
    c = config.channels
    pieces = []
    for entry, new in zip(state_layout(config), newest, strict=True):
        pieces += [state[:, entry["offset"] + c:entry["offset"] + entry["size"]], new]
    return np.concatenate(pieces, axis=1)


def io_description(config: ModelConfig, graph: str, version: int = FORMAT_VERSION) -> dict:
    """Names, dtypes and shapes of a graph's inputs and outputs ("batch" is the dynamic axis)."""
    vocab = config.vocab_size
    if graph == GRAPH_STEP and version >= 2:
        c = config.channels
        layout = state_layout(config)
        return {
            "inputs": [{"name": INPUT_TOKENS, "dtype": "int64", "shape": ["batch"]}]
            + [{"name": oldest_name(e["layer"]), "dtype": "float32", "shape": ["batch", c]} for e in layout],
            "outputs": [{"name": OUTPUT_LOGITS, "dtype": "float32", "shape": ["batch", vocab]}]
            + [{"name": newest_name(e["layer"]), "dtype": "float32", "shape": ["batch", c]} for e in layout],
            "queues": [{**e, "input": oldest_name(e["layer"]), "output": newest_name(e["layer"])} for e in layout],
        }
    if graph == GRAPH_STEP:
        size = sum(config.layer_dilations) * config.channels
        return {
            "inputs": [{"name": INPUT_TOKENS, "dtype": "int64", "shape": ["batch"]},
                       {"name": INPUT_STATE, "dtype": "float32", "shape": ["batch", size]}],
            "outputs": [{"name": OUTPUT_LOGITS, "dtype": "float32", "shape": ["batch", vocab]},
                        {"name": OUTPUT_STATE, "dtype": "float32", "shape": ["batch", size]}],
            "state_layout": state_layout(config),
        }
    return {
        "inputs": [{"name": INPUT_TOKENS, "dtype": "int64", "shape": ["batch", config.receptive_field]}],
        "outputs": [{"name": OUTPUT_LOGITS, "dtype": "float32", "shape": ["batch", vocab]}],
    }


class _BadField(Exception):
    """A metadata field of the wrong type or value (worded by from_props)."""


def _json(fields: dict[str, str], key: str, kind: type, default: str | None = None):
    """The JSON value of metadata field `key`, which must be of `kind` (a JSON object for dict)."""
    text = fields.get(key, default)
    if text is None:
        raise _BadField(f"metadata wavenet_edge.{key} is missing")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        raise _BadField(f"metadata wavenet_edge.{key} is not valid JSON") from None
    if not isinstance(value, kind):
        expected = "a JSON object" if kind is dict else f"JSON {kind.__name__}"
        raise _BadField(f"metadata wavenet_edge.{key} must be {expected}, got {type(value).__name__}: {text[:40]}")
    return value


def _count(fields: dict[str, str], key: str) -> int:
    """A non-negative integer metadata field written in decimal digits."""
    text = fields.get(key, "0")
    if not text.isascii() or not text.isdigit():
        raise _BadField(f"metadata wavenet_edge.{key} must be a non-negative integer, got {text[:40]!r}")
    return int(text)


def check_graph_shapes(metadata: ModelMetadata, inputs: Sequence, outputs: Sequence, where: str = "model") -> None:
    """The widths that the graph declares for its inputs and outputs (objects with .name and .shape, as
    onnxruntime's get_inputs() gives) must be those the metadata implies: logits vocab_size wide, the
    state state_size wide, the window receptive_field wide. A width the graph leaves open is not checked
    here (the loader runs one step to check it). ModelFileError names the first difference."""
    want = {INPUT_TOKENS: metadata.receptive_field if metadata.graph == GRAPH_WINDOW else None,
            INPUT_STATE: metadata.state_size, OUTPUT_LOGITS: metadata.config.vocab_size,
            OUTPUT_STATE: metadata.state_size}
    what = {INPUT_TOKENS: "tokens per row (the receptive field)", INPUT_STATE: "state floats per row",
            OUTPUT_LOGITS: "logits per row (the vocabulary size)", OUTPUT_STATE: "state floats per row"}
    for layer in range(len(metadata.config.layer_dilations)):  # format 2: one queue input and output per layer
        for name in (oldest_name(layer), newest_name(layer)):
            want[name], what[name] = metadata.config.channels, "queue floats per row (the channels)"
    for arg in (*inputs, *outputs):
        shape = list(arg.shape or [])
        width = shape[1] if len(shape) > 1 else None
        expected = want.get(arg.name)
        if expected is not None and isinstance(width, int) and width != expected:
            raise ModelFileError(f"{where}: the graph's {arg.name} has {width} {what[arg.name]}; the metadata "
                                 f"says {expected}")


@dataclass
class ModelMetadata:
    """Everything an exported file says about itself."""

    graph: str
    config: ModelConfig
    vocab: Vocab
    metrics: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    package_version: str = "unknown"
    parameters: int = 0
    initial_state: np.ndarray | None = None  # step graphs: float32 [state_size]
    format_version: int = FORMAT_VERSION

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    @property
    def io(self) -> dict:
        return io_description(self.config, self.graph, self.format_version)

    @property
    def state_size(self) -> int:
        return sum(self.config.layer_dilations) * self.config.channels if self.graph == GRAPH_STEP else 0

    def to_props(self) -> dict[str, str]:
        """The `metadata_props` of the .onnx file."""
        props = {
            "format_version": str(self.format_version),
            "graph": self.graph,
            "config": json.dumps(self.config.to_dict(), sort_keys=True),
            "vocab": json.dumps(self.vocab.to_dict(), ensure_ascii=False),
            "receptive_field": str(self.receptive_field),
            "io": json.dumps(self.io, sort_keys=True),
            "metrics": json.dumps(self.metrics, sort_keys=True),
            "data": json.dumps(self.data, sort_keys=True),
            "package_version": self.package_version,
            "parameters": str(self.parameters),
        }
        if self.graph == GRAPH_STEP:
            state = np.ascontiguousarray(self.initial_state, dtype="<f4")
            props["initial_state"] = base64.b64encode(state.tobytes()).decode("ascii")
        return {METADATA_PREFIX + key: value for key, value in props.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], where: str = "model") -> ModelMetadata:
        """Parse and validate `metadata_props`; ModelFileError names what is missing or wrong."""
        ours = {k[len(METADATA_PREFIX):]: v for k, v in props.items() if k.startswith(METADATA_PREFIX)}
        if not ours:
            raise ModelFileError(f"{where}: not a wavenet-edge model (no wavenet_edge.* metadata)")
        try:
            version = int(ours.get("format_version", ""))
        except ValueError:
            raise ModelFileError(f"{where}: missing or malformed wavenet_edge.format_version") from None
        if version not in READABLE_VERSIONS:
            raise ModelFileError(
                f"{where}: unsupported format version {version} (this runtime reads versions "
                f"{', '.join(str(v) for v in READABLE_VERSIONS)})"
            )
        for key in ("graph", "config", "vocab"):
            if key not in ours:
                raise ModelFileError(f"{where}: metadata wavenet_edge.{key} is missing")
        graph = ours["graph"]
        if graph not in GRAPH_KINDS:
            raise ModelFileError(f"{where}: unknown graph kind {graph!r} (expected step or window)")
        try:
            config = ModelConfig.from_dict(_json(ours, "config", dict))
            vocab = Vocab.from_dict(_json(ours, "vocab", dict))
        except (ConfigError, VocabError, TypeError) as err:
            raise ModelFileError(f"{where}: malformed wavenet_edge metadata: {err}") from None
        except _BadField as err:
            raise ModelFileError(f"{where}: {err}") from None
        try:
            metrics = _json(ours, "metrics", dict, "{}")
            data = _json(ours, "data", dict, "{}")
            parameters = _count(ours, "parameters")
            if "receptive_field" in ours and _count(ours, "receptive_field") != config.receptive_field:
                raise _BadField(f"metadata wavenet_edge.receptive_field {ours['receptive_field']} does not match "
                                f"the config's {config.receptive_field}")
            described = json.loads(json.dumps(io_description(config, graph, version)))
            if "io" in ours and _json(ours, "io", dict) != described:
                raise _BadField("metadata wavenet_edge.io does not match the config (the graph's inputs, outputs "
                                "and state layout follow from it)")
        except _BadField as err:
            raise ModelFileError(f"{where}: {err}") from None
        if vocab.size != config.vocab_size:
            raise ModelFileError(
                f"{where}: vocabulary of {vocab.size} ids does not match config vocab_size {config.vocab_size}"
            )
        if graph == GRAPH_STEP and config.arch != "wavenet":
            raise ModelFileError(f"{where}: a step graph needs the wavenet architecture, not {config.arch!r}")
        meta = cls(graph=graph, config=config, vocab=vocab, metrics=metrics, data=data,
                   package_version=ours.get("package_version", "unknown"), parameters=parameters,
                   format_version=version)
        if graph == GRAPH_STEP:
            try:
                raw = base64.b64decode(ours["initial_state"], validate=True)
            except (KeyError, ValueError):
                raise ModelFileError(f"{where}: metadata wavenet_edge.initial_state is missing or malformed") from None
            if len(raw) % 4:
                raise ModelFileError(f"{where}: metadata wavenet_edge.initial_state holds {len(raw)} bytes, not a "
                                     f"whole number of float32 values")
            state = np.frombuffer(raw, dtype="<f4").astype(np.float32)
            if state.shape != (meta.state_size,):
                raise ModelFileError(
                    f"{where}: initial state holds {state.size} values, the config needs {meta.state_size}"
                )
            if not np.isfinite(state).all():
                raise ModelFileError(f"{where}: metadata wavenet_edge.initial_state holds NaN or infinite values")
            meta.initial_state = state
        return meta
