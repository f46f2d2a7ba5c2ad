"""Silence third-party chatter (warnings and log lines) around a call whose output we report ourselves."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

__all__ = ["quiet"]


@contextlib.contextmanager
def quiet(logger_name: str | None = None) -> Iterator[None]:
    """Warnings off and `logger_name` (None: the root logger) at ERROR for the duration."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
