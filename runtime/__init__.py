"""wavenet_edge.runtime: run exported WaveNet models with ONNX Runtime alone (no torch).

    from wavenet_edge.runtime import WavenetModel
    model = WavenetModel.load("wavenet.onnx")
    model.generate(5, seed=0)

The ONNX Runtime parts (WavenetModel, ScoreResult, SamplingParams, ProviderError, ...) are imported on first
use, so the pure-Python config, vocabulary and errors stay cheap to import for training code.
"""

from .common.errors import ConfigError, DataError, ModelFileError, VocabError, WavenetEdgeError
from .common.launch import lazy_attributes
from .config import ARCHITECTURES, ModelConfig
from .vocab import BOUNDARY_ID, Vocab

_LAZY = {
    "WavenetModel": ".model", "shipped_model_path": ".model", "ScoreResult": ".scoring",
    "SamplingParams": ".sampling", "GenerationRequest": ".generation", "ProviderError": ".providers",
    "available_providers": ".providers", "resolve_providers": ".providers", "WorkerError": ".process_pool",
    "Completion": ".complete", "CompletionError": ".complete", "ConstraintError": ".constraints",
}

__all__ = [
    "ARCHITECTURES", "BOUNDARY_ID", "Completion", "CompletionError", "ConfigError", "ConstraintError", "DataError",
    "GenerationRequest", "ModelConfig",
    "ModelFileError", "ProviderError", "SamplingParams", "ScoreResult", "Vocab", "VocabError", "WavenetEdgeError",
    "WavenetModel", "WorkerError", "available_providers", "resolve_providers", "shipped_model_path",
]

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
