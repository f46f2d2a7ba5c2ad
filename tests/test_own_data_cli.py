"""Own data, first time: the model wn-train chooses from the data and prints, its speed line, --time, --init with
a shipped model's name from any folder, an existing --out that is never replaced silently, an exported model given
to --resume, the shipped model named in the runtime's errors, and wn-eval on a file that is not the model's own
(scored whole, --split all suggested, --per-item)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_checks import assert_error
from click.testing import CliRunner

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime import cli as runtime_cli
from wavenet_edge.runtime.common.commands import EXIT_INTERRUPTED
from wavenet_edge.runtime.common.dataset import split_items
from wavenet_edge.runtime.model import shipped_model_path


def train_test(func):
    """A test that runs wn-train, wn-data or the training modules: skipped without the train extra."""
    return pytest.mark.needs_train_extra(pytest.mark.usefixtures("one_thread")(func))


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FEW = ["emma", "olivia", "zyxw", "nan", "null"]
TINY = ["--channels", "8", "--skip-channels", "8", "--head-channels", "8", "--dilations", "1,2", "--stacks", "1",
        "--batch-size", "16", "--warmup", "5", "--samples", "0"]


def mine(n: int = 300, seed: int = 0) -> list[str]:
    """Made-up lowercase items (as the docs test's mine.txt)."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ra", "ne", "to", "sa", "vi", "da", "ber", "ton", "li", "an", "el"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def write(path: Path, items: list[str]) -> Path:
    path.write_text("\n".join(items) + "\n", encoding="utf-8")
    return path


def invoke(command, *args: object):
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def wn_train(*args: object):
    from wavenet_edge.train import cli as train_cli

    return invoke(train_cli.main, *args)


# --- the model chosen from the data -----------------------------------------------------------------------


@train_test
def test_the_chosen_model_covers_the_95th_percentile_item_length():
    from wavenet_edge.train.auto import choose_for_data, length_percentile

    names = mine(3000)
    choice = choose_for_data(names, split_items(names).train)
    assert choice.receptive_field == 31  # the default recipe's, enough for names
    assert choice.model["dilations"] == (1, 2, 4, 8) and choice.model["stacks"] == 2
    for length in (40, 100, 700):
        items = ["x" * length] * 96 + ["y" * 3] * 4
        choice = choose_for_data(items, split_items(items).train)
        assert length_percentile(items) == length
        assert choice.receptive_field >= length + 1
        assert 2 <= choice.model["stacks"] <= 4


@train_test
def test_the_chosen_size_batch_and_steps_follow_the_data():
    from wavenet_edge.train.auto import choose_for_data

    small = mine(300)
    choice = choose_for_data(small, split_items(small).train)
    assert (choice.model["channels"], choice.settings.batch_size, choice.settings.steps) == (16, 64, 2000)
    big = mine(30_000)
    choice = choose_for_data(big, split_items(big).train)
    assert (choice.model["channels"], choice.settings.batch_size, choice.settings.steps) == (32, 256, 28_000)
    assert choice.settings.ema == 0.999
    assert choose_for_data(big, split_items(big).train, steps=500).settings.eval_every == 100


@train_test
def test_wn_train_prints_the_chosen_model_and_options_replace_its_parts(tmp_path):
    data = write(tmp_path / "mine.txt", mine())
    out = tmp_path / "t.pt"
    result = wn_train("--data", data, "--out", out, "--steps", 3, "--samples", 0)
    assert result.exit_code == 0, result.output
    assert ("model chosen from the data: wavenet, 2 x dilations "
            "1-2-4-8, 16 channels, 48 skip, 48 head; 20,207 parameters; receptive field 31 characters (items: 95th "
            "percentile 9, longest 11); batch 64, 3 steps\n") in result.stderr
    result = wn_train("--data", data, "--out", tmp_path / "u.pt", "--steps", 3, "--channels", 8, "--batch-size", 8,
                      "--samples", 0)
    assert result.exit_code == 0, result.output
    assert "wavenet, 2 x dilations 1-2-4-8, 8 channels, 48 skip, 48 head;" in result.stderr
    assert "batch 8, 3 steps" in result.stderr


@train_test
def test_the_speed_and_the_expected_end_are_printed_after_a_warm_up(tmp_path, monkeypatch):
    from wavenet_edge.train import trainer

    monkeypatch.setattr(trainer, "SPEED_AFTER_S", 0.0)
    data = write(tmp_path / "mine.txt", mine())
    result = wn_train("--data", data, "--out", tmp_path / "t.pt", "--steps", 30, *TINY)
    assert result.exit_code == 0, result.output
    speed = [line for line in result.stderr.splitlines() if line.startswith("speed: ")]
    assert len(speed) == 1, result.stderr
    assert " steps/s; 30 steps end in about " in speed[0]


@train_test
def test_the_progress_bar_shows_no_val_before_the_first_evaluation():
    from wavenet_edge.train.progress import ProgressReporter

    class Bar:
        def __init__(self):
            self.postfixes = []

        def update(self, n):
            pass

        def set_postfix(self, **values):
            self.postfixes.append(values)

    reporter = ProgressReporter()
    reporter.bar = Bar()
    reporter.step(50, 2.5, 1e-3)
    assert "val" not in reporter.bar.postfixes[-1] and "nan" not in str(reporter.bar.postfixes)
    reporter.val = 2.25
    reporter.step(100, 2.0, 1e-3)
    assert reporter.bar.postfixes[-1]["val"] == "2.2500"


# --- --time -----------------------------------------------------------------------------------------------


@train_test
def test_durations():
    from wavenet_edge.train.auto import parse_duration

    assert [parse_duration(t) for t in ("90s", "10m", "1.5h", "1h30m", "2m 5s")] == [90, 600, 5400, 5400, 125]


@train_test
@pytest.mark.parametrize(("options", "message"), [
    (["--time", "10"], "--time must be a duration such as 90s, 10m or 1h30m, got '10'"),
    (["--time", "ten minutes"], "--time must be a duration such as 90s, 10m or 1h30m, got 'ten minutes'"),
    (["--time", "0s"], "--time must be more than 0s and at most 720h, got '0s'"),
    (["--time", "10m", "--steps", "5"], "--time and --steps both set the length of the run: give one"),
])
def test_bad_time_options(tmp_path, options, message):
    data = write(tmp_path / "mine.txt", mine())
    assert_error(wn_train("--data", data, "--out", tmp_path / "t.pt", *options), message)
    assert not (tmp_path / "t.pt").exists()


@train_test
def test_time_fits_the_steps_records_them_and_resume_continues_the_same_run(tmp_path, monkeypatch):
    from wavenet_edge.train.checkpoint import load_checkpoint
    from wavenet_edge.train.progress import ProgressReporter

    data = write(tmp_path / "mine.txt", mine())
    out = tmp_path / "t.pt"
    result = wn_train("--data", data, "--out", out, "--time", "4s", *TINY)
    assert result.exit_code == 0, result.output
    plan = [line for line in result.stderr.splitlines() if line.startswith("--time 4 s: ")]
    assert plan and " steps at " in plan[0], result.stderr
    state = load_checkpoint(out).train_state
    assert state["step"] == state["settings"]["steps"] > 1
    assert state["time_budget_s"] == 4.0

    # Ctrl-C in the middle of a --time run: --resume finishes the count that the run chose
    stopped = tmp_path / "stopped.pt"

    def interrupt(self, step, loss, lr):
        if step == 30:
            os.kill(os.getpid(), signal.SIGINT)

    with monkeypatch.context() as patch:
        patch.setattr(ProgressReporter, "step", interrupt)
        result = wn_train("--data", data, "--out", stopped, "--time", "20s", "--eval-every", 10, *TINY)
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    chosen = load_checkpoint(stopped).train_state["settings"]["steps"]
    assert load_checkpoint(stopped).train_state["step"] == 30 < chosen < 100_000  # planned before its first save
    assert_error(wn_train("--resume", stopped, "--time", "10s"),
                 "--time with --resume: a resumed run keeps the step count it chose when it started (raise it with "
                 "--steps)")
    result = wn_train("--resume", stopped, "-q")
    assert result.exit_code == 0, result.output
    state = load_checkpoint(stopped).train_state
    assert state["step"] == state["settings"]["steps"] == chosen


# --- an existing --out, --resume and --init ---------------------------------------------------------------


@train_test
def test_an_existing_checkpoint_is_never_replaced_silently(tmp_path):
    data = write(tmp_path / "mine.txt", mine())
    out = tmp_path / "t.pt"
    assert wn_train("--data", data, "--out", out, "--steps", 4, *TINY, "-q").exit_code == 0
    before = out.read_bytes()
    assert_error(wn_train("--data", data, "--out", out, "--steps", 2, *TINY, "-q"),
                 f"--out {out}: a checkpoint is already there; continue its run with --resume {out}, or start a "
                 f"new one over it with --overwrite")
    assert out.read_bytes() == before
    result = wn_train("--data", data, "--resume", out, "--steps", 6, "-q")
    assert result.exit_code == 0, result.output
    result = wn_train("--data", data, "--out", out, "--steps", 2, *TINY, "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    from wavenet_edge.train.checkpoint import load_checkpoint

    assert load_checkpoint(out).train_state["step"] == 2


@train_test
def test_after_ctrl_c_the_same_command_is_refused_and_names_resume(tmp_path, monkeypatch):
    from wavenet_edge.train.progress import ProgressReporter

    data = write(tmp_path / "mine.txt", mine())
    out = tmp_path / "t.pt"
    args = ["--data", data, "--out", out, "--steps", 40, "--eval-every", 10, *TINY]

    def interrupt(self, step, loss, lr):
        if step == 15:
            os.kill(os.getpid(), signal.SIGINT)

    with monkeypatch.context() as patch:
        patch.setattr(ProgressReporter, "step", interrupt)
        assert wn_train(*args).exit_code == EXIT_INTERRUPTED
    assert_error(wn_train(*args), f"--out {out}: a checkpoint is already there; continue its run with --resume "
                                  f"{out}, or start a new one over it with --overwrite")


@train_test
@pytest.mark.parametrize("option", ["--resume", "--init"])
def test_an_exported_model_given_to_resume_or_init_is_named(tmp_path, option):
    data = write(tmp_path / "mine.txt", mine())
    onnx = tmp_path / "x.onnx"
    shutil.copyfile(shipped_model_path(), onnx)
    what = "continues the run saved in" if option == "--resume" else "starts from"
    message = (f"{option} {onnx}: is an exported model (ONNX), not a training checkpoint; {option} {what} the .pt "
               f"checkpoint that wn-train wrote")
    assert_error(wn_train("--data", data, option, onnx, "--out", tmp_path / "t.pt"), message)
    renamed = tmp_path / "x.pt"  # the content tells it too
    onnx.rename(renamed)
    assert_error(wn_train("--data", data, option, renamed, "--out", tmp_path / "t.pt"),
                 message.replace(str(onnx), str(renamed)))


@train_test
def test_the_shipped_checkpoints_are_installed_with_the_package():
    from wavenet_edge.train.checkpoint import load_checkpoint
    from wavenet_edge.train.cli import shipped_checkpoint_path

    for name in ("default", "large"):
        path = shipped_checkpoint_path(name)
        assert path.is_file() and path.parent == shipped_model_path().parent
        assert tuple(load_checkpoint(path).vocab.chars) == tuple("abcdefghijklmnopqrstuvwxyz")
    assert 'wavenet_edge.models" = ["*.onnx", "*.pt"' in (ROOT / "pyproject.toml").read_text()


@train_test
def test_the_small_data_warning_suggests_init_default_only_to_a_run_without_init(tmp_path):
    from wavenet_edge.train.data_checks import data_warnings

    items = mine(100)
    split = split_items(items)
    (plain,) = data_warnings(Path("d.txt"), items, split)
    assert plain.endswith("use more data, or fine-tune a trained model on it (--init default)")
    (tuned,) = data_warnings(Path("d.txt"), items, split, fine_tuning=True)
    assert tuned.endswith("its loss says little about the model; use more data")


@train_test
def test_wn_data_leaves_nothing_behind_on_failure(tmp_path, monkeypatch):
    from wavenet_edge.train.data_cli import main as data_main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WAVENET_EDGE_DATA_DIR", raising=False)
    result = invoke(data_main, "names", "--url", "http://127.0.0.1:9/names.txt")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot download http://127.0.0.1:9/names.txt: ")
    assert list(tmp_path.iterdir()) == []
    result = invoke(data_main, "names", "--data-dir", "a/b", "--url", "http://127.0.0.1:9/names.txt")
    assert result.exit_code == 2 and list(tmp_path.iterdir()) == []


# --- the runtime: the shipped model named, wn-eval on your own items ---------------------------------------


def test_errors_of_the_shipped_model_name_it():
    assert_error(invoke(runtime_cli.complete_command, "--prefix", "python3"),
                 "the shipped model 'default': prefix 'python3': characters not in the vocabulary: '3' (allowed: "
                 "'abcdefghijklmnopqrstuvwxyz')")
    assert_error(invoke(runtime_cli.generate_command, "--prefix", "x3", "-n", 1),
                 "the shipped model 'default': prefix 'x3': characters not in the vocabulary: '3' (allowed: "
                 "'abcdefghijklmnopqrstuvwxyz')")
    onnx = shipped_model_path()
    assert_error(invoke(runtime_cli.complete_command, "--prefix", "python3", "--onnx", onnx),
                 "prefix 'python3': characters not in the vocabulary: '3' (allowed: 'abcdefghijklmnopqrstuvwxyz')")


def test_wn_eval_names_the_shipped_model_in_its_errors_and_verbose_names_its_file(tmp_path):
    data = write(tmp_path / "pkgs.txt", ["python3-" + "x" * 40, "libc6"])
    assert_error(invoke(runtime_cli.eval_command, "--data", data),
                 f"the shipped model 'default': {data}:1: the longest item has 48 characters, more than the model's "
                 f"max_len 32 (training refuses such items too; score them with a model trained on them)")
    few = write(tmp_path / "few.txt", FEW)
    result = invoke(runtime_cli.eval_command, "--data", few, "--verbose")
    assert result.exit_code == 0
    assert f"model: the shipped model 'default' ({shipped_model_path()})\n" in result.stderr
    result = invoke(runtime_cli.complete_command, "--prefix", "ka", "-k", 1, "--verbose")
    assert result.stderr.startswith(f"model: the shipped model 'default' ({shipped_model_path()})\n")


def test_wn_eval_scores_a_foreign_file_whole_and_suggests_split_all(tmp_path):
    few = write(tmp_path / "few.txt", FEW)
    result = invoke(runtime_cli.eval_command, "--data", few)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("all: ") and result.stdout.endswith(
        " nats per character over 5 items, 26 characters (end tokens included)\n")
    assert result.stderr == (f"note: {few} is not the data the model was trained on (sha256 differs): all 5 items "
                             f"are scored (--split names a part of the 80/10/10 split)\n")
    assert_error(invoke(runtime_cli.eval_command, "--data", few, "--split", "val"),
                 f"{few}: too few items for the 80/10/10 split: 5 items give train/val/test of 4/0/1 (each part "
                 f"needs at least 1); score every item with --split all")


def test_wn_eval_per_item_prints_item_nll_per_char_and_chars_in_input_order(tmp_path):
    few = write(tmp_path / "few.txt", FEW)
    result = invoke(runtime_cli.eval_command, "--data", few, "--split", "all", "--per-item")
    assert result.exit_code == 0, result.output
    logprobs = WavenetModel.load(shipped_model_path()).score(FEW).logprobs
    assert result.stdout == "".join(f"{item}\t{-lp / (len(item) + 1):.6f}\t{len(item) + 1}\n"
                                    for item, lp in zip(FEW, logprobs, strict=True))


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "js" / "node_modules").is_dir(),
                    reason="node or js/node_modules absent")
def test_the_js_twin_prints_the_same_per_item_lines(tmp_path):
    few = write(tmp_path / "few.txt", FEW)
    python = invoke(runtime_cli.eval_command, "--data", few, "--onnx", ROOT / "models" / "wavenet.onnx", "--per-item")
    js = subprocess.run(["node", str(ROOT / "js" / "bin" / "wavenet-edge.js"), "score", "--onnx",
                         str(ROOT / "models" / "wavenet.onnx"), "--data", str(few), "--per-item"],
                        capture_output=True, text=True, timeout=120)
    assert js.returncode == 0, js.stderr
    assert js.stdout == python.stdout
    assert js.stderr == python.stderr


# --- from a folder outside the checkout, through the installed commands ------------------------------------


@train_test
def test_the_own_data_path_from_a_folder_outside_the_checkout(tmp_path):
    write(tmp_path / "mine.txt", mine())
    write(tmp_path / "few.txt", FEW)
    env = {**os.environ, "PYTHONPATH": ""}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)

    tuned = run("wn-train", "--data", "mine.txt", "--init", "default", "--out", "t.pt", "--steps", "20", "-q")
    assert tuned.returncode == 0, tuned.stderr
    assert (tmp_path / "t.pt").is_file()
    again = run("wn-train", "--data", "mine.txt", "--out", "t.pt", "--steps", "5")
    assert again.returncode == 2
    assert again.stderr == ("Error: --out t.pt: a checkpoint is already there; continue its run with --resume t.pt, "
                            "or start a new one over it with --overwrite\n")
    scored = run("wn-eval", "--data", "few.txt")
    assert scored.returncode == 0, scored.stderr
    assert scored.stdout.startswith("all: ") and " over 5 items" in scored.stdout
    per_item = run("wn-eval", "--data", "few.txt", "--split", "all", "--per-item")
    assert per_item.returncode == 0, per_item.stderr
    lines = per_item.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == FEW
    assert all(len(line.split("\t")) == 3 for line in lines)
