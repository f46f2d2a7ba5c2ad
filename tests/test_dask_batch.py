"""The Dask DataFrame helpers of runtime/dask_batch.py on an in-process cluster: a column scored beside the
items (unscorable rows marked, not fatal; the same string rules as wn-dask), written to Parquet and CSV with
today's pandas, and a seed's names across partitions equal to wn-generate's. The old module command points
at wn-dask."""

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
READ = {"dtype": str, "keep_default_na": False, "na_filter": False}


@pytest.fixture(scope="module")
def client():
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as c:
        yield c


def test_a_csv_column_is_scored_beside_the_items_and_written(tmp_path, client):
    model = WavenetModel.load(STEP, provider="cpu", threads=1)
    good = model.generate(300, seed=1, min_len=1) + ["nan", " kato "]
    rows = good + ["QQ", "a" * 40, ""]  # unknown characters, over max_len, empty
    path = tmp_path / "items.csv"
    pd.DataFrame({"id": range(len(rows)), "name": rows}).to_csv(path, index=False)
    frame = dd.read_csv(path, blocksize=800, **READ)
    assert frame.npartitions > 1
    scored_frame = dask_batch.score_frame(frame, "name", model=str(STEP))
    scored = scored_frame.compute()
    assert scored["name"].tolist() == rows
    expected = model.score([item.strip() for item in good]).logprobs
    assert scored["logprob"].tolist()[:len(good)] == expected
    assert all(math.isnan(x) for x in scored["logprob"].tolist()[len(good):])
    assert scored["unscored"].tolist()[len(good):] == [
        "characters not in the model's vocabulary: 'Q'", "40 characters, more than the model's max_len 12", "empty"]
    assert scored["nll_per_char"].tolist()[0] == pytest.approx(-expected[0] / (len(good[0]) + 1))
    scored_frame.to_parquet(tmp_path / "scored.parquet")  # the unscored column is strings, with nulls
    back = pd.read_parquet(tmp_path / "scored.parquet")
    assert back["name"].tolist() == rows and back["logprob"].tolist()[:len(good)] == expected
    scored_frame.to_csv(tmp_path / "scored-*.csv", index=False)
    parts = sorted(tmp_path.glob("scored-*.csv"), key=lambda p: int(p.stem.split("-")[1]))
    back = pd.concat([pd.read_csv(p, dtype={"name": str}, keep_default_na=False) for p in parts])
    assert back["name"].tolist() == rows


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_names_across_workers_are_wn_generates(client, partitions):
    result = invoke(cli.generate_command, ["--onnx", STEP, "-n", 500, "--seed", 3, "--max-len", 5])
    assert result.exit_code == 0, result.output
    names = dask_batch.generate_names(client, 500, seed=3, model=str(STEP), partitions=partitions, max_len=5)
    assert names == result.stdout.splitlines()  # empty and over-long names made up from the next indices


def test_the_old_module_command_names_wn_dask():
    done = subprocess.run([sys.executable, "-m", "wavenet_edge.runtime.dask_batch", "score", "items.csv"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is now the command wn-dask" in done.stderr
