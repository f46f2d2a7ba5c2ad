"""Fixtures shared by the test files, and the torch-free run.

`pip install . pytest` (no train extra) runs every test module that needs neither torch nor onnx: the runtime
tests, on the committed fixtures. A module that imports torch, onnx, onnxscript, wavenet_edge.train or
wavenet_edge.export (directly or through a helper module in tests/) is skipped there with a one-line reason,
and so is a test marked `@pytest.mark.needs_train_extra` (one that runs wn-train, wn-data or wn-export).
"""

from __future__ import annotations

import ast
import importlib.util
import signal
from functools import cache
from pathlib import Path

import pytest

from wavenet_edge.runtime.common.launch import TRAIN_EXTRA_MODULES  # what the train extra installs

TESTS_DIR = Path(__file__).resolve().parent
NEEDS_TRAIN_EXTRA = (*TRAIN_EXTRA_MODULES, "wavenet_edge.train", "wavenet_edge.export")


@cache
def missing_train_extra() -> tuple[str, ...]:
    return tuple(name for name in TRAIN_EXTRA_MODULES if importlib.util.find_spec(name) is None)


@cache
def train_extra_import(path: Path, seen: frozenset[Path] = frozenset()) -> str | None:
    """The first module-level import in `path` that needs the train extra (followed into tests/ helpers)."""
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if any(name == extra or name.startswith(extra + ".") for extra in NEEDS_TRAIN_EXTRA):
                return name
            helper = TESTS_DIR / f"{name.split('.')[0]}.py"
            if helper.is_file() and helper not in seen | {path} and (via := train_extra_import(helper, seen | {path})):
                return f"{name} -> {via}"
    return None


class NeedsTrainExtra(pytest.Module):
    """A test module that cannot be imported here: skipped as a whole, with the reason."""

    def collect(self):
        missing = ", ".join(missing_train_extra())
        pytest.skip(f"{self.path.name} needs the train extra ({missing} not installed; it imports "
                    f"{train_extra_import(self.path)}): pip install -e '.[dev]'")


def pytest_pycollect_makemodule(module_path: Path, parent):
    if missing_train_extra() and train_extra_import(module_path):
        return NeedsTrainExtra.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(config, items):
    missing = ", ".join(missing_train_extra())
    if missing:
        skip = pytest.mark.skip(reason=f"needs the train extra ({missing} not installed): pip install -e '.[dev]'")
        for item in items:
            if item.get_closest_marker("needs_train_extra"):
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's own Ctrl-C handler for every test, as in a terminal. A shell that starts the suite in the
    background (`nohup ... &` without job control) leaves SIGINT ignored, Python then keeps it ignored, and
    the tests of what a Ctrl-C does (and of the handler put back after it) would see nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny torch models run fastest on one thread (and do not fight a busy machine's other jobs)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def many_workers(monkeypatch):
    """Let the tests' tiny requests use every worker process, in several blocks (several rounds of blocks for
    each worker): the thresholds of runtime/workers.py and the block sizes of runtime/process_pool.py lowered."""
    from wavenet_edge.runtime import process_pool, workers

    monkeypatch.setattr(workers, "START_NAMES", 1)
    monkeypatch.setattr(workers, "MIN_NAMES_PER_WORKER", 1)
    monkeypatch.setattr(workers, "MIN_ROWS_PER_WORKER", 1)
    monkeypatch.setattr(process_pool, "MIN_BLOCK", 5)
    monkeypatch.setattr(process_pool, "BLOCK_BATCHES", 1)


@pytest.fixture
def data_file(tmp_path):
    """tmp_path/data/items.txt: 500 syllable names (test_train.make_items), for the training tests (val has 50:
    no tiny-data warning)."""
    from test_train import make_items  # torch tests only: imported when a test asks for this fixture

    path = tmp_path / "data" / "items.txt"
    path.parent.mkdir()
    path.write_text("\n".join(make_items(500)) + "\n")
    return path

