"""The command factory every wn-* command is built with: one behaviour for help, errors, exit codes,
Ctrl-C and closed pipes.

    from wavenet_edge.runtime.common.commands import command

    @command()                      # or command(show_default=True): extra click context settings
    @click.option(...)
    def main(...): ...

What every command built this way does:
    -h and --help        print the help
    bad input            one line "Error: ..." on stderr, exit status 2 (WavenetEdgeError, click's usage errors)
    a failed write       one line, exit status 1 (WriteError; stdout on a full disk or a device error)
    a missing extra      one line naming pip install 'wavenet-edge[train]', exit status 1
    Ctrl-C               "Aborted." on stderr, exit status 130
    a closed pipe        (wn-info | true, wn-generate | head) a normal end: exit status 0, nothing on stderr
Neither prints a traceback or a usage block. Library code raises domain errors; only this layer words them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator

import click

from .errors import WavenetEdgeError, first_line
from .launch import EXIT_FAILURE, EXIT_INTERRUPTED, TRAIN_EXTRA_MODULES, missing_extra_message

__all__ = ["BATCH_SIZE", "CONTEXT_SETTINGS", "EXIT_BAD_INPUT", "EXIT_FAILURE", "EXIT_INTERRUPTED", "MAX_BATCH_SIZE",
           "MAX_THREADS", "OneLineCommand", "SEED", "THREADS", "command", "run_guarded", "usable_threads"]

EXIT_BAD_INPUT = 2
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Option ranges shared by the commands; click refuses a value outside them in one line that names the range.
MAX_SEED = 2**63 - 1  # what torch.manual_seed and numpy take
MAX_THREADS = 256  # the runtime's own limit too (worker threads)
MAX_BATCH_SIZE = 65_536
SEED = click.IntRange(0, MAX_SEED)
THREADS = click.IntRange(1, MAX_THREADS)
BATCH_SIZE = click.IntRange(1, MAX_BATCH_SIZE)


def usable_threads(threads: int | None, option: str = "--threads") -> int | None:
    """`threads` capped at the CPUs this process may run on (more only make threads wait for each other),
    with a note on stderr when it is capped. None stays None (the library's own choice)."""
    if threads is None:
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if threads <= cpus:
        return threads
    click.echo(f"note: {option} {threads} is more than the {cpus} CPUs available here; using {cpus}", err=True)
    return cpus


class _ReaderGone(Exception):
    """stdout or stderr is a pipe whose reader has gone (not an OSError, so that click lets it through)."""


@contextlib.contextmanager
def _pipes_watched() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise _ReaderGone from None


def _silence(*fds: int) -> None:
    """Point `fds` at /dev/null, so that the interpreter's last flush of a dead stream cannot complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in fds:
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)


def _say(message: str) -> None:
    """One line on stderr; a dead stderr is not worth a second error."""
    try:
        click.echo(message, err=True)
    except OSError:
        _silence(2)


def _plug_closed_fds() -> bool:
    """Open /dev/null on stdin/stdout/stderr where they are closed (so that no file the command opens
    becomes fd 1 or 2); return whether stdout was closed."""
    closed_stdout = False
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            if fd == 1:
                closed_stdout = True
            with contextlib.suppress(OSError):
                opened = os.open(os.devnull, os.O_RDWR)
                if opened != fd:  # a lower fd was free too: it is plugged in its own turn
                    os.dup2(opened, fd)
                    os.close(opened)
    return closed_stdout


def run_guarded(call: Callable[[], object]) -> int:
    """Run a command body and turn every way it can end into an exit status, printing at most one line."""
    if _plug_closed_fds() or sys.stdout is None:
        _say("Error: standard output is closed: nothing could be written")
        return EXIT_FAILURE
    try:
        result = call()
    except _ReaderGone:
        _silence(1, 2)
        return 0
    except (click.exceptions.Abort, KeyboardInterrupt):
        _say("Aborted.")
        return EXIT_INTERRUPTED
    except click.ClickException as err:
        _say(f"Error: {err.format_message()}")
        return EXIT_BAD_INPUT
    except WavenetEdgeError as err:
        _say(f"Error: {err}")
        return err.exit_code
    except ModuleNotFoundError as err:
        module = (err.name or "").split(".")[0]
        if module not in TRAIN_EXTRA_MODULES:
            raise
        _say(missing_extra_message([module]))
        return EXIT_FAILURE
    except OSError as err:
        if err.errno == errno.EPIPE:
            _silence(1, 2)
            return 0
        if err.filename is None:  # files are read and written through files.py, which names them: a stream
            _silence(1)
            _say(f"Error: cannot write to standard output: {err.strerror or first_line(err)}")
        else:
            _say(f"Error: {err.filename}: {err.strerror or first_line(err)}")
        return EXIT_FAILURE
    try:
        sys.stdout.flush()  # what is still buffered must reach its reader before the status says success
    except BrokenPipeError:
        _silence(1, 2)
        return 0
    except OSError as err:
        _silence(1)
        _say(f"Error: cannot write to standard output: {err.strerror}")
        return EXIT_FAILURE
    return result if isinstance(result, int) else 0


class OneLineCommand(click.Command):
    """A click command whose errors are one line with an exit status, never a traceback (see the module)."""

    def make_context(self, *args, **kwargs):
        with _pipes_watched():  # --help into a closed pipe
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _pipes_watched():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        sys.exit(run_guarded(lambda: super(OneLineCommand, self).main(
            args, prog_name, complete_var, standalone_mode=False, **extra)))


def command(name: str | None = None, *, help: str | None = None, **context_settings) -> Callable:
    """`click.command` with the shared class and context settings (-h/--help, width); keyword arguments
    are further context settings, e.g. show_default=True."""
    settings = {**CONTEXT_SETTINGS, **context_settings}
    return click.command(name, cls=OneLineCommand, context_settings=settings, help=help)
