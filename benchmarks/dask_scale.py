"""wn-dask on a scheduler and 2 worker processes (1 thread each) against one process with one thread:
scoring strings, generating names, and the client's peak memory as the rows grow.

    python benchmarks/dask_scale.py            # 2,000,000 strings and names; memory at 2M and 10M rows (~10 min)
    python benchmarks/dask_scale.py --rows 20000 --names 20000 --memory-rows 20000 60000   # a look (~1 min)

Input: a CSV with a `name` column, 80% names drawn from the shipped default model and 20% random strings of
1 to 12 lowercase letters (some not in its vocabulary), shuffled with a fixed seed.

Measured, once each, wall clock:
- score, one process: the same job in this process with one ONNX Runtime thread and no Dask: each
  partition read, scored and written by runtime/cluster/tasks.score_part in turn, then the parts assembled
  into one Parquet file, as wn-dask does;
- score, cluster: `wn-dask score --scheduler ... --data items.csv --out scored.parquet` (a new client
  process: its start-up, the CSV's scan and the assembly are counted), against `dask scheduler` and two
  `dask worker --nthreads 1` processes started here; the two files' scores are compared (equal);
- generate, one process: `wn-generate -n N --seed 1 --threads 1 > file`; cluster: `wn-dask generate -n N
  --seed 1 --out file`; the two files are compared (byte for byte);
- the client's peak memory (its maximum resident set, from getrusage) for `wn-dask score` of --memory-rows
  rows each: the goal is no growth with the rows (within 10% + 10 MB).
Goals: each cluster run >= 1.5x faster than one process. A PASS or MISS line for each goal.

On a machine shared with other jobs, wall-clock ratios are noisy: run it alone.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import string
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RATIO_GOAL = 1.5
MEMORY_SLACK = (1.10, 10.0)  # factor and MB: the largest run's peak may exceed the smallest's by this much


def make_items(path: Path, rows: int, pool_names: list[str], seed: int = 0) -> None:
    """`rows` strings, 80% names from `pool_names`, 20% random lowercase strings, written in blocks."""
    import pandas as pd

    rng = random.Random(seed)
    letters = string.ascii_lowercase
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("name\n")
        done = 0
        while done < rows:
            count = min(500_000, rows - done)
            cells = [rng.choice(pool_names) if rng.random() < 0.8 else
                     "".join(rng.choice(letters) for _ in range(rng.randint(1, 12))) for _ in range(count)]
            pd.DataFrame({"name": cells}).to_csv(handle, header=False, index=False, lineterminator="\n")
            done += count


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self, workdir: Path, workers: int = 2):
        self.procs: list[subprocess.Popen] = []
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        logs = workdir / "cluster-logs"
        logs.mkdir(exist_ok=True)
        self._spawn([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                    logs / "scheduler.txt")
        for number in range(workers):
            self._spawn([str(BIN / "dask"), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                         "--no-dashboard", "--name", f"w{number}"], logs / f"worker{number}.txt")
        from dask.distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)

    def _spawn(self, argv: list[str], log: Path) -> None:
        handle = open(log, "wb")  # noqa: SIM115 (lives as long as the process)
        self.procs.append(subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


PEAK = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write('PEAK_KB %d\\n' % "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)); from wavenet_edge.runtime.cluster.cli import main; "
        "sys.argv = ['wn-dask'] + sys.argv[1:]; main()")


def wn_dask(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run wn-dask; its wall time in seconds and the client's peak memory in MB."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"wn-dask {' '.join(args)} failed: {done.stderr.strip()}")
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB ")]
    return seconds, int(peak[-1].split()[1]) / 1024


def score_one_process(items: Path, out: Path) -> float:
    """The score job without Dask, in this process, one thread: the same partitions, tasks and assembly."""
    import shutil

    from wavenet_edge.runtime.cluster import jobs, tables, tasks

    start = time.perf_counter()
    plan = tables.plan_input(items, "name")
    parts = out.parent / (out.name + ".parts")
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir()
    results = [tasks.score_part(piece, "name", "default", "cpu", str(parts), "parquet")
               for piece in plan.slices(max(1, -(-plan.rows // jobs.ROWS_PER_PARTITION)))]
    tables.assemble(parts, [(index, 0) for index, *_ in results], "parquet", out)
    seconds = time.perf_counter() - start
    shutil.rmtree(parts)
    return seconds


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="strings to score (default 2,000,000)")
    parser.add_argument("--names", type=int, default=2_000_000, help="names to generate (default 2,000,000)")
    parser.add_argument("--memory-rows", type=int, nargs="+", default=[2_000_000, 10_000_000],
                        help="rows of the client memory runs (default 2,000,000 10,000,000)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs" / "dask_scale")
    args = parser.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    from wavenet_edge.runtime import WavenetModel

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} at the start")
    model = WavenetModel.load_shipped("default", provider="cpu", threads=1)
    pool = model.generate(min(100_000, max(1000, args.rows // 20)), seed=12345)
    sizes = sorted({args.rows, *args.memory_rows})
    for rows in sizes:
        path = work / f"items-{rows}.csv"
        if not path.exists():
            make_items(path, rows, pool)
    ok = True

    items = work / f"items-{args.rows}.csv"
    single = score_one_process(items, work / "scored-one.parquet")
    cluster = Cluster(work)
    try:
        peaks: dict[int, float] = {}
        seconds, peaks[args.rows] = wn_dask(["score", "--scheduler", cluster.address, "--data", str(items), "--out",
                                             str(work / "scored-cluster.parquet")], work)
        import pyarrow.parquet as pq

        a = pq.read_table(work / "scored-one.parquet", columns=["logprob"]).column(0).to_numpy()
        b = pq.read_table(work / "scored-cluster.parquet", columns=["logprob"]).column(0).to_numpy()
        same = bool(np.array_equal(a, b, equal_nan=True))
        ratio = single / seconds
        ok &= ratio >= RATIO_GOAL and same
        print(f"score {args.rows:,} strings: one process {single:.1f} s, cluster {seconds:.1f} s: {ratio:.2f}x "
              f"(goal >= {RATIO_GOAL}x), scores equal: {same}  {verdict(ratio >= RATIO_GOAL and same)}")

        names_one = work / "names-one.txt"
        start = time.perf_counter()
        with open(names_one, "wb") as handle:
            subprocess.run([str(BIN / "wn-generate"), "-n", str(args.names), "--seed", "1", "--threads", "1"],
                           stdout=handle, check=True)
        single = time.perf_counter() - start
        names_cluster = work / "names-cluster.txt"
        seconds, gen_peak = wn_dask(["generate", "-n", str(args.names), "--seed", "1", "--scheduler", cluster.address,
                                     "--out", str(names_cluster)], work)
        same = names_one.read_bytes() == names_cluster.read_bytes()
        ratio = single / seconds
        ok &= ratio >= RATIO_GOAL and same
        print(f"generate {args.names:,} names: one process (wn-generate --threads 1) {single:.1f} s, cluster "
              f"{seconds:.1f} s: {ratio:.2f}x (goal >= {RATIO_GOAL}x), byte-identical: {same}  "
              f"{verdict(ratio >= RATIO_GOAL and same)}")
        print(f"client peak memory, generate {args.names:,} names: {gen_peak:.0f} MB")

        for rows in sizes:
            if rows not in peaks:
                _, peaks[rows] = wn_dask(["score", "--scheduler", cluster.address, "--data",
                                          str(work / f"items-{rows}.csv"), "--out",
                                          str(work / f"scored-{rows}.parquet")], work)
        low, high = peaks[sizes[0]], peaks[sizes[-1]]
        flat = high <= low * MEMORY_SLACK[0] + MEMORY_SLACK[1]
        ok &= flat
        listed = ", ".join(f"{rows:,} rows {peaks[rows]:.0f} MB" for rows in sizes)
        print(f"client peak memory, score: {listed} (goal: independent of rows, within 10% + 10 MB)  "
              f"{verdict(flat)}")
    finally:
        cluster.stop()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
