"""Tell a Ctrl-C from a failure inside code that catches every Exception.

    with watch_interrupts() as watch:
        try:
            third_party_call()           # may wrap the KeyboardInterrupt in its own error (torch.export does)
        except Exception as err:
            reraise_if_interrupted(watch, err)
            raise MyError(...) from None

Inside the block, Ctrl-C still raises KeyboardInterrupt where it lands, and also leaves a mark.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["InterruptWatch", "reraise_if_interrupted", "watch_interrupts"]


@dataclass
class InterruptWatch:
    interrupted: bool = False


@contextlib.contextmanager
def watch_interrupts() -> Iterator[InterruptWatch]:
    """Mark Ctrl-C (SIGINT) during the block; the previous handler still runs. Only in the main thread."""
    watch = InterruptWatch()
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):  # not the main thread, or SIGINT ignored / default: nothing to chain
        yield watch
        return

    def mark(signum, frame):
        watch.interrupted = True
        previous(signum, frame)

    signal.signal(signal.SIGINT, mark)
    try:
        yield watch
    finally:
        signal.signal(signal.SIGINT, previous)


def reraise_if_interrupted(watch: InterruptWatch, err: BaseException) -> None:
    """Raise KeyboardInterrupt if Ctrl-C came during the watch or `err` wraps one (its cause or context)."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            watch.interrupted = True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if watch.interrupted:
        raise KeyboardInterrupt from None
