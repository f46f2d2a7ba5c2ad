"""Console scripts of training: wn-train, wn-data. wn-train imports torch only once it runs under
launch(), so a missing `train` extra is one line, even for --help (runtime/common/launch.py)."""

from wavenet_edge.runtime.common.launch import TRAIN_EXTRA_MODULES, launch

__all__ = ["wn_data", "wn_train"]


def wn_train() -> None:
    launch("wn-train", "wavenet_edge.train.cli", needs=TRAIN_EXTRA_MODULES)


def wn_data() -> None:
    launch("wn-data", "wavenet_edge.train.data_cli")
