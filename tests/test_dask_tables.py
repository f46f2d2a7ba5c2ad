"""The cluster jobs' tables without a cluster (runtime/cluster/tables.py): a CSV cut into partitions at row
starts only (quotes across scan blocks, a newline inside quotes, CRLF, no last newline), every row in exactly
one piece, strings read as strings; Parquet pieces cutting through row groups; the cell rule; assembling
parts; and, where WN_PANDAS2_PATH names a pandas 2.x install (.ci/run makes one), the same job with pandas 2."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from wavenet_edge.runtime.cluster import tables  # noqa: E402
from wavenet_edge.runtime.common.errors import DataError  # noqa: E402

STEP = Path(__file__).resolve().parent / "fixtures" / "tiny-step.onnx"
CELLS = ["nan", "null", "NA", "None", "n/a", "", " kato ", 'sa"m', "ka,ti", "mo\nra", "é", "x\r\ny"]


def read_all(plan, parts: int) -> pd.DataFrame:
    pieces = plan.slices(parts)
    assert [p.index for p in pieces] == list(range(len(pieces)))
    assert sum(p.rows for p in pieces) == plan.rows
    return pd.concat([tables.read_slice(p, "name") for p in pieces], ignore_index=True)


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("last_newline", [True, False])
def test_a_csv_is_cut_at_row_starts_only(tmp_path, monkeypatch, block, ending, last_newline):
    monkeypatch.setattr(tables, "SCAN_BLOCK", block)  # quotes and rows across block edges
    monkeypatch.setattr(tables, "OFFSET_EVERY", 3)
    cells = [CELLS[i % len(CELLS)] + str(i // len(CELLS)) * (i % 3) for i in range(50)]
    text = pd.DataFrame({"name": cells, "id": [str(i) for i in range(50)]}).to_csv(index=False, lineterminator=ending)
    path = tmp_path / "items.csv"
    path.write_bytes((text if last_newline else text.rstrip("\r\n")).encode())
    plan = tables.plan_input(path, "name")
    assert (plan.rows, plan.columns) == (50, ("name", "id"))
    for parts in (1, 4, 17, 100):
        back = read_all(plan, parts)
        assert back["id"].tolist() == [str(i) for i in range(50)]
        assert back["name"].tolist() == cells


def test_rows_a_multiple_of_the_step_and_a_header_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "OFFSET_EVERY", 4)
    path = tmp_path / "items.csv"
    path.write_text("name\n" + "".join(f"n{i}\n" for i in range(8)))
    plan = tables.plan_input(path, "name")
    assert plan.rows == 8 and [p.rows for p in plan.slices(5)] == [4, 4]
    assert read_all(plan, 2)["name"].tolist() == [f"n{i}" for i in range(8)]
    path.write_text("name\n")
    with pytest.raises(DataError, match="no rows"):
        tables.plan_input(path, "name")
    path.write_text("")
    with pytest.raises(DataError, match="empty file"):
        tables.plan_input(path, "name")


def test_bad_inputs_are_one_line(tmp_path):
    (tmp_path / "items.csv").write_text("id,name\n1,kato\n")
    with pytest.raises(DataError, match=r"no column 'nmae' \(its columns: id, name\)"):
        tables.plan_input(tmp_path / "items.csv", "nmae")
    with pytest.raises(DataError, match="no such file"):
        tables.plan_input(tmp_path / "nothere.parquet", "name")
    with pytest.raises(DataError, match="name it .csv or .parquet"):
        tables.plan_input(tmp_path / "items.txt", "name")
    (tmp_path / "logprob.csv").write_text("name,logprob\nkato,1\n")
    with pytest.raises(DataError, match="already has a column 'logprob'"):
        tables.plan_input(tmp_path / "logprob.csv", "name")
    pq.write_table(pa.table({"name": [1, 2]}), tmp_path / "ints.parquet")
    with pytest.raises(DataError, match="column 'name' holds int64, not strings"):
        tables.plan_input(tmp_path / "ints.parquet", "name")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a Parquet file"):
        tables.plan_input(tmp_path / "bad.parquet", "name")


def test_parquet_pieces_cut_through_row_groups(tmp_path):
    cells = [None if i % 7 == 0 else f"n{i}" for i in range(1000)]
    pq.write_table(pa.table({"name": pa.array(cells, pa.string())}), tmp_path / "i.parquet", row_group_size=128)
    dictionary = pa.table({"name": pa.array(cells, pa.string()).dictionary_encode()})
    pq.write_table(dictionary, tmp_path / "d.parquet")
    for name in ("i.parquet", "d.parquet"):
        plan = tables.plan_input(tmp_path / name, "name")
        for parts in (1, 3, 9):
            pieces = plan.slices(parts)
            got = [x for p in pieces for x in tables.column_values(tables.read_slice(p, "name"), "name")]
            assert got == cells


def test_the_cell_rule():
    def unknown(item):
        return sorted(set(item) - set("abkot"))

    items, reasons = tables.cell_items(["kato", " kato\t", None, math.nan, pd.NA, 5, "", "  ", "kaQ", "a" * 9],
                                       unknown, 8)
    assert items[:2] == ["kato", "kato"]
    assert reasons == [None, None, "missing", "missing", "missing", "not a string (int)", "empty", "empty",
                       "characters not in the model's vocabulary: 'Q'", "9 characters, more than the model's max_len 8"]


def test_parts_are_assembled_in_order(tmp_path):
    for index in range(3):
        frame = pd.DataFrame({"name": [f"n{index}{j}" for j in range(4)]})
        scores = {"logprob": [-1.5] * 4, "nll_per_char": [0.5] * 4, "unscored": [None, "empty", None, None]}
        tables.write_part(frame, scores, tmp_path, index, "parquet")
        header = tables.write_part(frame, scores, tmp_path, index, "csv")
    tables.assemble(tmp_path, [(i, 0) for i in (0, 1, 2)], "parquet", tmp_path / "all.parquet")
    tables.assemble(tmp_path, [(i, header) for i in (0, 1, 2)], "csv", tmp_path / "all.csv")
    want = [f"n{i}{j}" for i in range(3) for j in range(4)]
    assert pq.read_table(tmp_path / "all.parquet").column("name").to_pylist() == want
    back = pd.read_csv(tmp_path / "all.csv", dtype=str, keep_default_na=False)
    assert back["name"].tolist() == want and back["unscored"].tolist()[:2] == ["", "empty"]


PANDAS2_JOB = """
import sys, pandas as pd, pyarrow.parquet as pq
assert pd.__version__.startswith("2."), pd.__version__
from dask.distributed import Client
from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.cluster import generate_file, score_file
from wavenet_edge.runtime import dask_batch
import dask.dataframe as dd
CSV_BACK = {"dtype": {"name": str, "unscored": str}, "keep_default_na": False, "float_precision": "round_trip",
            "na_values": {"logprob": [""], "nll_per_char": [""]}}
if __name__ == "__main__":
    cells = ["kato", "nan", "null", " suvi ", "", "QQ"] * 500
    pd.DataFrame({"name": cells}).to_csv("items.csv", index=False)
    model = WavenetModel.load(sys.argv[1], provider="cpu", threads=1)
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
        for out in ("s.parquet", "s.csv", "s/"):
            score_file(client, "items.csv", out, model=sys.argv[1], provider="cpu", partitions=3)
        pd.DataFrame({"name": cells}).to_parquet("items.parquet")  # with pandas' metadata
        score_file(client, "items.parquet", "again.csv", column="name", model=sys.argv[1], provider="cpu")
        for back in (pd.read_parquet("s.parquet"), pd.read_parquet("s"),
                     pd.read_csv("s.csv", **CSV_BACK), pd.read_csv("again.csv", **CSV_BACK)):
            assert back["name"].tolist() == cells
            assert back["logprob"].tolist()[:3] == model.score(["kato", "nan", "null"]).logprobs
        frame = dd.read_csv("items.csv", dtype=str, keep_default_na=False, na_filter=False, blocksize=4000)
        dask_batch.score_frame(frame, "name", model=sys.argv[1]).to_parquet("frame.parquet")
        assert pd.read_parquet("frame.parquet")["name"].tolist() == cells
    print("pandas", pd.__version__, "ok")
"""


@pytest.mark.skipif(not os.environ.get("WN_PANDAS2_PATH"), reason="WN_PANDAS2_PATH (a pandas 2.x install) is not set")
def test_the_jobs_with_pandas_2(tmp_path):
    pytest.importorskip("distributed", reason="the scale extra (dask) is not installed")
    (tmp_path / "job.py").write_text(PANDAS2_JOB)
    env = {**os.environ, "PYTHONPATH": os.environ["WN_PANDAS2_PATH"]}
    done = subprocess.run([sys.executable, "job.py", str(STEP)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("pandas 2.")
