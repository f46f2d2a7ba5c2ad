"""Reading inputs and writing outputs safely.

Inputs: `read_bytes` turns a missing, unreadable or directory path into one domain error.
Outputs: atomic writes, a temporary file beside the target, then os.replace. A failure or a kill never
leaves a half-written file over a good one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import WavenetEdgeError

__all__ = ["atomic_path", "check_output_path", "read_bytes"]


def check_output_path(path: str | Path, option: str = "output") -> Path:
    """Refuse an output path whose directory does not exist, or that is a directory."""
    path = Path(path)
    if not path.parent.is_dir():
        raise WavenetEdgeError(f"{option} {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise WavenetEdgeError(f"{option} {path}: is a directory")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success it replaces `path` atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result gets a normal file's permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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
