"""Training: it learns, it is reproducible, --resume and Ctrl-C continue a run exactly, and wn-train turns every
bad input into one line and exit status 2 without touching existing files. Tiny models, tiny data, few steps."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from wavenet_edge.runtime.common.commands import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from wavenet_edge.runtime.common.dataset import file_sha256, split_items
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab
from wavenet_edge.train import cli
from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.download import KNOWN_DATASETS
from wavenet_edge.train.evaluate import mean_nll
from wavenet_edge.train.progress import ProgressReporter
from wavenet_edge.train.trainer import Reporter, Trainer, TrainSettings, loss_plot_path, metrics_log_path

SYLLABLES = ["ka", "ri", "an", "na", "el", "la", "mo", "ja", "ne", "so", "li", "ta", "ro", "mi", "de"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

CONFIGS = {
    "wavenet": ModelConfig(arch="wavenet", vocab_size=2, channels=8, skip_channels=8, head_channels=8,
                           dilations=(1, 2)),  # vocab_size is replaced by the data's
    "lecture": ModelConfig(arch="lecture", vocab_size=2, n_embd=8, n_hidden=16, block_size=4),
}
CLI_MODEL = {
    "wavenet": ["--channels", "8", "--skip-channels", "8", "--head-channels", "8", "--dilations", "1,2",
                "--batch-size", "16", "--warmup", "5"],
    "lecture": ["--arch", "lecture", "--n-embd", "8", "--n-hidden", "16", "--block-size", "4"],
}
CLI_COMMON = ["--threads", "1", "--device", "cpu", "--quiet"]
CHEAP = ["--steps", 1, "--samples", 0, *CLI_MODEL["wavenet"], *CLI_COMMON]  # in case a bad input were accepted


pytestmark = pytest.mark.usefixtures("one_thread")


def make_items(n: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def wn_train(*args: object):
    result = CliRunner().invoke(cli.main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def without_time(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "elapsed_s"} for record in history]


def make_trainer(arch: str, out_path: Path, reporter: Reporter | None = None, **settings) -> Trainer:
    items = make_items()
    split = split_items(items)
    vocab = Vocab.from_items(split.train)
    config = dataclasses.replace(CONFIGS[arch], vocab_size=vocab.size)
    defaults = {"steps": 40, "eval_every": 10, "samples": 0, "warmup_steps": 5}
    return Trainer(config, vocab, split, TrainSettings(**{**defaults, **settings}), out_path, reporter=reporter)


class Recorder(Reporter):
    def __init__(self):
        self.calls = []

    def start(self, total_steps, first_step):
        self.calls.append(("start", total_steps, first_step))

    def step(self, step, loss, lr):
        self.calls.append(("step", step))

    def evaluation(self, record, samples, is_best):
        self.calls.append(("evaluation", record["step"], len(samples), is_best))

    def close(self):
        self.calls.append(("close",))


class InterruptAt(Reporter):
    """Presses Ctrl-C (a real SIGINT to this process) when step `at` has finished, `times` times."""

    def __init__(self, at: int, times: int = 1):
        self.at, self.times = at, times

    def step(self, step, loss, lr):
        if step == self.at:
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # the trainer's handler
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


# --- the library ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["wavenet", "lecture"])
def test_a_short_run_lowers_the_val_loss_and_writes_log_and_plot(tmp_path, arch):
    out = tmp_path / "run" / "model.pt"
    out.parent.mkdir()
    recorder = Recorder()
    trainer = make_trainer(arch, out, recorder, samples=2, eval_every=20)
    initial = mean_nll(trainer.model, trainer.val_eval, trainer.device)
    result = trainer.run()

    assert not result.interrupted
    assert [r["step"] for r in result.history] == [20, 40]
    final = result.history[-1]["val_loss"]
    assert final < initial - 0.1, (initial, final)
    assert result.best["val_loss"] == min(r["val_loss"] for r in result.history)
    assert recorder.calls == ([("start", 40, 0)] + [("step", i) for i in range(1, 21)] + [("evaluation", 20, 2, True)]
                              + [("step", i) for i in range(21, 41)]
                              + [("evaluation", 40, 2, result.best["step"] == 40), ("close",)])

    # Beside the checkpoint: the metrics log (one JSON record per evaluation) and the loss plot; nothing else.
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.loss.png", "model.metrics.jsonl", "model.pt"]
    assert metrics_log_path(out) == out.with_name("model.metrics.jsonl")
    assert loss_plot_path(out) == out.with_name("model.loss.png")
    lines = metrics_log_path(out).read_text().splitlines()
    assert [json.loads(line) for line in lines] == result.history
    assert loss_plot_path(out).read_bytes().startswith(PNG_MAGIC)
    ckpt = load_checkpoint(out)
    assert ckpt.metrics == result.best and ckpt.train_state["step"] == 40


def test_the_same_seed_gives_the_same_run(tmp_path):
    runs = [make_trainer("wavenet", tmp_path / f"{name}.pt", seed=seed).run()
            for name, seed in [("a", 7), ("b", 7), ("c", 8)]]
    a, b, c = (without_time(run.history) for run in runs)
    assert a == b
    assert a[-1]["val_loss"] != c[-1]["val_loss"]  # the seed matters, so the equality above means something
    state_a, state_b = runs[0].checkpoint.train_state["model"], runs[1].checkpoint.train_state["model"]
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


@pytest.mark.parametrize("arch", ["wavenet", "lecture"])
def test_ctrl_c_stops_after_the_step_and_writes_the_checkpoint(tmp_path, arch):
    out = tmp_path / "model.pt"
    trainer = make_trainer(arch, out, InterruptAt(15))
    result = trainer.run()
    assert result.interrupted
    assert trainer.step == 15
    assert [r["step"] for r in result.history] == [10, 15]  # the stop is evaluated and saved
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the previous handler is back
    ckpt = load_checkpoint(out)
    assert ckpt.train_state["step"] == 15
    assert without_time(ckpt.train_state["history"]) == without_time(result.history)
    assert metrics_log_path(out).read_text().count("\n") == 2


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    out = tmp_path / "model.pt"
    trainer = make_trainer("wavenet", out, InterruptAt(15, times=2))
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert load_checkpoint(out).train_state["step"] == 10  # the last evaluation's checkpoint is intact


# --- wn-train: resume -------------------------------------------------------------------------------------


def test_resume_continues_exactly(tmp_path, data_file):
    # min-lr-ratio 1: a constant rate after warm-up, so a 20-step run and a 40-step run share their first 20
    # steps' schedule. Dropout (0.1 by default) makes the result depend on the restored torch RNG too.
    settings = ["--eval-every", "10", "--min-lr-ratio", "1", "--samples", "1", *CLI_MODEL["wavenet"], *CLI_COMMON]
    straight, resumed = tmp_path / "straight.pt", tmp_path / "resumed.pt"
    assert wn_train("--data", data_file, "--out", straight, "--steps", 40, *settings).exit_code == 0
    assert wn_train("--data", data_file, "--out", resumed, "--steps", 20, *settings).exit_code == 0
    assert load_checkpoint(resumed).train_state["step"] == 20
    # Only --steps is given again: the model, the batch size, lr schedule... come from the checkpoint.
    result = wn_train("--data", data_file, "--resume", resumed, "--steps", 40, *CLI_COMMON)
    assert result.exit_code == 0, result.output

    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert b.train_state["step"] == 40
    assert without_time(b.train_state["history"]) == without_time(a.train_state["history"])
    assert [r["step"] for r in b.train_state["history"]] == [10, 20, 30, 40]
    assert b.train_state["history"][-1]["val_loss"] == a.train_state["history"][-1]["val_loss"]
    assert all(torch.equal(a.train_state["model"][k], v) for k, v in b.train_state["model"].items())
    assert b.config == a.config and b.vocab == a.vocab
    assert [json.loads(line) for line in metrics_log_path(resumed).read_text().splitlines()] == \
        b.train_state["history"]
    best = b.metrics
    assert result.stdout == (
        f"best val {best['val_loss']:.4f} (train {best['train_loss']:.4f}) at step {best['step']}; "
        f"{best['parameters']:,} parameters; checkpoint {resumed}; log {metrics_log_path(resumed)}; "
        f"plot {loss_plot_path(resumed)}\n")


@pytest.mark.parametrize("arch", ["wavenet", "lecture"])
def test_ctrl_c_exits_130_and_resuming_reaches_the_uninterrupted_losses(tmp_path, data_file, monkeypatch, arch):
    args = ["--data", data_file, "--steps", 40, "--eval-every", 10, "--samples", 0, *CLI_MODEL[arch], *CLI_COMMON]
    straight, stopped = tmp_path / "straight.pt", tmp_path / "stopped.pt"
    assert wn_train(*args, "--out", straight).exit_code == 0

    with monkeypatch.context() as patch:
        patch.setattr(ProgressReporter, "step", InterruptAt(15).step)
        result = wn_train(*args, "--out", stopped)
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.stderr.endswith(f"interrupted at step 15: resume with --resume {stopped}\n")
    assert load_checkpoint(stopped).train_state["step"] == 15

    assert wn_train("--data", data_file, "--resume", stopped, *CLI_COMMON).exit_code == 0
    a, b = load_checkpoint(straight).train_state, load_checkpoint(stopped).train_state
    assert b["step"] == 40
    assert [r["step"] for r in b["history"]] == [10, 15, 20, 30, 40]
    for key in ("train_loss", "val_loss"):
        assert b["history"][-1][key] == a["history"][-1][key]
    assert all(torch.equal(a["model"][k], v) for k, v in b["model"].items())


# --- wn-train: bad input ----------------------------------------------------------------------------------


def val_only_char_items() -> list[str]:
    """Items where 'z' occurs only in one that the split puts in val."""
    items = make_items(50)
    shuffled = split_items([str(i) for i in range(len(items))])
    items[int(shuffled.val[0])] = "zaza"
    return items


def bad_data_cases():
    """(name, file bytes or None for no file, extra options, message given the data path)."""
    too_long = "\n".join(make_items(10)[:3] + ["a" * 10_001]).encode()
    return [
        ("missing", None, [], "{p}: no such file"),
        ("empty", b"", [], "{p}: no items (the file is empty or holds only blank lines)"),
        ("blank", b"\n  \n\t\n", [], "{p}: no items (the file is empty or holds only blank lines)"),
        ("binary", b"emma\nol\x00ivia\n", [], "{p}:2: binary data (NUL byte); expected UTF-8 text, one item per line"),
        ("latin-1", "emma\nolivia\nzoé\n".encode("latin-1"), [], "{p}:3: not valid UTF-8 (byte 0xe9)"),
        ("too long", too_long, [],
         "{p}:4: the longest item has 10001 characters, more than max_len's upper bound 10000"),
        ("--max-len", b"emma\nolivia\n", ["--max-len", 5],
         "{p}:2: the longest item has 6 characters, more than --max-len 5 (raise --max-len, or leave it out to size "
         "it from the data)"),
        ("too few", b"emma\nolivia\nava\n", [],
         "too few items for the 80/10/10 split: 3 items give train/val/test of 2/0/1 (each part needs at least 1)"),
    ]


OPTION_CASES = [
    (["--arch", "transformer"], "unknown architecture 'transformer' (choose from: wavenet, lecture)"),
    (["--steps", 0], "--steps must be at least 1, got 0"),
    (["--lr", -1], "--lr must be positive, got -1.0"),
    (["--lr", "nan"], "--lr must be positive, got nan"),
    (["--eval-every", 0], "--eval-every must be at least 1, got 0"),
    (["--optimizer", "adam"], "--optimizer must be one of adamw, sgd, got 'adam'"),
    (["--dilations", "1,0"], "--dilations must be positive integers, got '1,0'"),
    (["--dilations", "a,b"], "--dilations must be comma-separated positive integers, got 'a,b'"),
    (["--channels", 0], "channels must be an integer in 1..4096, got 0"),
    (["--arch", "lecture", "--block-size", 6], "block_size must be a power of two in 1..1024, got 6"),
    (["--threads", 0], "Invalid value for '--threads': 0 is not in the range 1<=x<=256."),
]


def assert_refused(result, message: str, sentinel: Path, listing: list[str]) -> None:
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert sentinel.read_bytes() == b"do not overwrite"
    assert sorted(p.name for p in sentinel.parent.iterdir()) == listing


@pytest.fixture
def sentinel(tmp_path) -> Path:
    path = tmp_path / "out" / "model.pt"
    path.parent.mkdir()
    path.write_bytes(b"do not overwrite")
    return path


@pytest.mark.parametrize(("name", "content", "options", "message"), bad_data_cases(),
                         ids=[case[0] for case in bad_data_cases()])
def test_bad_data_is_one_line_and_writes_nothing(tmp_path, sentinel, name, content, options, message):
    data = tmp_path / "items.txt"
    if content is not None:
        data.write_bytes(content)
    result = wn_train("--data", data, "--out", sentinel, *CHEAP, *options)
    assert_refused(result, message.format(p=data), sentinel, ["model.pt"])


@pytest.mark.parametrize(("options", "message"), OPTION_CASES, ids=[" ".join(map(str, o)) for o, _ in OPTION_CASES])
def test_bad_options_are_one_line_and_write_nothing(data_file, sentinel, options, message):
    result = wn_train("--data", data_file, "--out", sentinel, *CHEAP, *options)  # the last occurrence wins
    assert_refused(result, message, sentinel, ["model.pt"])


def test_out_in_a_missing_directory(tmp_path, data_file):
    out = tmp_path / "nowhere" / "model.pt"
    result = wn_train("--data", data_file, "--out", out, *CHEAP)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == f"Error: --out {out}: directory {out.parent} does not exist\n"
    assert not out.parent.exists()


@pytest.fixture
def wavenet_checkpoint(tmp_path, data_file) -> Path:
    path = tmp_path / "ckpt" / "wavenet.pt"
    path.parent.mkdir()
    result = wn_train("--data", data_file, "--out", path, "--steps", 2, "--samples", 0, *CLI_MODEL["wavenet"],
                      *CLI_COMMON)
    assert result.exit_code == 0, result.output
    return path


def test_resume_with_another_architecture(data_file, sentinel, wavenet_checkpoint):
    before = wavenet_checkpoint.read_bytes()
    result = wn_train("--data", data_file, "--resume", wavenet_checkpoint, "--out", sentinel, "--arch", "lecture",
                      *CLI_COMMON)
    assert_refused(result, f"--resume {wavenet_checkpoint}: checkpoint architecture is 'wavenet', not 'lecture'",
                   sentinel, ["model.pt"])
    assert wavenet_checkpoint.read_bytes() == before


def test_resume_with_another_vocabulary(tmp_path, data_file, sentinel, wavenet_checkpoint):
    other = tmp_path / "other.txt"
    other.write_text("\n".join(make_items(100)).replace("k", "q") + "\n")
    before = wavenet_checkpoint.read_bytes()
    result = wn_train("--data", other, "--resume", wavenet_checkpoint, "--out", sentinel, *CLI_COMMON)
    assert_refused(result, f"--resume {wavenet_checkpoint}: the checkpoint's vocabulary ('adeijklmnorst') "
                           f"differs from {other}'s ('adeijlmnoqrst')", sentinel, ["model.pt"])
    assert wavenet_checkpoint.read_bytes() == before


def test_resume_from_a_bad_file(tmp_path, data_file, sentinel):
    missing = tmp_path / "missing.pt"
    result = wn_train("--data", data_file, "--resume", missing, "--out", sentinel, *CLI_COMMON)
    assert_refused(result, f"{missing}: no such file", sentinel, ["model.pt"])
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("hello world\n")
    result = wn_train("--data", data_file, "--resume", garbage, "--out", sentinel, *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.startswith(f"Error: {garbage}: not a readable checkpoint (truncated or corrupt?): ")
    assert result.stderr.count("\n") == 1
    assert sentinel.read_bytes() == b"do not overwrite"


# --- wn-train: --data names -------------------------------------------------------------------------------


def test_data_names_resolves_through_the_downloader(tmp_path, monkeypatch):
    """A verified cached copy is used without any request (the URL points at a closed port)."""
    data_dir = tmp_path / "cache"
    data_dir.mkdir()
    cached = data_dir / "names.txt"
    cached.write_text("\n".join(make_items(60)) + "\n")
    sha = file_sha256(cached)
    monkeypatch.setitem(KNOWN_DATASETS, "names", dataclasses.replace(
        KNOWN_DATASETS["names"], url="http://127.0.0.1:9/names.txt", sha256=sha))
    monkeypatch.chdir(tmp_path)  # no ./names file shadows the data set name
    for var in ("no_proxy", "NO_PROXY"):  # a proxy from the environment must not answer for 127.0.0.1
        monkeypatch.setenv(var, "*")
    out = tmp_path / "model.pt"
    result = wn_train("--data", "names", "--data-dir", data_dir, "--out", out, "--steps", 2, "--samples", 0,
                      *CLI_MODEL["wavenet"], *CLI_COMMON)
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out).data == {
        "source": "names", "file": "names.txt", "sha256": sha, "items": 60,
        "split": {"method": "random.seed(42); random.shuffle; 80/10/10", "seed": 42, "train": 48, "val": 6,
                  "test": 6},
    }
    assert not (tmp_path / "data").exists()  # --data-dir, not the default ./data

    # A cached copy whose hash does not match is fetched again: here that fails, in one line, and is kept.
    monkeypatch.setitem(KNOWN_DATASETS, "names", dataclasses.replace(KNOWN_DATASETS["names"], sha256="0" * 64))
    result = wn_train("--data", "names", "--data-dir", data_dir, "--out", out, *CHEAP)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.startswith("Error: cannot download http://127.0.0.1:9/names.txt: ")
    assert file_sha256(cached) == sha
