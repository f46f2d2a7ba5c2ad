"""Reading inputs and writing outputs safely.

    data = read_bytes(path, DataError, "a text file")               # one domain error for any bad input path
    check_output_path(out, "--out", inputs={"--data": data_path})  # before any work starts
    with atomic_path(out) as tmp:                                    # write tmp; it replaces `out` on success
        tmp.write_bytes(payload)

Inputs: `read_bytes` turns a missing, unreadable, non-regular or directory path into one domain error.

Outputs: `check_output_path` refuses, before any work, a path that is not a regular file (a directory, a
device such as /dev/null, a FIFO, a socket, a symbolic link), that is one of the command's inputs (the
same file also through a hard or symbolic link), or whose directory is missing or not writable.
`atomic_path` writes a temporary file beside the target, flushes it to disk and renames it over the
target, so a failure or a kill never leaves a half-written file over a good one. A write that fails
(disk full, read-only file system, I/O error) is a WriteError naming the output.

Temporary files are named `.NAME.PID.tmp` after the output and the writing process: at most one per
live process and output, and a later write of the same output removes those of processes that are gone
(kill -9 cannot make them pile up).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import OutputError, WavenetEdgeError, WriteError

__all__ = ["atomic_path", "check_output_path", "read_bytes", "temp_path"]

TEMP_SUFFIX = ".tmp"
# errors of a write that failed because of where it went, not because of a bug: reported in one line
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM,
                 errno.ENOMEM, errno.ETXTBSY}


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _same_file(output: Path, source: Path) -> bool:
    """Whether writing `output` would write `source`: the same inode (hard links, symbolic links to it) or
    the same resolved path."""
    with contextlib.suppress(OSError):
        out, src = os.stat(output), os.stat(source)
        if (out.st_dev, out.st_ino) == (src.st_dev, src.st_ino):
            return True
    return os.path.realpath(output) == os.path.realpath(source)


def temp_path(path: str | Path) -> Path:
    """The temporary file this process writes `path` through: `.NAME.PID.tmp` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it belongs to someone else
        return True
    return True


def _remove_stale_temps(path: Path) -> None:
    """Remove `.NAME.PID.tmp` files of `path` left by processes that no longer run (killed mid-write)."""
    prefix = f".{path.name}."
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
                continue
            pid = entry.name[len(prefix):-len(TEMP_SUFFIX)]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _create_temp(path: Path) -> Path:
    """Create this process's empty temporary file for `path` (mode 0666 less the umask)."""
    tmp = temp_path(path)
    for _ in range(2):
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # left by an earlier process that had this PID
            os.unlink(tmp)
    raise FileExistsError(errno.EEXIST, "temporary file keeps reappearing", str(tmp))


def check_output_path(path: str | Path, option: str = "output",
                      inputs: Mapping[str, str | Path | None] | None = None) -> Path:
    """Refuse an output path that cannot be written safely; return it as a Path.

    option: how the command names it ("--out", "output"). inputs: label -> path of what the command reads
    ("--data": data.txt); None values are skipped. Raises OutputError (exit status 2) for a missing or
    unwritable directory, a path that exists and is not a regular file (symbolic links included), or an
    output that is one of the inputs. Stale temporary files of the output are removed on the way.
    """
    path = Path(path)
    where = f"{option} {path}"
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"{where}: directory {parent} does not exist")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise OutputError(f"{where}: {err.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{where}: is {_kind(mode)}; an output must be a regular file or not exist yet")
    for label, source in (inputs or {}).items():
        if source is not None and _same_file(path, Path(source)):
            raise OutputError(f"{where}: is the same file as the input {label} {source}; an output never "
                              "replaces an input")
    _remove_stale_temps(path)
    try:
        tmp = _create_temp(path)
    except OSError as err:
        raise OutputError(f"{where}: cannot write in {parent}: {err.strerror}") from None
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return path


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success it is flushed to disk and replaces
    `path` atomically. WriteError (exit status 1) when the write fails for lack of space, permission or a
    device error; the temporary file is removed in every case."""
    path = Path(path)
    _remove_stale_temps(path)
    try:
        tmp = _create_temp(path)
    except OSError as err:
        raise WriteError(f"{path}: cannot write: {err.strerror}") from None
    try:
        yield tmp
        _fsync(tmp)  # a full disk can show only here (delayed allocation): find out before the rename
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            _fsync(path.parent, directory=True)
    except OSError as err:
        if err.errno not in _WRITE_ERRNOS:
            raise
        raise WriteError(f"{path}: cannot write: {err.strerror} (nothing was replaced)") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_bytes(path: Path, error: type[WavenetEdgeError], kind: str, limit: int | None = None) -> bytes:
    """The bytes of `path` (its first `limit` bytes, if given), or `error` in one line (missing, a directory,
    a device or pipe, unreadable); `kind` names what was expected, e.g. "a text file"."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):
            raise error(f"{path}: is {_kind(mode)}, not {kind}")
        if limit is None:
            return path.read_bytes()
        with path.open("rb") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not {kind}") from None
    except OSError as err:
        raise error(f"{path}: cannot read: {err.strerror}") from None
