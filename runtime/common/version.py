"""The installed version of wavenet-edge, as recorded in every exported file and shown by wn-info.

    package_version()      # "0.1.0", or "unknown" when run from a checkout that is not installed
"""

from __future__ import annotations

__all__ = ["PACKAGE_NAME", "package_version"]

PACKAGE_NAME = "wavenet-edge"


def package_version() -> str:
    """Version of the installed wavenet-edge distribution ("unknown" when it is not installed)."""
    import importlib.metadata  # here, not at the top: it costs wn-generate's start-up about 15 ms

    try:
        return importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
