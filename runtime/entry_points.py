"""Console scripts of the runtime: wn-generate, wn-complete, wn-eval, wn-info, wn-dask (see runtime/common/launch.py
for why they import their command lazily)."""

from .common.launch import launch

__all__ = ["wn_complete", "wn_dask", "wn_eval", "wn_generate", "wn_info"]


def wn_generate() -> None:
    launch("wn-generate", "wavenet_edge.runtime.cli", "generate_command")


def wn_eval() -> None:
    launch("wn-eval", "wavenet_edge.runtime.cli", "eval_command")


def wn_info() -> None:
    launch("wn-info", "wavenet_edge.runtime.cli", "info_command")


def wn_complete() -> None:
    launch("wn-complete", "wavenet_edge.runtime.cli", "complete_command")


def wn_dask() -> None:
    launch("wn-dask", "wavenet_edge.runtime.cluster.cli", "main")
