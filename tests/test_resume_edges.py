"""Training and resume edge cases (issue 9, item 8): each ends in one line, never in a traceback, a NaN checkpoint,
invalid JSON, or paths that were not written."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from test_train import CLI_COMMON, CLI_MODEL, make_items, wn_train

from wavenet_edge.runtime.common.commands import EXIT_BAD_INPUT
from wavenet_edge.runtime.common.dataset import file_sha256
from wavenet_edge.train import rng
from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.download import DATA_DIR_ENV, KNOWN_DATASETS
from wavenet_edge.train.trainer import json_record, loss_plot_path, metrics_log_path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def trained(tmp_path, data_file) -> Path:
    """A 10-step run, evaluated at 5 and 10."""
    out = tmp_path / "run" / "model.pt"
    out.parent.mkdir()
    result = wn_train("--data", data_file, "--out", out, "--steps", 10, "--eval-every", 5, "--samples", 0,
                      *CLI_MODEL["wavenet"], *CLI_COMMON)
    assert result.exit_code == 0, result.output
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def refused(result, message: str) -> None:
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


def test_another_optimizer_on_resume(data_file, trained):
    before = snapshot(trained.parent)
    refused(wn_train("--data", data_file, "--resume", trained, "--steps", 20, "--optimizer", "sgd", *CLI_COMMON),
            f"--resume {trained}: --optimizer sgd differs from the checkpoint's adamw (a resumed run keeps its "
            "optimizer)")
    assert snapshot(trained.parent) == before


@pytest.mark.parametrize("steps", [5, 10])
def test_a_resume_with_no_steps_left_says_so_and_writes_nothing(tmp_path, data_file, trained, steps):
    before = snapshot(trained.parent)
    other = tmp_path / "elsewhere.pt"
    refused(wn_train("--data", data_file, "--resume", trained, "--out", other, "--steps", steps, *CLI_COMMON),
            f"--resume {trained}: the run has already done 10 steps; nothing to do with --steps {steps} (raise "
            "--steps to continue it)")
    assert snapshot(trained.parent) == before
    assert not other.exists() and not metrics_log_path(other).exists() and not loss_plot_path(other).exists()


def test_a_resume_on_other_data_with_the_same_characters(tmp_path, data_file, trained):
    other = tmp_path / "other.txt"
    other.write_text("\n".join(make_items(seed=1)) + "\n")  # the same syllables, other items
    before = snapshot(trained.parent)
    refused(wn_train("--data", other, "--resume", trained, "--steps", 20, *CLI_COMMON),
            f"--resume {trained}: it was trained on items.txt (sha256 {file_sha256(data_file)[:12]}...), not "
            f"other.txt (sha256 {file_sha256(other)[:12]}...); its split and metrics belong to that data "
            "(--allow-data-change to go on)")
    assert snapshot(trained.parent) == before

    result = wn_train("--data", other, "--resume", trained, "--steps", 15, "--allow-data-change", *CLI_COMMON)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"Warning: --resume {trained}: it was trained on items.txt")
    assert load_checkpoint(trained).data["sha256"] == file_sha256(other)


def strict_json(line: str) -> dict:
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(line, parse_constant=refuse)


def test_metrics_lines_are_strict_json():
    assert json_record({"step": 1, "val_loss": float("nan"), "lr": float("inf"), "x": 1.5}) == \
        '{"step": 1, "val_loss": null, "lr": null, "x": 1.5}'


def test_a_diverging_run_stops_in_one_line_and_keeps_the_good_checkpoint(data_file, trained):
    before = load_checkpoint(trained)
    result = wn_train("--data", data_file, "--resume", trained, "--steps", 200, "--lr", 1e6, *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: training diverged at step ")
    assert "(lower --lr?)" in result.stderr
    after = load_checkpoint(trained)
    assert result.stderr.endswith(f"; {trained} keeps step {after.train_state['step']}'s state\n")
    for state in (after.state_dict, after.train_state["model"]):
        assert all(torch.isfinite(v).all() for v in state.values())
    assert after.metrics == before.metrics or math.isfinite(after.metrics["val_loss"])
    records = [strict_json(line) for line in metrics_log_path(trained).read_text().splitlines()]
    assert records == after.train_state["history"]


def test_a_run_that_diverges_before_its_first_evaluation_writes_nothing(tmp_path, data_file):
    out = tmp_path / "new.pt"
    result = wn_train("--data", data_file, "--out", out, "--steps", 200, "--eval-every", 200, "--lr", 1e6,
                      "--warmup", 0, *CLI_MODEL["wavenet"], *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.startswith("Error: training diverged at step ")
    assert result.stderr.endswith("; no checkpoint was written\n")
    assert not out.exists() and not metrics_log_path(out).exists()


class FakeCuda:
    """Stands in for torch.cuda on a machine without a GPU: two devices' generator states."""

    def __init__(self):
        self.states = [torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([3], dtype=torch.uint8)]

    def is_available(self):
        return True

    def get_rng_state_all(self):
        return [s.clone() for s in self.states]

    def set_rng_state_all(self, states):
        self.states = [s.clone() for s in states]


def test_the_rng_state_includes_every_gpu_on_cuda(monkeypatch):
    fake = FakeCuda()
    monkeypatch.setattr(rng.torch, "cuda", fake)
    state = rng.capture_rng(torch.device("cuda"))
    assert [s.tolist() for s in state["cuda"]] == [[1, 2], [3]]
    assert torch.equal(state["torch"], torch.get_rng_state())
    assert "cuda" not in rng.capture_rng(torch.device("cpu"))  # a CPU run does not wake a GPU
    fake.states = []
    rng.restore_rng(state, torch.device("cuda"))
    assert [s.tolist() for s in fake.states] == [[1, 2], [3]]


def test_data_dir_honours_the_environment_variable(tmp_path, monkeypatch):
    data_dir = tmp_path / "cache"
    data_dir.mkdir()
    cached = data_dir / "names.txt"
    cached.write_text("\n".join(make_items(60)) + "\n")
    monkeypatch.setitem(KNOWN_DATASETS, "names", dataclasses.replace(
        KNOWN_DATASETS["names"], url="http://127.0.0.1:9/names.txt", sha256=file_sha256(cached)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    out = tmp_path / "model.pt"
    result = wn_train("--data", "names", "--out", out, "--steps", 2, "--samples", 0, *CLI_MODEL["wavenet"],
                      *CLI_COMMON)
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out).data["sha256"] == file_sha256(cached)
    assert not (tmp_path / "data").exists()


def edit(path: Path, change) -> None:
    raw = torch.load(path, weights_only=True)
    change(raw)
    torch.save(raw, path)


EDITS = [
    ("metrics not a mapping", lambda raw: raw.update(metrics="good"),
     "{p}: malformed checkpoint: metrics is str, not a mapping"),
    ("metric not a number", lambda raw: raw["metrics"].update(val_loss="1.9"),
     "{p}: malformed checkpoint: metrics val_loss is '1.9', not a number"),
    ("unknown key", lambda raw: raw.update(extra=1), "{p}: malformed checkpoint: unknown keys extra"),
    ("no optimizer state", lambda raw: raw["train_state"].pop("optimizer"),
     "--resume {p}: malformed training state: optimizer is missing"),
    ("optimizer state of another model", lambda raw: raw["train_state"]["optimizer"]["param_groups"].pop(),
     "--resume {p}: the training state does not fit the model or optimizer: loaded state dict has a different number "
     "of parameter groups"),
    ("step not an integer", lambda raw: raw["train_state"].update(step="10"),
     "--resume {p}: malformed training state: step is not a non-negative integer"),
    ("unknown setting", lambda raw: raw["train_state"]["settings"].update(momentum=0.9),
     "--resume {p}: malformed training state: unknown settings momentum"),
    ("setting of the wrong type", lambda raw: raw["train_state"]["settings"].update(lr="fast"),
     "--resume {p}: malformed training state: settings: '>' not supported between instances of 'str' and 'int'"),
    ("train_state not a mapping", lambda raw: raw.update(train_state=[1]),
     "{p}: malformed checkpoint: train_state is list"),
]


@pytest.mark.parametrize(("name", "change", "message"), EDITS, ids=[e[0] for e in EDITS])
def test_hand_edited_checkpoints_are_one_line(data_file, trained, name, change, message):
    edit(trained, change)
    result = wn_train("--data", data_file, "--resume", trained, "--steps", 20, *CLI_COMMON)
    refused(result, message.format(p=trained))
