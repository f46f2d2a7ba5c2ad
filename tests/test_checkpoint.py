"""The checkpoint file: a weights_only-loadable round trip, atomic writes, and one exact line for every kind
of bad file (never a traceback, never code run from the file)."""

from __future__ import annotations

import errno
import os
import pickle
import random
import shlex
import warnings
from pathlib import Path

import pytest
import torch

from wavenet_edge.runtime.common.dataset import split_items
from wavenet_edge.runtime.common.errors import ModelFileError, WriteError
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab
from wavenet_edge.train.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    Checkpoint,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from wavenet_edge.train.models import build_model
from wavenet_edge.train.trainer import Trainer, TrainSettings

ITEMS = [f"{a}{b}{c}" for a in ("ka", "ri", "an", "mo") for b in ("la", "ne", "so") for c in ("", "ta", "e")]
VOCAB = Vocab.from_items(ITEMS)
CONFIG = ModelConfig(arch="wavenet", vocab_size=VOCAB.size, channels=8, skip_channels=8, head_channels=8,
                     dilations=(1, 2))
UNREADABLE = "not a readable checkpoint (truncated or corrupt?): "
REFUSED = "refused by weights_only loading (not a safe checkpoint): "


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def trained(tmp_path) -> Path:
    """A real checkpoint written by a (very short) training run: weights, optimizer, RNG states, history."""
    path = tmp_path / "model.pt"
    settings = TrainSettings(steps=3, batch_size=4, eval_every=3, warmup_steps=1, samples=2)
    Trainer(CONFIG, VOCAB, split_items(ITEMS), settings, path, data_info={"sha256": "ab" * 32}).run()
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ModelFileError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- round trip -------------------------------------------------------------------------------------------


def test_round_trip_loads_with_weights_only_and_rebuilds_the_same_model(trained):
    raw = torch.load(trained, map_location="cpu", weights_only=True)  # the safe loader, called directly
    assert raw["format"] == CHECKPOINT_FORMAT and raw["format_version"] == CHECKPOINT_VERSION
    assert raw["config"] == CONFIG.to_dict() and raw["vocab"] == VOCAB.to_dict()
    assert raw["train_state"]["step"] == 3 and raw["data"]["sha256"] == "ab" * 32

    ckpt = load_checkpoint(trained)
    assert ckpt.config == CONFIG and ckpt.vocab == VOCAB
    assert ckpt.metrics["step"] == 3 and ckpt.metrics["arch"] == "wavenet"
    assert ckpt.metrics["parameters"] == sum(v.numel() for k, v in ckpt.state_dict.items())
    assert ckpt.train_state["history"][-1]["val_loss"] == ckpt.metrics["val_loss"]

    model = model_from_checkpoint(ckpt)
    assert not model.training
    reference = build_model(CONFIG).eval()
    reference.load_state_dict(raw["state_dict"])
    idx = torch.randint(0, VOCAB.size, (3, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(idx), reference(idx))

    # Saving what was loaded writes the same content again.
    again = trained.with_name("again.pt")
    save_checkpoint(ckpt, again)
    raw_again = torch.load(again, map_location="cpu", weights_only=True)
    assert raw_again.keys() == raw.keys()
    assert all(torch.equal(raw_again["state_dict"][k], v) for k, v in raw["state_dict"].items())
    assert raw_again["metrics"] == raw["metrics"] and raw_again["config"] == raw["config"]


def test_a_fresh_model_round_trips_exactly(tmp_path):
    torch.manual_seed(3)
    model = build_model(CONFIG).eval()
    path = tmp_path / "fresh.pt"
    save_checkpoint(Checkpoint(CONFIG, VOCAB, model.state_dict()), path)
    loaded = model_from_checkpoint(load_checkpoint(path))
    idx = torch.randint(0, VOCAB.size, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(loaded(idx), model(idx))


# --- atomic write -----------------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_and_no_temporary(trained, monkeypatch):
    before = trained.read_bytes()
    files_before = sorted(p.name for p in trained.parent.iterdir())
    real_save = torch.save

    def save_half_then_fail(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.truncate(100)  # half-written...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...and then the write fails

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(WriteError, match="cannot write: No space left on device"):
        save_checkpoint(load_checkpoint(trained), trained)
    assert trained.read_bytes() == before
    assert sorted(p.name for p in trained.parent.iterdir()) == files_before


# --- bad files: one exact line each -----------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.pt"
    assert load_error(path) == f"{path}: no such file"


def test_a_directory_is_no_file(tmp_path):
    assert load_error(tmp_path) == f"{tmp_path}: no such file"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    assert load_error(path) == f"{path}: {UNREADABLE}EOFError"


def test_random_bytes(tmp_path):
    """Random bytes reach torch's legacy (pickle) loader, which fails in many ways: each is one line saying the
    file is unreadable (not that it is unsafe, and not torch's advice to reload it with weights_only=False)."""
    path = tmp_path / "random.pt"
    for seed in range(40):
        rng = random.Random(seed)
        path.write_bytes(rng.randbytes(rng.randint(1, 3000)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the "pickle protocol" it thinks it sees
            message = load_error(path)
        assert message.startswith(f"{path}: {UNREADABLE}"), (seed, message)
        assert "weights_only" not in message, (seed, message)


def test_a_text_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello world\n")
    assert load_error(path).startswith(f"{path}: {UNREADABLE}")


def test_truncated_checkpoint(trained):
    data = trained.read_bytes()
    trained.write_bytes(data[: len(data) // 2])
    assert load_error(trained).startswith(f"{trained}: {UNREADABLE}")


def test_another_torch_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "epoch": 3}, path)
    assert load_error(path) == f"{path}: not a wavenet-edge checkpoint"
    torch.save(torch.zeros(2), path)
    assert load_error(path) == f"{path}: not a wavenet-edge checkpoint"


def test_unknown_format_version(trained):
    raw = torch.load(trained, weights_only=True)
    torch.save({**raw, "format_version": 99}, trained)
    assert load_error(trained) == f"{trained}: unsupported checkpoint format version 99 (this version reads 1)"
    del raw["format_version"]
    torch.save(raw, trained)
    assert load_error(trained) == f"{trained}: unsupported checkpoint format version None (this version reads 1)"


def test_malformed_checkpoints(trained):
    raw = torch.load(trained, weights_only=True)
    torch.save({**raw, "config": {**raw["config"], "channels": 0}}, trained)
    assert load_error(trained) == f"{trained}: malformed checkpoint: channels must be an integer in 1..4096, got 0"
    torch.save({**raw, "vocab": {"boundary_id": 0, "chars": ["a", "b"]}}, trained)
    assert load_error(trained) == f"{trained}: vocabulary size 3 does not match config {VOCAB.size}"
    torch.save({**raw, "state_dict": {"w": [1, 2]}}, trained)
    assert load_error(trained) == f"{trained}: malformed checkpoint: state_dict is not a mapping of tensors"


def test_weights_that_do_not_fit_the_config(trained):
    ckpt = load_checkpoint(trained)
    ckpt.state_dict = {k: v for k, v in ckpt.state_dict.items() if not k.startswith("head_out")}
    with pytest.raises(ModelFileError) as info:
        model_from_checkpoint(ckpt, where=str(trained))
    assert str(info.value) == (f"{trained}: weights do not match the config: "
                               'Error(s) in loading state_dict for WaveNet:')


class RunsCode:
    """Unpickling this runs a shell command: what a malicious "checkpoint" would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.mark.parametrize("writer", ["torch.save", "legacy torch.save", "pickle protocol 2"])
def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path, writer):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    payload = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "state_dict": RunsCode(marker)}
    if writer == "torch.save":
        torch.save(payload, path)
    elif writer == "legacy torch.save":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))

    message = load_error(path)
    assert message.startswith(f"{path}: {REFUSED}")
    assert f"{os.system.__module__}.system" in message  # it names what it refused
    assert not marker.exists()

    if writer == "torch.save":  # the payload is live: an unsafe load would have run it
        torch.load(path, weights_only=False)
        assert marker.exists()
