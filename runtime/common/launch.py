"""Console-script entry points that import their command lazily (standard library only).

    def wn_train() -> None:            # in wavenet_edge/train/entry_points.py, named in pyproject.toml
        launch("wn-train", "wavenet_edge.train.cli", needs=TRAIN_EXTRA_MODULES)

A command's module can take seconds to import (torch). Until it is imported and running under the
command factory (commands.py), `launch` keeps the promises itself: Ctrl-C ends the process with
"Aborted." and status 130, not a KeyboardInterrupt traceback; a missing `train` extra is one line naming
the pip command, even for --help.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Iterable

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "TRAIN_EXTRA", "TRAIN_EXTRA_MODULES", "launch",
           "lazy_attributes", "missing_extra_message"]

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
TRAIN_EXTRA = "pip install 'wavenet-edge[train]'"
TRAIN_EXTRA_MODULES = ("torch", "onnx", "onnxscript", "tqdm", "matplotlib")  # what the train extra installs


def missing_extra_message(modules: Iterable[str], command: str | None = None) -> str:
    """The one line for a command whose `train` extra is not installed."""
    who = command or "this command"
    return f"Error: {who} needs the train extra ({', '.join(modules)} not installed): {TRAIN_EXTRA}"


def _err(line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, (line + "\n").encode())


def _abort_now(signum, frame) -> None:
    _err("\nAborted.")
    os._exit(EXIT_INTERRUPTED)


def launch(command: str, module: str, attr: str = "main", needs: Iterable[str] = ()) -> None:
    """Import `module`.`attr` (a command built with commands.command) and run it; see the module docstring."""
    previous = signal.getsignal(signal.SIGINT)
    guarded = previous is signal.default_int_handler  # an ignored SIGINT (nohup, cron) stays ignored
    if guarded:
        signal.signal(signal.SIGINT, _abort_now)
    try:
        missing = [name for name in needs if importlib.util.find_spec(name) is None]
        if missing:
            _err(missing_extra_message(missing, command))
            sys.exit(EXIT_FAILURE)
        try:
            main = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as err:
            top = (err.name or "").split(".")[0]
            if top not in TRAIN_EXTRA_MODULES:
                raise
            _err(missing_extra_message([top], command))
            sys.exit(EXIT_FAILURE)
    finally:
        if guarded:
            signal.signal(signal.SIGINT, previous)
    main()


def lazy_attributes(package: str, table: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """A module-level `__getattr__` for `package` that imports each name of `table` (name -> relative module)
    on first use and caches it in `namespace` (the package's globals()): heavy parts (onnxruntime, torch)
    load only when asked for.

        __getattr__ = lazy_attributes(__name__, {"WavenetModel": ".model"}, globals())
    """

    def __getattr__(name: str) -> object:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(table[name], package), name)
        namespace[name] = value
        return value

    return __getattr__

