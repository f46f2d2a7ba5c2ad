"""Known data sets: fetched once over HTTP(S) with the standard library, SHA-256 checked, cached.

    path = fetch_dataset("names")          # data/names.txt, downloaded unless a verified copy is there
    path = resolve_data("names")           # a known name -> fetched file; anything else -> Path(spec)

The data directory is `data_dir` when given, else $WAVENET_EDGE_DATA_DIR, else ./data. A file only
lands there after its hash matched (it is downloaded to a temporary file beside it, then renamed), so a
failed or corrupt download never leaves anything behind and never replaces a file already there.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from wavenet_edge.runtime.common.dataset import file_sha256
from wavenet_edge.runtime.common.errors import DataError
from wavenet_edge.runtime.common.files import atomic_path, check_output_path

__all__ = ["DATA_DIR_ENV", "DEFAULT_DATA_DIR", "KNOWN_DATASETS", "Dataset", "default_data_dir", "fetch_dataset",
           "resolve_data"]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "WAVENET_EDGE_DATA_DIR"
DEFAULT_DATA_DIR = "data"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Dataset:
    """A data set that can be fetched by name: where it comes from and the SHA-256 of its bytes."""

    url: str
    sha256: str
    filename: str
    description: str = ""


KNOWN_DATASETS: dict[str, Dataset] = {
    "names": Dataset(
        url="https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
        sha256="0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
        filename="names.txt",
        description="makemore's 32,033 lowercase US baby names (SSA 2018), one per line",
    ),
}


def default_data_dir() -> Path:
    """$WAVENET_EDGE_DATA_DIR if set and not empty, else ./data."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def fetch_dataset(name: str, data_dir: str | Path | None = None, url: str | None = None,
                  timeout: float = 30.0) -> Path:
    """Path of the known data set `name` in `data_dir`, downloaded first unless a copy with the right
    SHA-256 is already there (then no request is made).

    `url` replaces the data set's source (a mirror, a test server); the expected hash stays the same.
    A cached copy with a wrong hash is downloaded again; it is replaced only by a verified download.
    Raises DataError (one line) for an unknown name, an HTTP error, a connection failure or a timeout,
    or a download whose hash does not match; nothing is written in those cases.
    """
    dataset = KNOWN_DATASETS.get(name)
    if dataset is None:
        raise DataError(f"unknown dataset {name!r} (known: {', '.join(sorted(KNOWN_DATASETS))})")
    data_dir = default_data_dir() if data_dir is None else Path(data_dir)
    source = url or dataset.url
    target = data_dir / dataset.filename
    created = [d for d in (data_dir, *data_dir.parents) if not d.exists()]  # removed again if the fetch fails
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"{data_dir}: cannot create the data directory: {_reason(err)}") from None
    try:
        return _fetch_into(dataset, source, target, timeout)
    except BaseException:
        for directory in created:  # innermost first; only what this call made, and only if still empty
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise


def _fetch_into(dataset: Dataset, source: str, target: Path, timeout: float) -> Path:
    """fetch_dataset's work once the data directory exists."""
    if target.exists():
        if not target.is_file():
            raise DataError(f"{target}: exists and is not a file")
        cached = file_sha256(target)
        if cached == dataset.sha256:
            log.info("%s: using the cached copy (SHA-256 verified)", target)
            return target
        log.warning("%s: SHA-256 %s does not match the expected %s; downloading it again",
                    target, cached, dataset.sha256)
    check_output_path(target, "data set file")  # a regular file or nothing, in a writable directory
    log.info("downloading %s to %s", source, target)
    with atomic_path(target) as tmp:
        actual = _download(source, tmp, timeout)
        if actual != dataset.sha256:
            raise DataError(
                f"{source}: SHA-256 mismatch: expected {dataset.sha256}, got {actual} "
                f"(corrupt download or changed source; nothing was saved)"
            )
    return target


def resolve_data(spec: str | Path, data_dir: str | Path | None = None) -> Path:
    """The data file that `spec` names: a known data set name (fetched into `data_dir` if needed) unless a
    file of that name exists, else `Path(spec)` as given (read_items checks that it is usable)."""
    if isinstance(spec, str) and spec in KNOWN_DATASETS and not Path(spec).exists():
        return fetch_dataset(spec, data_dir)
    return Path(spec)


def _download(url: str, dest: Path, timeout: float) -> str:
    """Write the body at `url` into `dest`; return its hex SHA-256. Failures become one-line DataErrors."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as err:
        raise DataError(f"cannot download {url}: HTTP {err.code} {_one_line(err.reason)}") from None
    except urllib.error.URLError as err:
        raise DataError(f"cannot download {url}: {_reason(err.reason)}") from None
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise DataError(f"cannot download {url}: {_reason(err)}") from None
    return digest.hexdigest()


def _reason(err: object) -> str:
    """A short, one-line reason: the OS message of an OSError, else the exception's text or class name."""
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return _one_line(text)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())
