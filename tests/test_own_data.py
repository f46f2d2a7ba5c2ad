"""Training on a user's own file works the first time (issue 20): max_len follows the data, characters
that only val/test items have are in the vocabulary, `--resume FILE` alone continues, fine-tuning never
ends worse than it started, tables and tiny files get a warning, exports never land on the shipped
models, and the README's own-data walk-through runs as printed."""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import shlex
import signal
from pathlib import Path

import pytest
import torch
from cli_checks import assert_error
from click.testing import CliRunner

from wavenet_edge.export import cli as export_cli
from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime import cli as runtime_cli
from wavenet_edge.runtime.common.commands import EXIT_INTERRUPTED
from wavenet_edge.runtime.common.dataset import split_items
from wavenet_edge.runtime.model import SHIPPED_MODELS
from wavenet_edge.train import cli as train_cli
from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.progress import ProgressReporter

ROOT = Path(__file__).resolve().parent.parent
SYLLABLES = ["ka", "lo", "mi", "ra", "ne", "to", "sa", "vi", "da", "ber", "ton", "li", "an", "el"]
TINY = ["--channels", "8", "--skip-channels", "8", "--head-channels", "8", "--dilations", "1,2",
        "--batch-size", "16", "--warmup", "5", "--samples", "0", "--quiet"]

pytestmark = pytest.mark.usefixtures("one_thread")


def names(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def run(command, *args: object):
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def package_list(n: int = 600) -> list[str]:
    """Like `apt-cache pkgnames`: a header, digits, '-', '+', '.', items up to 75 characters, and one
    character ('Z') that only an item the split puts in val has."""
    rng = random.Random(1)
    parts = ["lib", "python3", "gnome", "x11", "perl", "ruby", "node", "tools", "dev", "common", "data", "utils"]
    items = []
    for _ in range(n):
        item = "-".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))
        items.append(item + rng.choice(["", "2", "+dfsg", ".0", "-doc"]))
    items[7] = ("python3-gnome-tools-" * 4)[:75]  # 75 characters, the longest
    shuffled = split_items([str(i) for i in range(n)])
    items[int(shuffled.val[0])] = "perl-Zope"
    return ["Package"] + items


def test_a_file_like_a_package_list_trains_with_data_options_only(tmp_path):
    lines = package_list()
    data = tmp_path / "pkgs.txt"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "pkgs.pt"
    result = run(train_cli.main, "--data", data, "--out", out, "--steps", 3)
    assert result.exit_code == 0, result.output
    split = split_items(lines)
    only_val = sorted(set("".join(lines)) - set("".join(split.train)))
    assert "Z" in only_val
    assert f"note: characters {''.join(only_val)!r} occur only in val/test items; the vocabulary has them (the " \
           f"model has never seen them in training)\n" in result.stderr
    own = "".join(sorted(set("Package") - set("".join(lines[1:]))))  # 'P' and 'k'
    assert f"Warning: {data}:1: 'Package' has characters that no other line has ({own!r}): if it is a header, " \
           f"remove it (wn-train takes every line as an item)\n" in result.stderr
    ckpt = load_checkpoint(out)
    assert ckpt.config.max_len == 75  # the longest item
    assert set(ckpt.vocab.chars) == set("".join(lines))
    assert re.search(r"^best val \S+ \(train \S+\) at step 3; ", result.stdout, re.MULTILINE)


def test_an_explicit_max_len_names_the_longest_item_and_the_option(tmp_path):
    data = tmp_path / "pkgs.txt"
    data.write_text("\n".join(package_list()) + "\n")
    result = run(train_cli.main, "--data", data, "--out", tmp_path / "m.pt", "--max-len", 40, "--steps", 1, *TINY)
    assert_error(result, f"{data}:9: the longest item has 75 characters, more than --max-len 40 (raise --max-len, "
                         f"or leave it out to size it from the data)")


def test_init_names_every_character_the_model_does_not_know(tmp_path):
    items = [item for item in package_list() if len(item) <= 32]  # within the shipped model's max_len
    data = tmp_path / "pkgs.txt"
    data.write_text("\n".join(items) + "\n")
    shipped = ROOT / "models" / "wavenet.pt"
    result = run(train_cli.main, "--data", data, "--init", shipped, "--out", tmp_path / "t.pt", "--steps", 1)
    unknown = "".join(sorted(set("".join(items)) - set("abcdefghijklmnopqrstuvwxyz")))
    assert_error(result, f"--init {shipped}: {data} has characters the model does not know: {unknown!r}")


def test_a_table_and_a_tiny_file_get_one_warning_each(tmp_path):
    data = tmp_path / "people.csv"
    rows = [f"{n},{20 + i % 50},{1000 + i}" for i, n in enumerate(names(40))]
    data.write_text("name,age,id\n" + "\n".join(rows) + "\n")
    result = run(train_cli.main, "--data", data, "--out", tmp_path / "p.pt", "--steps", 1, *TINY)
    assert result.exit_code == 0, result.output
    assert f"Warning: {data} looks like a table (3 columns separated by commas; its first line 'name,age,id' looks " \
           f"like a header): wn-train takes each whole line as one item, delimiters included; give it one column, " \
           f"one item per line\n" in result.stderr
    assert f"Warning: {data} has 41 items, so val has 4 (fewer than 50): its loss says little about the model; use " \
           f"more data, or fine-tune a trained model on it (--init default)\n" in result.stderr


def test_resume_alone_continues_with_the_runs_data(tmp_path):
    data = tmp_path / "mine.txt"
    data.write_text("\n".join(names(300)) + "\n")
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    for out in (first, second):
        assert run(train_cli.main, "--data", data, "--out", out, "--steps", 4, "--eval-every", 2, *TINY).exit_code == 0
    alone = run(train_cli.main, "--resume", first, "--steps", 8, "--quiet")
    given = run(train_cli.main, "--data", data, "--resume", second, "--steps", 8, "--quiet")
    assert alone.exit_code == 0 and given.exit_code == 0, alone.output + given.output
    a, b = load_checkpoint(first).train_state, load_checkpoint(second).train_state
    assert a["step"] == b["step"] == 8
    assert all(torch.equal(a["model"][k], v) for k, v in b["model"].items())
    data.rename(tmp_path / "moved.txt")
    assert_error(run(train_cli.main, "--resume", first, "--steps", 10),
                 f"--resume {first}: the run's data {data} is not there (give it with --data FILE)")


def test_fine_tuning_keeps_the_start_when_nothing_beats_it(tmp_path):
    data = tmp_path / "mine.txt"
    data.write_text("\n".join(names(300)) + "\n")
    start = tmp_path / "start.pt"
    assert run(train_cli.main, "--data", data, "--out", start, "--steps", 150, *TINY).exit_code == 0
    tuned = tmp_path / "tuned.pt"
    result = run(train_cli.main, "--data", data, "--init", start, "--out", tuned, "--steps", 10, "--lr", 0.5,
                 "--warmup", 0, "--samples", 0)
    assert result.exit_code == 0, result.output
    history = load_checkpoint(tuned).train_state["history"]
    assert [r["step"] for r in history] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # a tenth of --steps
    assert min(r["val_loss"] for r in history[1:]) > history[0]["val_loss"]  # lr 0.5 only made it worse
    assert load_checkpoint(tuned).metrics["step"] == 0
    start_weights, kept = load_checkpoint(start).state_dict, load_checkpoint(tuned).state_dict
    assert all(torch.equal(start_weights[k], v) for k, v in kept.items())
    assert result.stderr.endswith(
        f"Warning: no evaluation beat the starting weights of --init {start} (val {history[0]['val_loss']:.4f} at "
        f"step 0): {tuned} keeps them; try a lower --lr or fewer --steps\n")


def test_wn_eval_refuses_items_longer_than_the_models_max_len(tmp_path):
    data = tmp_path / "long.txt"
    data.write_text("emma\n" + "a" * 47 + "\nava\n")
    result = run(runtime_cli.eval_command, "--data", data, "--split", "all")
    assert_error(result, f"the shipped model 'default': {data}:2: the longest item has 47 characters, more than the "
                         f"model's max_len 32 (training "
                         f"refuses such items too; score them with a model trained on them)")


def test_wn_export_never_writes_into_the_shipped_models(tmp_path):
    shipped = ROOT / "models"
    before = {p.name: p.read_bytes() for p in shipped.iterdir() if p.is_file()}
    (tmp_path / "d.txt").write_text("\n".join(names(50)) + "\n")
    for args in ([shipped / "wavenet.onnx"], [tmp_path / "x.onnx", "--quantize", "int8", "--data", tmp_path / "d.txt",
                                              "--quantized-output", shipped / "x.int8.onnx"]):
        result = run(export_cli.main, shipped / "wavenet.pt", *args)
        assert result.exit_code == 2
        assert "is in the shipped models' folder" in result.stderr and result.stderr.count("\n") == 1
    assert {p.name: p.read_bytes() for p in shipped.iterdir() if p.is_file()} == before


def test_help_states_the_shipped_models_sizes_from_their_files():
    text = " ".join(run(runtime_cli.generate_command, "--help").output.split())
    sizes = " or ".join(f"{name} ({WavenetModel.load_shipped(name).metadata.parameters:,} parameters)"
                        for name in SHIPPED_MODELS)
    assert f"instead of --onnx: {sizes}." in text


def test_a_raw_pickle_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "raw.pt"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    result = run(export_cli.main, path, tmp_path / "x.onnx")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: {path}: "), result.stderr


def _ctrl_c_at(at: int):
    """A ProgressReporter.step that presses Ctrl-C (a real SIGINT to this process) after step `at`."""
    original = ProgressReporter.step

    def step(self, step, loss, lr):
        original(self, step, loss, lr)
        if step == at:
            os.kill(os.getpid(), signal.SIGINT)
    return step


def _readme_commands(heading: str) -> list[str]:
    """The commands of the first ```sh block under `heading` in README.md (comments dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(f"\n{heading}\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _walk_through() -> list[str]:
    """The README's own-data walk-through and its fine-tune command, with --steps 1000 for the walk-through's
    --time budget (tests/test_docs.py runs both blocks as printed, with fewer steps)."""
    lines = _readme_commands("## Train on your own data") + _readme_commands("## Fine-tune the shipped model")
    return [re.sub(r"--time \S+", "--steps 1000", line) for line in lines]


def test_the_readme_walk_through_runs_as_printed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the checkout: --init default finds the installed model from any folder
    Path("mine.txt").write_text("\n".join(names(600, seed=5)) + "\n")
    commands = {"wn-train": train_cli.main, "wn-export": export_cli.main, "wn-generate": runtime_cli.generate_command,
                "wn-eval": runtime_cli.eval_command}
    lines = _walk_through()
    assert lines[0] == "mkdir -p runs" and len(lines) == 7, lines
    Path("runs").mkdir()
    outputs = []
    for i, line in enumerate(lines[1:]):
        name, *args = shlex.split(line)
        with monkeypatch.context() as patch:
            if i == 0:  # the first run is stopped with Ctrl-C, as the comment says
                patch.setattr(ProgressReporter, "step", _ctrl_c_at(300))
            result = run(commands[name], *args)
        outputs.append(result)
        expected = EXIT_INTERRUPTED if i == 0 else 0
        assert result.exit_code == expected, (line, result.output)
    assert outputs[0].stderr.endswith("interrupted at step 300: resume with --resume runs/mine.pt\n")
    assert load_checkpoint("runs/mine.pt").train_state["step"] == 1000
    assert len(outputs[3].stdout.splitlines()) == 10  # wn-generate -n 10
    history = [json.loads(line) for line in Path("runs/tuned.metrics.jsonl").read_text().splitlines()]
    assert history[0]["step"] == 0
    found = re.search(r"^best val (\S+)", outputs[5].stdout, re.MULTILINE)
    assert found, outputs[5].stdout
    best = float(found.group(1))
    assert best <= round(history[0]["val_loss"], 4)  # at least as good as the shipped model it started from
