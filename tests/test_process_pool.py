"""The worker processes of a model (runtime/process_pool.py): started on the first request that needs them,
reused by later ones, stopped by close() (reaped: no zombie); a stream closed early, two streams at once;
a worker's error as the one line the 1-process path gives; a worker that dies; wn-generate and wn-eval with
--threads; Ctrl-C and a closed pipe in a real process end as documented and leave no worker behind. Runs on
the committed fixtures (no torch)."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from model_files import FIXTURES
from tiny_data import ITEMS

from wavenet_edge.runtime import WavenetModel, cli, process_pool, workers
from wavenet_edge.runtime.common.errors import ModelFileError, WavenetEdgeError
from wavenet_edge.runtime.generation import GenerationRequest, generate_stream
from wavenet_edge.runtime.process_pool import ProcessPool, WorkerError
from wavenet_edge.runtime.process_worker import file_stat

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def one():
    return WavenetModel.load(FIXTURES.step, provider="cpu", threads=1)


def gone(pid: int) -> bool:
    """No process `pid`, not even a zombie."""
    return not Path(f"/proc/{pid}").exists()


def test_workers_start_on_demand_are_reused_and_close(one, many_workers):
    model = WavenetModel.load(FIXTURES.step, provider="cpu", threads=2)
    assert model.worker_pids == []  # nothing started by load
    expected = one.generate(300, seed=4, batch_size=32)
    assert model.generate(300, seed=4, batch_size=32) == expected
    pids = model.worker_pids
    assert len(pids) == 2
    assert model.generate(300, seed=4, batch_size=32) == expected
    assert model.score(ITEMS) == one.score(ITEMS)
    assert model.worker_pids == pids  # the same processes served every call
    model.close()
    assert model.worker_pids == [] and all(gone(pid) for pid in pids)
    assert model.generate(300, seed=4, batch_size=32) == expected  # a later call starts fresh ones
    fresh = model.worker_pids
    assert len(fresh) == 2 and not set(fresh) & set(pids)
    with model:
        pass
    assert all(gone(pid) for pid in fresh)


def test_collecting_the_model_stops_its_workers(one, many_workers):
    model = WavenetModel.load(FIXTURES.step, provider="cpu", threads=2)
    model.generate(100, seed=1, batch_size=8)
    pids = model.worker_pids
    del model  # the pool's finalizer: also what runs at interpreter exit
    assert len(pids) == 2 and all(gone(pid) for pid in pids)


def test_a_stream_closed_early_and_two_streams_at_once(one, many_workers):
    with WavenetModel.load(FIXTURES.step, provider="cpu", threads=3) as model:
        stream = model.iter_generate(None, seed=9, batch_size=6)
        assert list(itertools.islice(stream, 10)) == one.generate(10, seed=9, batch_size=6)
        stream.close()  # its blocks cancelled: nothing of it reaches the next call
        first = model.iter_generate(None, seed=1, batch_size=9, return_logprobs=True)
        second = model.iter_generate(None, seed=2, batch_size=9, return_logprobs=True)
        pairs = list(itertools.islice(zip(first, second, strict=True), 200))
        assert [a for a, _ in pairs] == one.generate(200, seed=1, batch_size=9, return_logprobs=True)
        assert [b for _, b in pairs] == one.generate(200, seed=2, batch_size=9, return_logprobs=True)
        assert model.generate(120, seed=9, batch_size=6) == one.generate(120, seed=9, batch_size=6)


def test_a_workers_error_is_the_one_line_of_one_process(one):
    request = GenerationRequest(n=50, seed=0, prefix="kaQ!")  # characters the model does not know
    with pytest.raises(WavenetEdgeError) as here:
        list(generate_stream(one.runner, one.metadata.vocab, request))
    with ProcessPool(FIXTURES.step, file_stat(str(FIXTURES.step)), size=2) as pool:
        with pytest.raises(WavenetEdgeError) as there:
            list(pool.generate_chunks(request, workers=2))
        assert (type(there.value), str(there.value)) == (type(here.value), str(here.value))
        pids = pool.pids
        good = GenerationRequest(n=40, seed=0, batch_size=4)
        names = [item[1] for chunk in pool.generate_chunks(good, workers=2) for item in chunk]
        assert names == one.generate(40, seed=0, batch_size=4)
        assert pool.pids == pids  # a worker's error leaves it serving


def test_a_file_written_over_since_the_load_is_refused_by_the_workers(tmp_path, many_workers):
    path = tmp_path / "model.onnx"
    shutil.copy(FIXTURES.step, path)
    model = WavenetModel.load(path, provider="cpu", threads=2)
    shutil.copy(FIXTURES.window, path)
    with pytest.raises(ModelFileError, match=rf"^{path}: the file changed since the model was loaded \(load it "
                                             rf"again\)$"):
        model.generate(50, seed=0, batch_size=8)
    assert model.worker_pids == []  # the failed start left nothing running


def test_a_worker_that_dies_is_one_line_and_the_next_call_starts_afresh(one, many_workers):
    with WavenetModel.load(FIXTURES.step, provider="cpu", threads=2) as model:
        stream = model.iter_generate(None, seed=3, batch_size=8)
        next(stream)
        victim = model.worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(WorkerError, match=rf"^worker process {victim} ended unexpectedly \(killed by signal 9\)$"):
            for _ in stream:
                pass
        assert model.worker_pids == []  # the others were stopped with it
        assert model.generate(60, seed=3, batch_size=8) == one.generate(60, seed=3, batch_size=8)


def test_wn_generate_and_wn_eval_give_the_same_output_on_workers(tmp_path, many_workers):
    data = tmp_path / "names.txt"
    data.write_text("\n".join(ITEMS) + "\n")
    runs = {}
    for threads in (1, 2):
        generated = CliRunner().invoke(cli.generate_command, [
            "--onnx", str(FIXTURES.step), "-n", "500", "--seed", "5", "--batch-size", "64", "--format", "jsonl",
            "--threads", str(threads), "--provider", "cpu", "--verbose"])
        evaluated = CliRunner().invoke(cli.eval_command, [
            "--onnx", str(FIXTURES.step), "--data", str(data), "--split", "all", "--format", "json",
            "--threads", str(threads), "--provider", "cpu"])
        assert generated.exit_code == 0 and evaluated.exit_code == 0, generated.output + evaluated.output
        runs[threads] = generated.stdout, evaluated.stdout
        started = [line for line in generated.stderr.splitlines() if "worker process" in line]
        assert len(started) == threads - 1, generated.stderr  # --verbose notes the workers' start
    assert runs[2] == runs[1]


# ------------------------------------------------------------------------ a real process: Ctrl-C, a closed pipe

GENERATE = [sys.executable, "-c", "from wavenet_edge.runtime.entry_points import wn_generate; wn_generate()",
            "--onnx", str(FIXTURES.step), "--provider", "cpu", "--threads", "2", "--batch-size", "256"]


def processes_in(cwd: Path) -> set[int]:
    """Processes (zombies aside) whose working directory is `cwd`: a command run there and its workers."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd") == str(cwd):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def test_ctrl_c_is_aborted_130_and_leaves_no_worker(tmp_path):
    """Ctrl-C reaches the command's process group; the workers, in sessions of their own, are stopped by it."""
    with subprocess.Popen([*GENERATE, "-n", "100000000"], cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, start_new_session=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) as proc:
        assert proc.stdout.readline().strip()  # names flow: the workers started before the first one
        assert len(processes_in(tmp_path) - {proc.pid}) == 2
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr.decode()) == (130, "\nAborted.\n")  # as with one process
    assert processes_in(tmp_path) == set()


def test_a_closed_pipe_is_a_quiet_end_and_leaves_no_worker(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader has gone: `wn-generate ... | head` after head exited
    try:
        done = subprocess.run([*GENERATE, "-n", str(10 * workers.START_NAMES)], cwd=tmp_path, stdout=write,
                              stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr.decode()) == (0, "")
    assert processes_in(tmp_path) == set()


@pytest.mark.parametrize("workers, batch", [(2, 4096), (2, 16384), (2, 65536), (16, 65536), (3, 7)])
def test_blocks_are_long_and_the_names_in_flight_bounded(workers, batch):
    """A block is BLOCK_BATCHES of a worker's batches where that fits; the blocks in flight never hold more
    than HELD_NAMES names, whatever the batch size; a finite request is cut into equal rounds."""
    share = -(-batch // workers)
    block = process_pool.block_size(None, workers, share)
    assert block >= process_pool.MIN_BLOCK
    assert workers * process_pool.AHEAD * block <= max(process_pool.HELD_NAMES,
                                                       workers * process_pool.AHEAD * process_pool.MIN_BLOCK)
    assert block == max(min(process_pool.BLOCK_BATCHES * share,
                            process_pool.HELD_NAMES // (workers * process_pool.AHEAD)), process_pool.MIN_BLOCK)
    n = 10 * workers * block + 1
    finite = process_pool.block_size(n, workers, share)
    rounds = -(-n // (workers * block))
    assert finite <= block and (rounds - 1) * workers * finite < n <= rounds * workers * finite
