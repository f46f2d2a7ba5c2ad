"""Domain errors of wavenet-edge. Library code raises these; only the CLI layers turn them into one line."""

from pathlib import Path

__all__ = ["WavenetEdgeError", "ConfigError", "VocabError", "DataError", "ModelFileError", "read_bytes"]


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


def read_bytes(path: Path, error: type[WavenetEdgeError], kind: str) -> bytes:
    """The bytes of `path`, or `error` in one line (missing, a directory, unreadable); `kind` names
    what was expected, e.g. "a text file"."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not {kind}") from None
    except OSError as err:
        raise error(f"{path}: cannot read: {err.strerror}") from None
