"""Data-parallel training: 2 gloo processes with a global batch B take the same steps as 1 process with batch B
(dropout off; tolerance 1e-5 on the losses, for the different order of float sums), only rank 0 writes, and
torchrun runs wn-train (python -m wavenet_edge.train), --resume included."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_train import make_items, wn_train

from wavenet_edge.runtime.common.dataset import split_items
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab
from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.distributed import SINGLE, Distributed
from wavenet_edge.train.trainer import Trainer, TrainSettings, metrics_log_path

pytestmark = pytest.mark.usefixtures("one_thread")

TOLERANCE = 1e-5
CONFIG = ModelConfig(arch="wavenet", vocab_size=2, channels=8, skip_channels=8, head_channels=8, dilations=(1, 2),
                     dropout=0.0)
SETTINGS = TrainSettings(steps=6, batch_size=10, eval_every=3, samples=0, warmup_steps=2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_trainer(out: Path, dist: Distributed = SINGLE) -> Trainer:
    split = split_items(make_items())
    vocab = Vocab.from_items(split.train)
    config = dataclasses.replace(CONFIG, vocab_size=vocab.size)
    return Trainer(config, vocab, split, SETTINGS, out, dist=dist)


def rank_main(rank: int, world: int, port: int, root: str) -> None:
    """One rank of the job; each writes (if it writes at all) into its own folder."""
    torch.set_num_threads(1)
    env = {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port)}
    os.environ.update(env)
    dist = Distributed.from_environment()
    dist.setup("cpu")
    finished = False
    try:
        out = Path(root) / f"rank{rank}" / "model.pt"
        result = make_trainer(out, dist).run()  # the trainer (and its DDP module) is dropped here
        assert result.history == [] if rank else len(result.history) == 2
        finished = True
    finally:
        dist.close(wait=finished)  # as wn-train does


def test_shards_are_disjoint_and_cover_the_batch():
    for batch in (1, 7, 10):
        rows = [list(range(batch))[Distributed(r, 3).shard(batch)] for r in range(3)]
        assert sum(rows, []) == list(range(batch))


def test_two_processes_follow_the_one_process_run_and_only_rank_0_writes(tmp_path):
    for rank in (0, 1):
        (tmp_path / f"rank{rank}").mkdir()
    mp.spawn(rank_main, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    single = make_trainer(tmp_path / "single.pt").run()

    assert list((tmp_path / "rank1").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "rank0").iterdir()) == ["model.loss.png", "model.metrics.jsonl",
                                                                       "model.pt"]
    ddp = load_checkpoint(tmp_path / "rank0" / "model.pt")
    assert [r["step"] for r in ddp.train_state["history"]] == [3, 6]
    for a, b in zip(single.history, ddp.train_state["history"], strict=True):
        for key in ("batch_loss", "train_loss", "val_loss"):
            assert b[key] == pytest.approx(a[key], abs=TOLERANCE), key
    for name, weight in single.checkpoint.train_state["model"].items():
        torch.testing.assert_close(ddp.train_state["model"][name], weight, rtol=0, atol=TOLERANCE)


def test_torchrun_runs_wn_train_and_resumes(tmp_path):
    data = tmp_path / "items.txt"
    data.write_text("\n".join(make_items()) + "\n")
    model = ["--channels", "8", "--skip-channels", "8", "--head-channels", "8", "--dilations", "1,2", "--dropout", "0",
             "--batch-size", "10", "--warmup", "2", "--eval-every", "3", "--samples", "0", "--threads", "1",
             "--device", "cpu", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def torchrun(*args: object) -> subprocess.CompletedProcess:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
                    "-m", "wavenet_edge.train"]
        return subprocess.run([*launcher, "--data", str(data), *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300)

    single, ddp = tmp_path / "single.pt", tmp_path / "ddp.pt"
    assert wn_train("--data", data, "--out", single, "--steps", 6, *model).exit_code == 0  # in this process
    first = torchrun("--out", ddp, "--steps", 3, *model)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("best val") == 1  # rank 0 alone prints
    resumed = torchrun("--resume", ddp, "--steps", 6, "--quiet", "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr
    a, b = (json.loads(line) for line in (metrics_log_path(p).read_text().splitlines()[-1] for p in (single, ddp)))
    assert b["step"] == a["step"] == 6
    assert b["val_loss"] == pytest.approx(a["val_loss"], abs=TOLERANCE)
    assert load_checkpoint(ddp).train_state["world_size"] == 2


def test_each_process_gets_its_own_gpu_and_cpu_stays_cpu():
    assert Distributed(1, 2, 1).device("cuda") == "cuda:1"
    assert Distributed().device("cuda") == "cuda"  # a single process uses torch's current device
    assert Distributed(1, 2, 1).device("cpu") == "cpu"
    assert Distributed.from_environment({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == Distributed(3, 4, 1)
    assert Distributed.from_environment({}) == SINGLE
