"""--ema: the average follows its formula, evaluation and the best checkpoint use it, and an interrupted and
resumed run is bit for bit the uninterrupted one."""

from __future__ import annotations

import pytest
import torch
from test_train import CLI_COMMON, CLI_MODEL, InterruptAt, make_trainer, without_time, wn_train

from wavenet_edge.runtime.common.commands import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.ema import EmaWeights, ema_decay_at
from wavenet_edge.train.evaluate import mean_nll
from wavenet_edge.train.progress import ProgressReporter

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_average_follows_its_formula():
    model = torch.nn.Linear(3, 2)
    ema = EmaWeights(model, decay=0.9)
    expected = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for step in range(1, 30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * step)
        ema.update(model, step)
        d = min(0.9, (1 + step) / (10 + step))
        assert d == ema_decay_at(0.9, step)
        expected = {k: d * expected[k] + (1 - d) * v for k, v in model.state_dict().items()}
    for k, v in expected.items():
        torch.testing.assert_close(ema.shadow[k], v, rtol=1e-6, atol=1e-6)
    own = {k: v.clone() for k, v in model.state_dict().items()}
    with ema.applied(model):
        assert all(torch.equal(model.state_dict()[k], ema.shadow[k]) for k in own)
    assert all(torch.equal(model.state_dict()[k], own[k]) for k in own)  # the training weights come back exactly


def test_evaluation_and_the_best_checkpoint_use_the_average(tmp_path):
    trainer = make_trainer("wavenet", tmp_path / "m.pt", ema=0.9, steps=20, eval_every=20)
    result = trainer.run()
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert all(torch.equal(ckpt.state_dict[k], v) for k, v in ckpt.train_state["ema"].items())
    assert not all(torch.equal(ckpt.state_dict[k], v) for k, v in ckpt.train_state["model"].items())
    with trainer.ema.applied(trainer.model):
        assert mean_nll(trainer.model, trainer.val_eval, trainer.device) == result.history[-1]["val_loss"]
    assert mean_nll(trainer.model, trainer.val_eval, trainer.device) != result.history[-1]["val_loss"]


def test_an_interrupted_and_resumed_run_is_the_uninterrupted_one(tmp_path, data_file, monkeypatch):
    args = ["--data", data_file, "--steps", 40, "--eval-every", 10, "--samples", 0, "--ema", 0.95,
            *CLI_MODEL["wavenet"], *CLI_COMMON]
    straight, stopped = tmp_path / "straight.pt", tmp_path / "stopped.pt"
    assert wn_train(*args, "--out", straight).exit_code == 0
    with monkeypatch.context() as patch:
        patch.setattr(ProgressReporter, "step", InterruptAt(15).step)
        assert wn_train(*args, "--out", stopped).exit_code == EXIT_INTERRUPTED
    assert wn_train("--data", data_file, "--resume", stopped, *CLI_COMMON).exit_code == 0
    a, b = load_checkpoint(straight), load_checkpoint(stopped)
    for key in ("model", "ema"):
        assert all(torch.equal(a.train_state[key][k], v) for k, v in b.train_state[key].items()), key
    assert all(torch.equal(a.state_dict[k], v) for k, v in b.state_dict.items())
    # the same evaluations (step 15's is extra), but for the batch loss: a mean over the steps since the last one
    runs = [[{k: v for k, v in r.items() if k != "batch_loss"} for r in without_time(ckpt.train_state["history"])]
            for ckpt in (a, b)]
    assert [r["step"] for r in runs[1]] == [10, 15, 20, 30, 40]
    assert runs[1][:1] + runs[1][2:] == runs[0]


def test_ema_cannot_be_switched_on_resume(tmp_path, data_file):
    out = tmp_path / "m.pt"
    # --ema 0: a run without --recipe takes an EMA by default
    assert wn_train("--data", data_file, "--out", out, "--steps", 5, "--ema", 0, *CLI_MODEL["wavenet"],
                    *CLI_COMMON).exit_code == 0
    result = wn_train("--data", data_file, "--resume", out, "--steps", 10, "--ema", 0.99, *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == (f"Error: --resume {out}: the run was trained with --ema off; a resumed run cannot "
                             "turn it on\n")


@pytest.mark.parametrize("value", [1, 1.5, -0.1])
def test_bad_decay(tmp_path, data_file, value):
    result = wn_train("--data", data_file, "--out", tmp_path / "m.pt", "--ema", value, "--steps", 1, *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == f"Error: --ema must be in (0, 1) (0: off), got {float(value)}\n"
