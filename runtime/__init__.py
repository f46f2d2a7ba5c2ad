"""wavenet_edge.runtime: run exported WaveNet models with ONNX Runtime alone (no torch)."""

from .config import ARCHITECTURES, ModelConfig
from .errors import ConfigError, DataError, ModelFileError, VocabError, WavenetEdgeError
from .vocab import BOUNDARY_ID, Vocab

__all__ = [
    "ARCHITECTURES", "BOUNDARY_ID", "ConfigError", "DataError", "ModelConfig", "ModelFileError",
    "Vocab", "VocabError", "WavenetEdgeError",
]
