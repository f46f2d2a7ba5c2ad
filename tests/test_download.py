"""The real download code (urllib) against a local HTTP server that serves a names.txt the test writes.

The known data set "names" is pointed at the local server, with the SHA-256 of the served file; the real
entry (URL, file name, hash of makemore's names.txt) is checked on its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from tiny_data import names_like

from wavenet_edge.runtime.common.dataset import file_sha256, read_items
from wavenet_edge.runtime.common.errors import DataError
from wavenet_edge.train import download
from wavenet_edge.train.data_cli import main as data_main
from wavenet_edge.train.download import DATA_DIR_ENV, KNOWN_DATASETS, fetch_dataset, resolve_data

MAKEMORE_NAMES_SHA = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"  # names.txt, 32,033 names
NAMES_COUNT = 300
NAMES_BODY = ("\n".join(names_like(NAMES_COUNT)) + "\n").encode()  # what the local server serves
NAMES_SHA = hashlib.sha256(NAMES_BODY).hexdigest()


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server on 127.0.0.1 that serves `state.body` with `state.status` and counts requests."""
    for var in ("no_proxy", "NO_PROXY"):  # a proxy from the environment must not intercept 127.0.0.1
        monkeypatch.setenv(var, "*")
    state = SimpleNamespace(body=NAMES_BODY, status=200, requests=[], release=None)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state.requests.append(self.path)
            if state.release is not None:  # hold the response back until the test lets it go
                state.release.wait(5)
            if state.status != 200:
                self.send_error(state.status)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_port}/names.txt"
    # The known data set, pointed at the local server and the served file's hash (the file name stays the real one).
    monkeypatch.setitem(KNOWN_DATASETS, "names",
                        dataclasses.replace(KNOWN_DATASETS["names"], url=state.url, sha256=NAMES_SHA))
    yield state
    if state.release is not None:
        state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_known_dataset_is_makemores_names():
    names = KNOWN_DATASETS["names"]
    assert names.url == "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
    assert names.filename == "names.txt"
    assert names.sha256 == MAKEMORE_NAMES_SHA


def test_fetch_downloads_verifies_and_creates_the_data_dir(server, tmp_path):
    data_dir = tmp_path / "a" / "b"
    path = fetch_dataset("names", data_dir)
    assert path == data_dir / "names.txt"
    assert server.requests == ["/names.txt"]
    assert file_sha256(path) == NAMES_SHA
    assert path.read_bytes() == NAMES_BODY
    assert len(read_items(path)) == NAMES_COUNT
    assert sorted(p.name for p in data_dir.iterdir()) == ["names.txt"]  # no temporary file left


def test_verified_cached_copy_is_reused_without_a_request(server, tmp_path):
    first = fetch_dataset("names", tmp_path)
    mtime = first.stat().st_mtime_ns
    second = fetch_dataset("names", tmp_path)
    assert second == first
    assert server.requests == ["/names.txt"]  # one request in all
    assert second.stat().st_mtime_ns == mtime


def test_url_overrides_the_source(server, tmp_path, monkeypatch):
    monkeypatch.setitem(KNOWN_DATASETS, "names",
                        dataclasses.replace(KNOWN_DATASETS["names"], url="http://127.0.0.1:9/nowhere"))
    mirror = server.url.replace("/names.txt", "/mirror/names.txt")
    path = fetch_dataset("names", tmp_path, url=mirror)
    assert server.requests == ["/mirror/names.txt"]
    assert file_sha256(path) == NAMES_SHA


def test_wrong_hash_is_refused_and_nothing_is_left(server, tmp_path):
    server.body = NAMES_BODY + b"zzz\n"
    actual = hashlib.sha256(server.body).hexdigest()
    with pytest.raises(DataError) as info:
        fetch_dataset("names", tmp_path)
    assert str(info.value) == (
        f"{server.url}: SHA-256 mismatch: expected {NAMES_SHA}, got {actual} "
        f"(corrupt download or changed source; nothing was saved)"
    )
    assert list(tmp_path.iterdir()) == []


def test_wrong_expected_hash_is_refused(server, tmp_path, monkeypatch):
    expected = "0" * 64
    monkeypatch.setitem(KNOWN_DATASETS, "names", dataclasses.replace(KNOWN_DATASETS["names"], sha256=expected))
    with pytest.raises(DataError) as info:
        fetch_dataset("names", tmp_path)
    assert str(info.value).startswith(f"{server.url}: SHA-256 mismatch: expected {expected}, got {NAMES_SHA} ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status, reason", [(500, "Internal Server Error"), (404, "Not Found")])
def test_http_error_is_one_line_and_leaves_nothing(server, tmp_path, status, reason):
    server.status = status
    with pytest.raises(DataError) as info:
        fetch_dataset("names", tmp_path)
    assert str(info.value) == f"cannot download {server.url}: HTTP {status} {reason}"
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_one_line_and_leaves_nothing(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/names.txt"
    with pytest.raises(DataError) as info:
        fetch_dataset("names", tmp_path, url=url)
    assert str(info.value) == f"cannot download {url}: Connection refused"
    assert list(tmp_path.iterdir()) == []


def test_timeout_is_one_line_and_leaves_nothing(server, tmp_path):
    server.release = threading.Event()
    with pytest.raises(DataError) as info:
        fetch_dataset("names", tmp_path, timeout=0.2)
    assert str(info.value) == f"cannot download {server.url}: timed out"
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cached_copy_is_downloaded_again(server, tmp_path):
    cached = tmp_path / "names.txt"
    cached.write_text("emma\nolivia\n")
    path = fetch_dataset("names", tmp_path)
    assert path == cached
    assert server.requests == ["/names.txt"]
    assert file_sha256(path) == NAMES_SHA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.txt"]


def test_corrupt_cached_copy_is_not_used_when_the_download_fails(server, tmp_path):
    cached = tmp_path / "names.txt"
    cached.write_text("emma\nolivia\n")
    server.status = 500
    with pytest.raises(DataError, match="^cannot download .*: HTTP 500 Internal Server Error$"):
        fetch_dataset("names", tmp_path)
    assert cached.read_text() == "emma\nolivia\n"  # only a verified download replaces a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["names.txt"]


def test_unknown_dataset_and_unusable_data_dir(tmp_path):
    with pytest.raises(DataError) as info:
        fetch_dataset("shakespeare", tmp_path)
    assert str(info.value) == "unknown dataset 'shakespeare' (known: names)"
    (tmp_path / "names.txt").mkdir()
    with pytest.raises(DataError) as info:
        fetch_dataset("names", tmp_path)
    assert str(info.value) == f"{tmp_path / 'names.txt'}: exists and is not a file"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError) as info:
        fetch_dataset("names", blocker / "sub")
    assert str(info.value) == f"{blocker / 'sub'}: cannot create the data directory: Not a directory"


def test_resolve_data(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env-data"))
    # A path is returned as given, with no request (read_items validates it later).
    assert resolve_data("some/file.txt") == Path("some/file.txt")
    assert server.requests == []
    # A known name is fetched into $WAVENET_EDGE_DATA_DIR...
    assert resolve_data("names") == tmp_path / "env-data" / "names.txt"
    assert server.requests == ["/names.txt"]
    # ... or into the data_dir given, which wins over the environment.
    assert resolve_data("names", tmp_path / "given") == tmp_path / "given" / "names.txt"
    assert len(server.requests) == 2
    # A file that happens to carry the name of a known data set wins over the data set.
    Path("names").write_text("alice\n")
    assert resolve_data("names") == Path("names")
    assert len(server.requests) == 2


def test_default_data_dir(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert download.default_data_dir() == Path("data")
    monkeypatch.setenv(DATA_DIR_ENV, "")
    assert download.default_data_dir() == Path("data")
    monkeypatch.setenv(DATA_DIR_ENV, "/srv/wn")
    assert download.default_data_dir() == Path("/srv/wn")


def test_cli_fetches_and_reports(server, tmp_path):
    result = CliRunner().invoke(data_main, ["names", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'names.txt'}: {NAMES_COUNT} items, sha256 {NAMES_SHA}\n"
    result = CliRunner().invoke(data_main, ["names", "--data-dir", str(tmp_path), "--url", "http://127.0.0.1:9/x"])
    assert result.exit_code == 0  # the verified copy is reused: the (dead) URL is never asked
    assert server.requests == ["/names.txt"]


def test_cli_failure_is_one_line_exit_2(server, tmp_path):
    server.status = 500
    result = CliRunner().invoke(data_main, ["names", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: cannot download {server.url}: HTTP 500 Internal Server Error\n"
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(data_main, ["nope", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == "Error: unknown dataset 'nope' (known: names)\n"
