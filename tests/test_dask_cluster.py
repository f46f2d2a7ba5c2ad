"""wn-dask as deployed: a `dask scheduler` and two `dask worker` processes on 127.0.0.1 (random free ports),
jobs from the command line and the API, a worker killed mid-job, one-line errors, Ctrl-C, and the outputs
read back (Parquet and CSV): every row once, every string as it was, every score WavenetModel.score's, and
the names wn-generate's byte for byte."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the scale extra (dask) is not installed")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from cli_checks import invoke  # noqa: E402

from wavenet_edge.runtime import WavenetModel  # noqa: E402
from wavenet_edge.runtime import cli as gen_cli  # noqa: E402
from wavenet_edge.runtime.cluster import cli, jobs, tasks  # noqa: E402

STEP = Path(__file__).resolve().parent / "fixtures" / "tiny-step.onnx"
BIN = Path(sys.executable).parent
# strings that pandas' defaults would read as missing, whitespace, quotes, commas, a newline in a cell
HOSTILE = ["nan", "null", "NA", "None", "n/a", "NaN", "", " kato ", "\tsuvi", "QQ", "a" * 40, 'sa"m', "ka,ti",
           "mo\nra", "émile"]
READ_BACK = {"dtype": str, "keep_default_na": False, "na_filter": False}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A scheduler and `workers` worker processes (each with its nanny), torn down by stop()."""

    def __init__(self, root: Path, workers: int = 2, env: dict[str, str] | None = None):
        self.root = root
        self.env = {**os.environ, **(env or {})}
        self.env.pop("PYTHONPATH", None)
        self.procs: list[subprocess.Popen] = []
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._spawn([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
        for number in range(workers):
            self._spawn([str(BIN / "dask"), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                         "--no-dashboard", "--name", f"w{number}"])
        self.client = distributed.Client(self.address, timeout=60)
        self.client.wait_for_workers(workers, timeout=60)

    def _spawn(self, argv: list[str]) -> None:
        log = open(self.root / f"log-{len(self.procs)}.txt", "wb")  # noqa: SIM115 (closed with the process)
        self.procs.append(subprocess.Popen(argv, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def stop(self) -> None:
        self.client.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")  # the workers' working directory: not the jobs'
    running = Cluster(root)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def model():
    return WavenetModel.load(STEP, provider="cpu", threads=1)


def argv(*args) -> list[str]:
    return [str(BIN / "wn-dask"), *map(str, args)]


def wn_dask(*args, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def one_line_error(done: subprocess.CompletedProcess, code: int, *parts: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr
    for part in parts:
        assert part in done.stderr, done.stderr


def nothing_left(directory: Path, *keep: str) -> None:
    """Only the inputs: no output, no staging directory, no temporary file."""
    assert sorted(p.name for p in directory.iterdir()) == sorted(keep)


def expected_scores(model, cells: list) -> tuple[list[float], list]:
    """What wn-dask promises per cell: the stripped item's WavenetModel.score, or NaN and a reason."""
    vocab, max_len = model.metadata.vocab, model.metadata.config.max_len
    items = [c.strip() if isinstance(c, str) else "" for c in cells]
    ok = [isinstance(c, str) and bool(i) and not vocab.unknown_chars(i) and len(i) <= max_len
          for c, i in zip(cells, items, strict=True)]
    scores = iter(model.score([i for i, good in zip(items, ok, strict=True) if good]).logprobs)
    return [next(scores) if good else math.nan for good in ok], ok


def same_floats(got: list[float], want: list[float]) -> bool:
    return all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, want, strict=True))


@pytest.fixture(scope="module")
def items(tmp_path_factory, model):
    """items.csv: 3,000 rows (3 partitions' worth), an id column and names, hostile strings among them."""
    root = tmp_path_factory.mktemp("items")
    names = model.generate(3000 - len(HOSTILE), seed=5)
    cells = names[:1000] + HOSTILE + names[1000:]
    pd.DataFrame({"id": [str(i) for i in range(len(cells))], "name": cells}).to_csv(root / "items.csv", index=False)
    return root / "items.csv", cells


def run_here(*args, cwd: Path) -> subprocess.CompletedProcess:
    """wn-dask in this process (the same command, without a start-up of its own)."""
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = invoke(cli.main, args)
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_score_csv_from_the_command_line_to_parquet_and_csv(cluster, model, items, tmp_path):
    source, cells = items
    (tmp_path / "items.csv").write_bytes(source.read_bytes())
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "tiny.onnx").write_bytes(STEP.read_bytes())  # relative: resolved on the client
    want, ok = expected_scores(model, cells)
    for out, run in (("scored.parquet", wn_dask), ("scored.csv", run_here)):
        done = run("score", "--scheduler", cluster.address, "--data", "items.csv", "--column", "name", "--onnx",
                   "m/tiny.onnx", "--out", out, "--partitions", 3, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == (f"3000 rows scored into {out} ({ok.count(False)} without a score: see the unscored "
                               "column)\n")
        if out.endswith(".parquet"):
            back = pd.read_parquet(tmp_path / out)
        else:
            back = pd.read_csv(tmp_path / out, dtype={"id": str, "name": str, "unscored": str},
                               keep_default_na=False, na_values={"logprob": [""], "nll_per_char": [""]},
                               float_precision="round_trip")  # the exact float64 values written
        assert back["name"].tolist() == cells  # every string as it was: nan, null, whitespace, quotes, newline
        assert back["id"].tolist() == [str(i) for i in range(3000)]  # every row once, in order
        assert same_floats(back["logprob"].tolist(), want)
        reasons = dict(zip(cells, ["" if pd.isna(x) else x for x in back["unscored"].tolist()], strict=True))
        assert reasons["nan"] == reasons["null"] == reasons[" kato "] == ""  # scored like any name
        assert reasons[""] == "empty" and reasons["QQ"] == "characters not in the model's vocabulary: 'Q'"
    nothing_left(tmp_path, "items.csv", "m", "scored.parquet", "scored.csv")


def test_score_parquet_with_nulls_from_the_api_to_a_directory(cluster, model, tmp_path):
    cells = ["kato", None, "nan", " suvi ", "", None, "null"] * 300
    table = pa.table({"name": pa.array(cells, type=pa.string()), "n": pa.array(range(len(cells)))})
    pq.write_table(table, tmp_path / "items.parquet", row_group_size=500)  # partitions cut through row groups
    result = jobs.score_file(cluster.client, tmp_path / "items.parquet", tmp_path / "scored/", model=str(STEP),
                             provider="cpu", partitions=7)
    assert (result.rows, result.partitions) == (len(cells), 7)
    parts = sorted(p.name for p in (tmp_path / "scored").iterdir())
    assert parts == ["_SUCCESS"] + [f"part-{i:05d}.parquet" for i in range(7)]
    back = pq.read_table(tmp_path / "scored")
    assert back.column("name").to_pylist() == cells  # a null stays a null, its row kept
    assert back.column("n").to_pylist() == list(range(len(cells)))
    want, _ = expected_scores(model, cells)
    got = [math.nan if x is None else x for x in back.column("logprob").to_pylist()]
    assert same_floats(got, want)
    assert back.column("unscored").to_pylist()[:3] == [None, "missing", None]
    nothing_left(tmp_path, "items.parquet", "scored")
    assert set(cluster.client.run(tasks.loads, str(STEP)).values()) == {1}  # once per worker, not per task


def test_generate_equals_wn_generate_byte_for_byte(cluster, tmp_path):
    args = ["--onnx", STEP, "-n", 3000, "--seed", 7, "--max-len", 5]
    expected = invoke(gen_cli.generate_command, args).stdout_bytes
    done = wn_dask("generate", *args, "--scheduler", cluster.address, "--out", "names.txt", "--partitions", 5,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3000 names into names.txt\n"
    assert (tmp_path / "names.txt").read_bytes() == expected  # dropped names made up from the next indices
    result = jobs.generate_file(cluster.client, tmp_path / "parts", 3000, seed=7, model=str(STEP), provider="cpu",
                                partitions=3, max_len=5)
    parts = sorted((tmp_path / "parts").glob("part-*.txt"))
    assert len(parts) == result.partitions >= 3 and (tmp_path / "parts" / "_SUCCESS").exists()
    assert b"".join(p.read_bytes() for p in parts) == expected
    jsonl = invoke(gen_cli.generate_command, [*args, "--format", "jsonl"]).stdout_bytes
    done = run_here("generate", *args, "--format", "jsonl", "--scheduler", cluster.address, "--out", "names.jsonl",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "names.jsonl").read_bytes() == jsonl


def _wait_for_part(directory: Path, timeout: float = 60) -> None:
    """Until some job's first part file is written beside `directory`'s items (the job is under way)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(directory.glob(".*.job/part-*")):
            return
        time.sleep(0.02)
    raise AssertionError("the job wrote no part")


def _big_csv(path: Path, model, rows: int) -> list[str]:
    names = model.generate(1000, seed=9)
    cells = [names[i % 1000] for i in range(rows)]
    pd.DataFrame({"id": range(rows), "name": cells}).to_csv(path, index=False)
    return cells


def test_a_worker_killed_mid_job_loses_no_row(cluster, model, tmp_path):
    cells = _big_csv(tmp_path / "items.csv", model, 60_000)
    victim = sorted(cluster.worker_pids().values())[0]  # known before the job: the kill comes at once
    job = subprocess.Popen(argv("score", "--scheduler", cluster.address, "--data", "items.csv",
                            "--onnx", STEP, "--provider", "cpu", "--out", "scored.csv", "--partitions", 24),
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_part(tmp_path)
    os.kill(victim, signal.SIGKILL)  # its nanny starts a new one; its task runs again elsewhere
    stdout, stderr = job.communicate(timeout=180)
    assert job.returncode == 0, stderr
    back = pd.read_csv(tmp_path / "scored.csv", **READ_BACK)
    assert back["id"].tolist() == [str(i) for i in range(len(cells))]  # every row exactly once, in order
    scores = dict(zip(model.generate(1000, seed=9), model.score(model.generate(1000, seed=9)).logprobs, strict=True))
    assert [float(x) for x in back["logprob"]] == [scores[c] for c in cells]  # Python's float(): exact
    cluster.client.wait_for_workers(2, timeout=60)


def test_ctrl_c_cancels_the_job_and_leaves_nothing(cluster, model, tmp_path):
    _big_csv(tmp_path / "items.csv", model, 60_000)
    job = subprocess.Popen(argv("score", "--scheduler", cluster.address, "--data", "items.csv",
                            "--onnx", STEP, "--out", "scored.parquet", "--partitions", 24), cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_part(tmp_path)
    job.send_signal(signal.SIGINT)
    stdout, stderr = job.communicate(timeout=60)
    assert (job.returncode, stderr) == (130, "\nAborted.\n")  # as every wn-* command
    nothing_left(tmp_path, "items.csv")


def test_ctrl_c_at_a_terminal_with_a_local_cluster(model, tmp_path):
    """No --scheduler: a local cluster; Ctrl-C at a terminal reaches the whole process group, workers
    included, and still gives one "Aborted." and no output."""
    _big_csv(tmp_path / "items.csv", model, 60_000)
    job = subprocess.Popen(argv("score", "--threads", 2, "--data", "items.csv", "--onnx", STEP, "--out", "s.csv",
                                "--partitions", 24), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    _wait_for_part(tmp_path)
    os.killpg(job.pid, signal.SIGINT)
    stdout, stderr = job.communicate(timeout=60)
    assert (job.returncode, stderr) == (130, "\nAborted.\n")
    nothing_left(tmp_path, "items.csv")


def test_errors_are_one_line_and_leave_nothing(cluster, tmp_path):
    pd.DataFrame({"name": ["kato"], "id": ["1"]}).to_csv(tmp_path / "items.csv", index=False)
    at = ("--scheduler", cluster.address)

    def run(*args):  # in this process (the first one as deployed)
        return run_here(*args, cwd=tmp_path)

    one_line_error(wn_dask("score", *at, "--data", "nothere.csv", "--out", "s.csv", cwd=tmp_path), 2,
                   "nothere.csv: no such file")
    one_line_error(run("score", *at, "--data", "items.csv", "--column", "nmae", "--out", "s.csv"), 2,
                   "no column 'nmae' (its columns: name, id)")
    one_line_error(run("score", *at, "--data", "items.csv", "--onnx", "/nonexistent/m.onnx", "--out", "s.csv"), 2,
                   "worker tcp://127.0.0.1:", "cannot open the model: /nonexistent/m.onnx: no such file")
    one_line_error(run("score", *at, "--data", "items.csv", "--onnx", "m.onnx", "--out", "s.csv"), 2,
                   "m.onnx: no such file (a relative model path is resolved on the client: " + str(tmp_path))
    one_line_error(run("score", *at, "--data", "items.csv", "--out", "s.txt"), 2, "cannot tell the format")
    one_line_error(run("generate", *at, "--prefix", "QZ", "--onnx", STEP, "--out", "n.txt"), 2, "QZ")
    one_line_error(run("score", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--connect-timeout", 1,
                       "--data", "items.csv", "--out", "s.csv"), 1, "cannot reach the Dask scheduler")
    one_line_error(run("generate", *at, "--threads", 2, "--out", "n.txt"), 2, "--threads")
    one_line_error(run("generate", *at, "-n", 0, "--out", "n.txt"), 2, "-n")
    nothing_left(tmp_path, "items.csv")


def test_a_worker_dying_beyond_retries_fails_in_one_line(model, tmp_path):
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    root = tmp_path / "cluster"
    root.mkdir()
    strict = Cluster(root, workers=1, env=env)
    try:
        _big_csv(tmp_path / "items.csv", model, 60_000)
        victim = next(iter(strict.worker_pids().values()))
        job = subprocess.Popen(argv("score", "--scheduler", strict.address, "--data", "items.csv",
                                "--onnx", STEP, "--out", "scored.csv", "--partitions", 24), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
        _wait_for_part(tmp_path)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = job.communicate(timeout=120)
        done = subprocess.CompletedProcess(job.args, job.returncode, stdout, stderr)
        one_line_error(done, 1, "the worker running it died, once (Dask's distributed.scheduler.allowed-failures "
                       "is 0); nothing was written")
        nothing_left(tmp_path, "items.csv", "cluster")
    finally:
        strict.stop()


def test_a_worker_spends_the_cpu_time_of_one_process(cluster, model, tmp_path):
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_ set, which doubled the CPU time of scoring;
    tasks.py undoes it. The CPU time of the thread that scores (not wall time: the machine may be busy), the
    shipped default model, the same partition here and on one worker, best of 3."""
    from wavenet_edge.runtime.cluster import tables

    pd.DataFrame({"name": model.generate(3000, seed=4)}).to_csv(tmp_path / "items.csv", index=False)
    piece = tables.plan_input(tmp_path / "items.csv", "name").slices(1)[0]
    job = (tasks.score_part, piece, "name", "default", "cpu", str(tmp_path), "parquet")
    address = sorted(cluster.worker_pids())[0]

    def there() -> float:
        first = cluster.client.submit(time.thread_time, workers=[address], pure=False).result()
        cluster.client.submit(*job, workers=[address], pure=False).result()
        return cluster.client.submit(time.thread_time, workers=[address], pure=False).result() - first

    def here() -> float:
        first = time.thread_time()
        job[0](*job[1:])
        return time.thread_time() - first

    here(), there()  # the model loaded on both sides
    mine, theirs = min(here() for _ in range(3)), min(there() for _ in range(3))
    assert theirs < 1.4 * mine, (theirs, mine)
