"""wavenet_edge.export: a training checkpoint -> a self-describing, verified .onnx file (needs torch).

    from wavenet_edge.export import export_checkpoint
    report = export_checkpoint("model.pt", "model.onnx")      # or: wn-export model.pt model.onnx

The names below are imported on first use, so that `wn-export` (export/entry_points.py) can start, and
say in one line that the `train` extra is missing, without importing torch and onnx.
"""

from importlib import import_module

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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
