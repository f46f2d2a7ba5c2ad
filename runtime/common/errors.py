"""Domain errors of wavenet-edge. Library code raises these; only the CLI layers turn them into one line."""

__all__ = ["WavenetEdgeError", "ConfigError", "VocabError", "DataError", "ModelFileError"]


class WavenetEdgeError(Exception):
    """Base class: a problem with the user's input that deserves one clear line, not a traceback."""


class ConfigError(WavenetEdgeError):
    """A model or training setting that makes no sense."""


class VocabError(WavenetEdgeError):
    """Text that the vocabulary cannot encode, or a malformed vocabulary."""


class DataError(WavenetEdgeError):
    """A data file that cannot be used (missing, empty, binary, bad line...)."""


class ModelFileError(WavenetEdgeError):
    """A checkpoint or .onnx file that is missing, damaged, foreign or of an unsupported format."""
