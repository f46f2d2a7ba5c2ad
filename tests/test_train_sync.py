"""The training loop reads the loss back from the device once every `sync_every` steps (issue 16: on a GPU
each read waits for the device, so the host cannot queue work ahead). Read every step or every 7, a run is
the same run: the same history, weights, progress calls and divergence message. CI has no GPU, so these run
on the CPU, where the trainer reads every step by default."""

from __future__ import annotations

import pytest
import torch
from test_train import InterruptAt, Recorder, make_trainer, without_time

from wavenet_edge.train.trainer import SYNC_STEPS, TrainingDiverged, sync_steps_for

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(tmp_path, name: str, sync_every: int, reporter=None, **settings):
    trainer = make_trainer("wavenet", tmp_path / f"{name}.pt", reporter, **settings)
    trainer.sync_every = sync_every
    reads = []
    read = trainer._read_losses
    trainer._read_losses = lambda pending: reads.append([step for step, *_ in pending]) or read(pending)
    return trainer, trainer.run(), reads


def test_reading_the_loss_every_7_steps_is_the_same_run(tmp_path):
    every, once = Recorder(), Recorder()
    _, first, _ = _run(tmp_path, "every", 1, every)
    trainer, second, reads = _run(tmp_path, "seven", 7, once)
    assert without_time(second.history) == without_time(first.history)
    assert all(torch.equal(a, b) for a, b in zip(first.checkpoint.state_dict.values(),
                                                 second.checkpoint.state_dict.values(), strict=True))
    assert once.calls == every.calls  # every step reported, in order
    # reads after 7 steps, and at every evaluation (steps 10, 20, 30, 40 with eval_every 10)
    assert reads == [list(range(1, 8)), [8, 9, 10], list(range(11, 18)), [18, 19, 20], list(range(21, 28)),
                     [28, 29, 30], list(range(31, 38)), [38, 39, 40]]


def test_the_cpu_reads_every_step_and_a_gpu_every_sync_steps(tmp_path):
    assert make_trainer("wavenet", tmp_path / "m.pt").sync_every == 1
    assert sync_steps_for(torch.device("cpu")) == 1
    assert sync_steps_for(torch.device("cuda", 0)) == SYNC_STEPS > 1


def test_a_divergence_between_reads_names_its_own_step(tmp_path):
    messages = []
    for sync_every in (1, 7):
        with pytest.raises(TrainingDiverged) as err:
            _run(tmp_path, f"d{sync_every}", sync_every, lr=1e6, warmup_steps=0, eval_every=40)
        messages.append(str(err.value).replace(f"d{sync_every}.pt", "X.pt"))
    assert messages[0] == messages[1]
    assert messages[0].startswith("training diverged at step ")


def test_a_ctrl_c_stops_at_the_next_read(tmp_path):
    """A Ctrl-C while step 9 is reported (at the read after step 10) stops the run there, checkpointed."""
    trainer, result, reads = _run(tmp_path, "stop", 5, InterruptAt(9), eval_every=40)
    assert result.interrupted
    assert reads == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert trainer.step == 10 and result.history[-1]["step"] == 10
