"""wavenet_edge.export: a training checkpoint -> a self-describing, verified .onnx file (needs torch).

    from wavenet_edge.export import export_checkpoint
    report = export_checkpoint("model.pt", "model.onnx")      # or: wn-export model.pt model.onnx
"""

from .exporter import (
    OPSET,
    PRODUCER_NAME,
    ExportReport,
    default_graph,
    export_checkpoint,
    export_model,
    graph_node_count,
    load_export_checkpoint,
)
from .verify import DEFAULT_TOLERANCE, VerifyResult, verify_file
from .wrappers import LectureWindowGraph, StepGraph, WindowGraph, initial_state, window_graph

__all__ = [
    "DEFAULT_TOLERANCE", "OPSET", "PRODUCER_NAME", "ExportReport", "LectureWindowGraph", "StepGraph",
    "VerifyResult", "WindowGraph", "default_graph", "export_checkpoint", "export_model", "graph_node_count",
    "initial_state", "load_export_checkpoint", "verify_file", "window_graph",
]
