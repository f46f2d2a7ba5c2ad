"""wn-train --init: fine-tuning starts a new run from a checkpoint's model and weights (e.g. the shipped
models/wavenet.pt), and refuses what cannot be fine-tuned in one line."""

from __future__ import annotations

import json

import pytest
import torch
from test_train import CLI_COMMON, CLI_MODEL, make_items, wn_train

from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.trainer import metrics_log_path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def trained(tmp_path):
    """A tiny wavenet trained for 60 steps on syllable names, and its data file."""
    data = tmp_path / "items.txt"
    data.write_text("\n".join(make_items()) + "\n")
    path = tmp_path / "trained.pt"
    result = wn_train("--data", data, "--out", path, "--steps", 60, "--eval-every", 60, "--samples", 0,
                      *CLI_MODEL["wavenet"], *CLI_COMMON)
    assert result.exit_code == 0, result.output
    return data, path


def first_val(path) -> float:
    return json.loads(metrics_log_path(path).read_text().splitlines()[0])["val_loss"]


def test_init_starts_from_the_checkpoints_weights(tmp_path, trained):
    data, source = trained
    ckpt = load_checkpoint(source)
    common = ["--data", data, "--steps", 1, "--eval-every", 1, "--lr", "1e-9", "--warmup", 0, "--samples", 0,
              *CLI_COMMON]
    tuned, fresh = tmp_path / "tuned.pt", tmp_path / "fresh.pt"
    assert wn_train(*common, "--init", source, "--out", tuned).exit_code == 0
    assert wn_train(*common, *CLI_MODEL["wavenet"], "--out", fresh).exit_code == 0
    # one step at lr 1e-9 leaves the weights where they started: the checkpoint's, not a fresh model's
    assert first_val(tuned) == pytest.approx(ckpt.metrics["val_loss"], abs=1e-4)
    assert first_val(fresh) > ckpt.metrics["val_loss"] + 0.1
    out = load_checkpoint(tuned)
    assert out.config == ckpt.config and out.vocab == ckpt.vocab
    for name, weight in ckpt.state_dict.items():
        torch.testing.assert_close(out.state_dict[name], weight, rtol=0, atol=1e-6)


def test_init_keeps_the_vocabulary_on_data_with_fewer_characters(tmp_path, trained):
    data, source = trained
    subset = tmp_path / "subset.txt"
    subset.write_text("\n".join(n for n in make_items(400, seed=3) if "k" not in n) + "\n")
    out = tmp_path / "tuned.pt"
    result = wn_train("--data", subset, "--init", source, "--out", out, "--steps", 2, "--samples", 0, *CLI_COMMON)
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out).vocab == load_checkpoint(source).vocab


@pytest.mark.parametrize("options, message", [
    (["--channels", "16"], "--init {src}: --channels 16 differs from the checkpoint's 8 (fine-tuning keeps the "
                           "model; only --dropout may change)"),
    (["--resume", "{src}"], "--init and --resume exclude each other (--resume continues a run, --init starts a "
                            "new one)"),
    (["--out", "{src}"], "--out {src}: is the same file as the input --init {src}; an output never replaces an "
                         "input"),
])
def test_init_refusals_are_one_line(tmp_path, trained, options, message):
    data, source = trained
    before = source.read_bytes()
    options = [o.format(src=source) for o in options]
    out = [] if "--out" in options else ["--out", tmp_path / "out.pt"]
    result = wn_train("--data", data, "--init", source, *out, *options, "--steps", 1, *CLI_COMMON)
    assert result.exit_code == 2
    assert result.output.strip() == "Error: " + message.format(src=source)
    assert source.read_bytes() == before


def test_init_refuses_data_with_characters_the_model_does_not_know(tmp_path, trained):
    data, source = trained
    other = tmp_path / "other.txt"
    other.write_text("\n".join(make_items(200)).replace("k", "q") + "\n")
    result = wn_train("--data", other, "--init", source, "--out", tmp_path / "o.pt", "--steps", 1, *CLI_COMMON)
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: --init {source}: {other} has characters the model does not know: 'q'"
    assert not (tmp_path / "o.pt").exists()
