"""Domain errors of wavenet-edge. Library code raises these; only the CLI layers turn them into one line.

    raise DataError(f"{path}:{line}: not valid UTF-8")       # a command prints "Error: ..." and exits 2
    first_line(err)                                        # a foreign exception's message, in one line

Each error carries the exit status a command ends with: 2 for bad input (the default), 1 for a write
that failed through no fault of the input (a full disk, an I/O error).
"""

__all__ = ["ConfigError", "DataError", "ModelFileError", "OutputError", "VocabError", "WavenetEdgeError",
           "WriteError", "first_line"]


class WavenetEdgeError(Exception):
    """Base class: a problem with the user's input that deserves one clear line, not a traceback."""

    exit_code = 2


class ConfigError(WavenetEdgeError):
    """A model or training setting that makes no sense."""


class VocabError(WavenetEdgeError):
    """Text that the vocabulary cannot encode, or a malformed vocabulary."""


class DataError(WavenetEdgeError):
    """A data file that cannot be used (missing, empty, binary, bad line...)."""


class ModelFileError(WavenetEdgeError):
    """A checkpoint or .onnx file that is missing, damaged, foreign or of an unsupported format."""


class OutputError(WavenetEdgeError):
    """An output path that must not be written: not a regular file, one of the inputs, or not writable."""


class WriteError(WavenetEdgeError):
    """Writing an output failed (disk full, read-only file system, I/O error); nothing good was replaced."""

    exit_code = 1


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its class name when the message is empty."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
