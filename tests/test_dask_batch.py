"""Scoring and generation on a local Dask cluster of 2 worker processes (runtime/dask_batch.py): a CSV
column scored with the scores beside it, equal to WavenetModel.score per item (unscorable rows marked, not
fatal), and N names across workers equal to wn-generate's for the seed, for any number of partitions."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

dd = pytest.importorskip("dask.dataframe", reason="the scale extra (dask) is not installed")
distributed = pytest.importorskip("dask.distributed", reason="the scale extra (dask) is not installed")
pd = pytest.importorskip("pandas")

from cli_checks import invoke  # noqa: E402

from wavenet_edge.runtime import WavenetModel, cli, dask_batch  # noqa: E402

STEP = Path(__file__).resolve().parent / "fixtures" / "tiny-step.onnx"


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_a_csv_column_is_scored_beside_the_items(tmp_path, client):
    model = WavenetModel.load(STEP, provider="cpu", threads=1)
    good = model.generate(300, seed=1, min_len=1)
    rows = good + ["QQ", "a" * 40, ""]  # unknown characters, over max_len, empty
    path = tmp_path / "items.csv"
    pd.DataFrame({"id": range(len(rows)), "name": rows}).to_csv(path, index=False)
    frame = dd.read_csv(path, blocksize=800, keep_default_na=False)
    assert frame.npartitions > 1
    scored = dask_batch.score_frame(frame, "name", model=str(STEP)).compute().sort_values("id")
    assert scored["name"].tolist() == rows
    expected = model.score(good).logprobs
    assert scored["logprob"].tolist()[:len(good)] == expected
    assert all(math.isnan(x) for x in scored["logprob"].tolist()[len(good):])
    assert scored["unscored"].tolist()[len(good):] == [
        "characters not in the model's vocabulary: 'Q'", "40 characters, more than the model's max_len 12", "empty"]
    assert scored["nll_per_char"].tolist()[0] == pytest.approx(-expected[0] / (len(good[0]) + 1))


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_names_across_workers_are_wn_generates(client, partitions):
    result = invoke(cli.generate_command, ["--onnx", STEP, "-n", 500, "--seed", 3, "--max-len", 5])
    assert result.exit_code == 0, result.output
    names = dask_batch.generate_names(client, 500, seed=3, model=str(STEP), partitions=partitions, max_len=5)
    assert names == result.stdout.splitlines()  # empty and over-long names made up from the next indices


def test_the_module_runs_as_a_command(tmp_path):
    path = tmp_path / "items.csv"
    pd.DataFrame({"name": ["kali", "mora", "vine"]}).to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    done = subprocess.run([sys.executable, "-m", "wavenet_edge.runtime.dask_batch", "--model", str(STEP), "--workers",
                           "1", "score", str(path), "--column", "name", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(out)
    model = WavenetModel.load(STEP, provider="cpu", threads=1)
    assert scored["logprob"].tolist() == pytest.approx(model.score(["kali", "mora", "vine"]).logprobs, abs=1e-12)
