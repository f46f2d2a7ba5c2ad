"""wavenet_edge.export: a training checkpoint -> a self-describing, verified .onnx file (needs torch).

    from wavenet_edge.export import export_checkpoint
    report = export_checkpoint("model.pt", "model.onnx")      # or: wn-export model.pt model.onnx

The names below are imported on first use, so that `wn-export` (export/entry_points.py) can start, and
say in one line that the `train` extra is missing, without importing torch and onnx.
"""

from wavenet_edge.runtime.common.launch import lazy_attributes

_LAZY = {
    "OPSET": ".exporter", "PRODUCER_NAME": ".exporter", "ExportReport": ".exporter", "default_graph": ".exporter",
    "export_checkpoint": ".exporter", "export_model": ".exporter", "graph_node_count": ".exporter",
    "load_export_checkpoint": ".exporter", "DEFAULT_TOLERANCE": ".verify", "VerifyResult": ".verify",
    "verify_file": ".verify", "LectureWindowGraph": ".wrappers", "StepGraph": ".wrappers",
    "WindowGraph": ".wrappers", "initial_state": ".wrappers", "window_graph": ".wrappers",
}

__all__ = [
    "DEFAULT_TOLERANCE", "OPSET", "PRODUCER_NAME", "ExportReport", "LectureWindowGraph", "StepGraph",
    "VerifyResult", "WindowGraph", "default_graph", "export_checkpoint", "export_model", "graph_node_count",
    "initial_state", "load_export_checkpoint", "verify_file", "window_graph",
]

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
