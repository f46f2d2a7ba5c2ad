"""Bad input over every command: output paths, data files, checkpoints, ONNX files, option values, full
disks and Ctrl-C. Each case asserts the exact one-line message, the exit status, no traceback, and that
the inputs and outputs are untouched (no file appears, none changes). Closed pipes, /dev/full and signals
need real processes: tests/test_streams_and_signals.py. Hand-edited ONNX metadata (runtime only, no torch):
tests/test_onnx_metadata_checks.py."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import pytest
import torch
from cli_checks import assert_error, invoke
from tiny_data import DATA, ITEMS, METRICS, VOCAB
from tiny_models import WAVENET, exported

from wavenet_edge.export import cli as export_cli
from wavenet_edge.runtime import benchmark, cli
from wavenet_edge.runtime.common import files
from wavenet_edge.runtime.common.files import temp_path
from wavenet_edge.train import cli as train_cli
from wavenet_edge.train import data_cli
from wavenet_edge.train.checkpoint import Checkpoint, save_checkpoint
from wavenet_edge.train.models import build_model

SUFFIX = "an output must be a regular file or not exist yet"
NOT_AN_INPUT = "an output never replaces an input"


@pytest.fixture(scope="module")
def models():
    return exported()


@pytest.fixture()
def work(tmp_path):
    """A directory with a data file and an untrained checkpoint (export needs no training)."""
    (tmp_path / "d.txt").write_text("\n".join(ITEMS * (500 // len(ITEMS) + 1)) + "\n")  # val >= 50: no warning
    torch.manual_seed(0)
    ckpt = Checkpoint(WAVENET, VOCAB, build_model(WAVENET).state_dict(), dict(METRICS), dict(DATA))
    save_checkpoint(ckpt, tmp_path / "m.pt")
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under root: bytes of regular files, the kind of anything else."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[str(path)] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            out[str(path)] = path.read_bytes()
        else:
            out[str(path)] = "fifo" if path.is_fifo() else "dir"
    return out


# ------------------------------------------------------------------ output paths (items 1, 2, 6)


def output_cases(root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (output path, what the message says after 'OPTION PATH: ')."""
    os.mkfifo(root / "fifo")
    (root / "target.pt").write_bytes(b"keep me")
    (root / "link").symlink_to(root / "target.pt")
    (root / "dir").mkdir()
    os.link(root / "d.txt", root / "hard.txt")
    return {
        "device": (Path("/dev/null"), f"is a character device; {SUFFIX}"),
        "fifo": (root / "fifo", f"is a named pipe (FIFO); {SUFFIX}"),
        "symlink": (root / "link", f"is a symbolic link; {SUFFIX}"),
        "directory": (root / "dir", f"is a directory; {SUFFIX}"),
        "missing dir": (root / "nope" / "x", f"directory {root / 'nope'} does not exist"),
        "data file": (root / "d.txt", f"is the same file as the input --data {root / 'd.txt'}; {NOT_AN_INPUT}"),
        "hard link to data": (root / "hard.txt",
                              f"is the same file as the input --data {root / 'd.txt'}; {NOT_AN_INPUT}"),
    }


CASES = ["device", "fifo", "symlink", "directory", "missing dir", "data file", "hard link to data"]


@pytest.mark.parametrize("case", CASES)
def test_wn_train_refuses_bad_outputs_before_any_work(work, case):
    out, message = output_cases(work)[case]
    before, dev_null = snapshot(work), os.stat("/dev/null")
    result = invoke(train_cli.main, ["--data", work / "d.txt", "--out", out, "--steps", 1, "-q"])
    assert_error(result, f"--out {out}: {message}")
    assert snapshot(work) == before and os.stat("/dev/null").st_rdev == dev_null.st_rdev


@pytest.mark.parametrize("case", ["device", "fifo", "symlink", "directory", "missing dir"])
def test_wn_export_refuses_bad_outputs_before_any_work(work, case):
    out, message = output_cases(work)[case]
    before = snapshot(work)
    result = invoke(export_cli.main, [work / "m.pt", out, "--no-verify"])
    assert_error(result, f"output {out}: {message}")
    assert snapshot(work) == before and Path("/dev/null").is_char_device()


def test_wn_export_outputs_never_replace_inputs(work):
    os.link(work / "m.pt", work / "hard.pt")
    data = work / "d.txt"
    cases = [
        ([work / "hard.pt"], f"output {work / 'hard.pt'}: is the same file as the input checkpoint {work / 'm.pt'}"),
        ([data, "--data", data], f"output {data}: is the same file as the input --data {data}"),
        ([work / "x.onnx", "--quantize", "int8", "--data", data, "--quantized-output", data],
         f"quantized output {data}: is the same file as the input --data {data}"),
        ([work / "x.onnx", "--quantize", "int8", "--data", data, "--quantized-output", work / "x.onnx"],
         f"quantized output {work / 'x.onnx'}: is the same file as the input output {work / 'x.onnx'}"),
    ]
    before = snapshot(work)
    for args, message in cases:
        result = invoke(export_cli.main, [work / "m.pt", *args, "--no-verify"])
        assert_error(result, f"{message}; {NOT_AN_INPUT}")
    assert snapshot(work) == before


@pytest.mark.parametrize("derived", ["m.metrics.jsonl", "m.loss.png"])
def test_wn_train_checks_its_derived_outputs_too(work, derived):
    os.mkfifo(work / derived)
    label = "metrics log" if derived.endswith("jsonl") else "loss plot"
    before = snapshot(work)
    result = invoke(train_cli.main, ["--data", work / "d.txt", "--out", work / "m.pt", "--steps", 1, "-q"])
    assert_error(result, f"{label} {work / derived}: is a named pipe (FIFO); {SUFFIX}")
    assert snapshot(work) == before
    os.unlink(work / derived)  # the data file as a derived output: its log would overwrite it
    data = work / "m.metrics.jsonl"
    data.write_text("\n".join(ITEMS) + "\n")
    result = invoke(train_cli.main, ["--data", data, "--out", work / "m.pt", "--steps", 1, "-q"])
    assert_error(result, f"metrics log {data}: is the same file as the input --data {data}; {NOT_AN_INPUT}")


def test_an_unwritable_directory_is_found_before_training(work):
    """/sys refuses new files even to root (EACCES or EROFS)."""
    probe = Path("/sys") / ".wn-probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        os.unlink(probe)
        pytest.skip("/sys is writable here")
    except OSError as err:
        reason = err.strerror
    start = time.perf_counter()
    result = invoke(train_cli.main, ["--data", work / "d.txt", "--out", "/sys/m.pt", "--steps", 100000, "-q"])
    assert_error(result, f"--out /sys/m.pt: cannot write in /sys: {reason}")
    assert time.perf_counter() - start < 10  # not after 100,000 steps


# ------------------------------------------------------------------ write failures (item 6)


def fail_fsync(monkeypatch, code=errno.ENOSPC):
    def fsync(fd):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(files.os, "fsync", fsync)


def test_wn_export_on_a_full_disk_keeps_the_old_file(work, monkeypatch):
    out = work / "m.onnx"
    out.write_bytes(b"the good old model")
    before = snapshot(work)
    fail_fsync(monkeypatch)
    result = invoke(export_cli.main, [work / "m.pt", out, "--no-verify"])
    assert_error(result, f"{out}: cannot write: No space left on device (nothing was replaced)", code=1)
    assert snapshot(work) == before  # no temporary left, the old file intact


def test_wn_train_on_a_full_disk_keeps_the_old_checkpoint(work, monkeypatch):
    out = work / "m.pt"
    before = snapshot(work)
    fail_fsync(monkeypatch, errno.EIO)
    result = invoke(train_cli.main, ["--data", work / "d.txt", "--out", out, "--steps", 2, "--eval-every", 1,
                                     "--channels", 4, "--skip-channels", 4, "--head-channels", 4, "--dilations", "1,2",
                                     "--samples", 0, "-q", "--threads", 1, "--overwrite"])
    assert_error(result, f"{out}: cannot write: Input/output error (nothing was replaced)", code=1)
    assert snapshot(work) == before


def test_atomic_path_turns_enospc_into_one_line_and_removes_its_temporary(tmp_path, monkeypatch):
    out = tmp_path / "x.bin"
    out.write_bytes(b"good")
    real_write = os.write

    def write(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(files.WriteError) as info, files.atomic_path(out) as tmp:
        fd = os.open(tmp, os.O_WRONLY)
        monkeypatch.setattr(os, "write", write)
        try:
            os.write(fd, b"half")
        finally:
            monkeypatch.setattr(os, "write", real_write)
            os.close(fd)
    assert str(info.value) == f"{out}: cannot write: No space left on device (nothing was replaced)"
    assert info.value.exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"] and out.read_bytes() == b"good"


# ------------------------------------------------------------------ temporary files (item 11)


def test_temporaries_of_dead_processes_are_removed_by_the_next_write(tmp_path):
    out = tmp_path / "m.onnx"
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    stale = tmp_path / f".m.onnx.{dead}.tmp"  # what kill -9 of process `dead` mid-write leaves
    stale.write_bytes(b"half")
    alive = tmp_path / f".m.onnx.{os.getppid()}.tmp"  # a live process's write in progress: not touched
    alive.write_bytes(b"busy")
    other = tmp_path / f".m.onnx.5.{dead}.tmp"  # the temporary of another output (m.onnx.5)
    other.write_bytes(b"other")
    with files.atomic_path(out) as tmp:
        assert tmp == temp_path(out) == tmp_path / f".m.onnx.{os.getpid()}.tmp"
        tmp.write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.onnx", alive.name, other.name])
    assert out.read_bytes() == b"new"


# ------------------------------------------------------------------ data files


@pytest.fixture()
def bad_data(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bin.txt").write_bytes(b"ab\ncd\x00ef\n")
    (tmp_path / "latin1.txt").write_bytes(b"ab\ncaf\xe9\n")
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    return {
        "missing": (tmp_path / "no.txt", f"{tmp_path / 'no.txt'}: no such file"),
        "empty": (tmp_path / "empty.txt", f"{tmp_path / 'empty.txt'}: no items (the file is empty or holds only "
                                          "blank lines)"),
        "binary": (tmp_path / "bin.txt", f"{tmp_path / 'bin.txt'}:2: binary data (NUL byte); expected UTF-8 text, "
                                         "one item per line"),
        "latin-1": (tmp_path / "latin1.txt", f"{tmp_path / 'latin1.txt'}:2: not valid UTF-8 (byte 0xe9)"),
        "directory": (tmp_path / "dir", f"{tmp_path / 'dir'}: is a directory, not a text file"),
        "fifo": (tmp_path / "fifo", f"{tmp_path / 'fifo'}: is a named pipe (FIFO), not a text file"),
        "device": (Path("/dev/zero"), "/dev/zero: is a character device, not a text file"),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "binary", "latin-1", "directory", "fifo", "device"])
def test_bad_data_files_in_every_command(models, tmp_path, bad_data, case):
    path, message = bad_data[case]
    before = snapshot(tmp_path)
    assert_error(invoke(train_cli.main, ["--data", path, "--out", tmp_path / "o.pt"]), message)
    assert_error(invoke(cli.eval_command, ["--onnx", models.step, "--data", path]), message)
    assert_error(invoke(cli.generate_command, ["--onnx", models.step, "--exclude", path]), f"--exclude {message}")
    ckpt = Checkpoint(WAVENET, VOCAB, build_model(WAVENET).state_dict())
    save_checkpoint(ckpt, tmp_path / "c.pt")
    assert_error(invoke(export_cli.main, [tmp_path / "c.pt", tmp_path / "o.onnx", "--data", path]), message)
    os.unlink(tmp_path / "c.pt")
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------ checkpoints


def test_bad_resume_checkpoints(work):
    (work / "garbage.pt").write_bytes(b"hello, not a checkpoint")
    cut = work / "cut.pt"
    cut.write_bytes((work / "m.pt").read_bytes()[:300])
    before = snapshot(work)
    for path, message in [
        (work / "none.pt", f"{work / 'none.pt'}: no such file"),
        (work / "garbage.pt", f"{work / 'garbage.pt'}: not a readable checkpoint (truncated or corrupt?)"),
        (cut, f"{cut}: not a readable checkpoint (truncated or corrupt?)"),
    ]:
        result = invoke(train_cli.main, ["--data", work / "d.txt", "--resume", path, "--out", work / "o.pt"])
        assert result.exit_code == 2 and result.stderr.startswith(f"Error: {message}"), result.output
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert snapshot(work) == before


# ------------------------------------------------------------------ option values (item 7)


TRAIN_OPTIONS = [
    (["--dilations", "1000000"], "dilations must be integers in 1..4096, got [1000000]"),
    (["--stacks", "100000"], "stacks must be an integer in 1..64, got 100000"),
    (["--channels", "100000"], "channels must be an integer in 1..4096, got 100000"),
    (["--dilations", "4096,4096,4096"],
     "the receptive field (1 + stacks x sum of dilations) is 12289 tokens; it must be in 2..8192"),
    (["--dilations", "512,512,1", "--channels", "4096"],
     "channels x (receptive field - 1) is 4198400 floats of generation state per name; the most is 4194304 "
     "(fewer channels or smaller dilations)"),
    (["--seed", "99999999999999999999"],
     "Invalid value for '--seed': 99999999999999999999 is not in the range 0<=x<=9223372036854775807."),
    (["--threads", "20000"], "Invalid value for '--threads': 20000 is not in the range 1<=x<=256."),
    (["--batch-size", "1000000000"],
     "Invalid value for '--batch-size': 1000000000 is not in the range 1<=x<=65536."),
    (["--max-len", "100000"], "max_len must be an integer in 1..10000, got 100000"),
    (["--arch", "lecture", "--block-size", "4096"], "block_size must be an integer in 1..1024, got 4096"),
]


@pytest.mark.parametrize(("args", "message"), TRAIN_OPTIONS, ids=[" ".join(a) for a, _ in TRAIN_OPTIONS])
def test_wn_train_refuses_values_no_model_can_use(work, args, message):
    before = snapshot(work)
    start = time.perf_counter()
    result = invoke(train_cli.main, ["--data", work / "d.txt", "--out", work / "o.pt", *args])
    assert_error(result, message)
    assert time.perf_counter() - start < 10 and snapshot(work) == before


def test_too_many_threads_are_capped_with_a_note(work, models):
    cpus = len(os.sched_getaffinity(0))
    result = invoke(cli.generate_command, ["--onnx", models.step, "-n", 2, "--seed", 1, "--threads", 256])
    assert result.exit_code == 0, result.output
    if cpus < 256:
        assert result.stderr == f"note: --threads 256 is more than the {cpus} CPUs available here; using {cpus}\n"


# ------------------------------------------------------------------ -h, the missing extra, Ctrl-C (items 5, 10)


@pytest.mark.parametrize("command", [train_cli.main, data_cli.main, export_cli.main, cli.generate_command,
                                     cli.eval_command, cli.info_command, benchmark.main],
                         ids=["wn-train", "wn-data", "wn-export", "wn-generate", "wn-eval", "wn-info", "benchmark"])
def test_every_command_takes_h_and_help(command):
    for flag in ("-h", "--help"):
        result = invoke(command, [flag])
        assert result.exit_code == 0 and result.stdout.startswith("Usage: ") and result.stderr == ""


def test_ctrl_c_while_wn_export_traces_is_130_not_an_export_failure(work, monkeypatch):
    """torch.export turns a KeyboardInterrupt inside tracing into its own error ("Failed to export the
    model with torch.export"); the command must still report the interrupt."""

    def interrupted_export(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass
        raise RuntimeError("Failed to export the model with torch.export. This is step 1/3 of exporting")

    monkeypatch.setattr(torch.onnx, "export", interrupted_export)
    before = snapshot(work)
    result = invoke(export_cli.main, [work / "m.pt", work / "m.onnx", "--no-verify"])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip() == "Aborted." and "Traceback" not in result.output
    assert snapshot(work) == before


def test_wn_data_never_downloads_over_a_link_or_device(tmp_path):
    (tmp_path / "elsewhere.txt").write_text("not the data set\n")
    (tmp_path / "names.txt").symlink_to(tmp_path / "elsewhere.txt")  # a cached copy with the wrong hash
    before = snapshot(tmp_path)
    result = invoke(data_cli.main, ["names", "--data-dir", tmp_path, "--url", "http://127.0.0.1:9/never-asked"])
    assert_error(result, f"data set file {tmp_path / 'names.txt'}: is a symbolic link; {SUFFIX}")
    assert snapshot(tmp_path) == before
