"""Console script of export: wn-export. It imports torch and onnx only once it runs under launch(), so a
missing `train` extra is one line, even for --help (runtime/common/launch.py)."""

from wavenet_edge.runtime.common.launch import TRAIN_EXTRA_MODULES, launch

__all__ = ["wn_export"]


def wn_export() -> None:
    launch("wn-export", "wavenet_edge.export.cli", needs=TRAIN_EXTRA_MODULES)
