"""What needs a real process: closed pipes, a full or closed stdout, Ctrl-C during start-up. Each command
runs through its console-script entry point (the thin launcher), as `wn-info ... | true` would."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from model_files import FIXTURES
from tiny_data import ITEMS

ENTRY = {
    "wn-info": ("wavenet_edge.runtime.entry_points", "wn_info"),
    "wn-eval": ("wavenet_edge.runtime.entry_points", "wn_eval"),
    "wn-generate": ("wavenet_edge.runtime.entry_points", "wn_generate"),
    "wn-train": ("wavenet_edge.train.entry_points", "wn_train"),
    "wn-data": ("wavenet_edge.train.entry_points", "wn_data"),
    "wn-export": ("wavenet_edge.export.entry_points", "wn_export"),
}


def command_line(name: str, *args) -> list[str]:
    module, func = ENTRY[name]
    return [sys.executable, "-c", f"from {module} import {func}; {func}()", *[str(a) for a in args]]


def default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a test runner started in the background ignores it


def run(argv: list[str], stdout, preexec=None) -> tuple[int, str]:
    proc = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, timeout=120, preexec_fn=preexec)
    return proc.returncode, proc.stderr.decode()


TRAIN_EXTRA = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="without the train extra, wn-train and wn-export say so instead")


@pytest.fixture(scope="module")
def models():
    return FIXTURES


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "names.txt"
    path.write_text("\n".join(ITEMS) + "\n")
    return path


def closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone (`| true` that has exited)."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize("args", [
    ["wn-info", "{step}"], ["wn-eval", "--onnx", "{step}", "--data", "{data}"], ["wn-info", "--help"],
    ["wn-data", "-h"], pytest.param(["wn-train", "--help"], marks=TRAIN_EXTRA),
    pytest.param(["wn-export", "-h"], marks=TRAIN_EXTRA)], ids=lambda a: " ".join(a))
def test_a_closed_pipe_is_a_normal_end(models, data, args):
    args = [a.format(step=models.step, data=data) for a in args]
    pipe = closed_pipe()
    try:
        code, stderr = run(command_line(*args), stdout=pipe)
    finally:
        os.close(pipe)
    assert (code, stderr) == (0, "")


@pytest.mark.parametrize("args", [["wn-info", "{step}"], ["wn-generate", "--onnx", "{step}", "-n", "20000"]],
                         ids=lambda a: a[0])
def test_a_full_disk_on_stdout_is_one_line(models, args):
    args = [a.format(step=models.step) for a in args]
    with open("/dev/full", "wb") as full:
        code, stderr = run(command_line(*args), stdout=full)
    assert (code, stderr) == (1, "Error: cannot write to standard output: No space left on device\n")


def test_a_closed_stdout_is_one_line(models):
    code, stderr = run(command_line("wn-generate", "--onnx", models.step, "-n", 3), stdout=None,
                       preexec=lambda: os.close(1))
    assert (code, stderr) == (1, "Error: standard output is closed: nothing could be written\n")


def test_ctrl_c_during_start_up_imports_is_130_without_a_traceback(tmp_path):
    """The launcher imports the command's module (torch: seconds); a Ctrl-C then is "Aborted.", status 130."""
    (tmp_path / "slow_command.py").write_text(
        "import sys, time\nprint('importing', flush=True)\ntime.sleep(60)\n")
    argv = [sys.executable, "-c", "from wavenet_edge.runtime.common.launch import launch; "
                                  "launch('wn-slow', 'slow_command')"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          preexec_fn=default_sigint) as proc:
        assert proc.stdout.readline() == b"importing\n"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        stderr = proc.stderr.read().decode()
    assert (code, stderr) == (130, "\nAborted.\n")


@pytest.mark.parametrize(("name", "args"), [("wn-train", ["--help"]), ("wn-export", ["-h"]),
                                            ("wn-export", ["m.pt", "m.onnx"])], ids=lambda a: str(a))
def test_without_the_train_extra_training_commands_say_so_in_one_line(name, args):
    """As after `pip install .` alone: importing torch, onnx, onnxscript, tqdm or matplotlib fails."""
    module, func = ENTRY[name]
    blocked = "torch", "onnx", "onnxscript", "tqdm", "matplotlib"
    code = (f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); "  # None: not installed
            f"from {module} import {func}; {func}()")
    code_, stderr = run([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert (code_, stderr) == (1, f"Error: {name} needs the train extra ({', '.join(blocked)} not installed): "
                                  "pip install 'wavenet-edge[train]'\n")
