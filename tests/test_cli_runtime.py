"""wn-generate, wn-eval, wn-info through click's CliRunner: output, and one exact "Error: ..." line (exit 2)
for every kind of bad input. Runs on the committed fixtures (no torch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest
from click.testing import CliRunner
from model_files import FIXTURES, bad_files
from tiny_data import ITEMS, VOCAB

from wavenet_edge.runtime import WavenetModel, cli
from wavenet_edge.runtime import model as model_module
from wavenet_edge.runtime.common.dataset import split_items
from wavenet_edge.runtime.common.errors import DataError, ModelFileError


@pytest.fixture(scope="module")
def models():
    return FIXTURES


@pytest.fixture(scope="module")
def step(models):
    return WavenetModel.load(models.step, provider="cpu")


def run(command, args: list[str]):
    return CliRunner().invoke(command, [str(a) for a in args])


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


# ---------------------------------------------------------------- wn-generate


def test_generate_prints_the_seeded_names(models, step):
    result = run(cli.generate_command, ["--onnx", models.step, "-n", 12, "--seed", 3])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == step.generate(12, seed=3, exclude={""})  # empty names are skipped
    assert result.stderr == ""
    again = run(cli.generate_command, ["--onnx", models.step, "-n", 12, "--seed", 3, "--batch-size", 1])
    assert again.stdout == result.stdout


def test_generate_never_prints_an_empty_name(models, step):
    raw = step.generate(400, seed=11, max_len=3, allow_empty=True)
    assert "" in raw  # the tiny model sometimes ends a name at once
    result = run(cli.generate_command, ["--onnx", models.step, "-n", 400, "--seed", 11, "--max-len", 3])
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    assert len(printed) == 400 and "" not in printed
    assert printed[:20] == [name for name in raw if name][:20]
    assert printed == step.generate(400, seed=11, max_len=3)  # the API skips them too
    assert printed == step.generate(400, seed=11, max_len=3, min_len=1)  # the constrained path: the same names


def test_generate_stops_quietly_when_the_reader_goes_away(models):
    """`wn-generate -n 1000000 | head -1`: exit status 0, nothing on stderr."""
    command = [sys.executable, "-c", "from wavenet_edge.runtime.cli import generate_command; generate_command()",
               "--onnx", str(models.step), "-n", "1000000", "--seed", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader goes away
        stderr = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert first.strip() and code == 0 and stderr == b""


def test_generate_settings_reach_the_library(models, step):
    args = ["--onnx", models.step, "-n", 20, "--seed", 5, "--temperature", 0.7, "--top-k", 4, "--top-p", 0.9,
            "--prefix", "ka", "--max-len", 6, "--threads", 1, "--provider", "cpu"]
    result = run(cli.generate_command, args)
    assert result.exit_code == 0, result.output
    expected = step.generate(20, seed=5, temperature=0.7, top_k=4, top_p=0.9, prefix="ka", max_len=6,
                             exclude={""})
    assert result.stdout.splitlines() == expected
    assert all(name.startswith("ka") and len(name) <= 6 for name in expected)


def test_generate_jsonl(models, step):
    result = run(cli.generate_command, ["--onnx", models.window, "-n", 8, "--seed", 2, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [sorted(row) for row in rows] == [["logprob", "name"]] * 8
    expected = step.generate(8, seed=2, return_logprobs=True, exclude={""})
    assert [row["name"] for row in rows] == [name for name, _ in expected]
    assert [row["logprob"] for row in rows] == pytest.approx([lp for _, lp in expected], abs=1e-5)


def test_generate_unique_and_exclude(models, step, tmp_path):
    plain = step.generate(40, seed=8)
    exclude = tmp_path / "taken.txt"
    exclude.write_text("\n".join(plain[:10]) + "\n\n")
    result = run(cli.generate_command, ["--onnx", models.step, "-n", 40, "--seed", 8, "--unique",
                                        "--exclude", exclude])
    assert result.exit_code == 0, result.output
    names = result.stdout.splitlines()
    assert len(names) == 40 == len(set(names))
    assert not set(names) & set(plain[:10])
    assert names == step.generate(40, seed=8, unique=True, exclude=set(plain[:10]))


def test_generate_unique_gives_up_in_one_line(models):
    result = run(cli.generate_command, ["--onnx", models.step, "-n", 3, "--top-k", 1, "--unique"])
    assert result.exit_code == 2
    assert result.stdout.count("\n") == 1  # the one greedy name, then the error
    assert result.stderr.startswith("Error: gave up after 1000 samples in a row were duplicates or excluded: found 1")


def test_generate_verbose_reports_providers_and_seed(models):
    result = run(cli.generate_command, ["--onnx", models.step, "-n", 4, "--verbose"])
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"model: {models.step} (step graph); providers: CPUExecutionProvider; seed: ")
    seed = int(first.rsplit("seed: ", 1)[1])
    assert "us per character" in result.stderr.splitlines()[1]
    again = run(cli.generate_command, ["--onnx", models.step, "-n", 4, "--seed", seed])
    assert again.stdout == result.stdout  # the fresh seed reproduces the names


def test_generate_uses_the_shipped_model(models, monkeypatch, tmp_path):
    monkeypatch.setattr(model_module, "SHIPPED_MODELS", {"default": "not-there.onnx", "large": "nor-this.onnx"})
    assert_one_line_error(run(cli.generate_command, ["-n", 2]),
                          "no shipped model: wavenet_edge.models/not-there.onnx is not installed (pass --onnx PATH, "
                          "or export one with wn-export)")
    (tmp_path / "names.txt").write_text("ab\nba\n")
    assert_one_line_error(run(cli.eval_command, ["--model", "large", "--data", tmp_path / "names.txt"]),
                          "no shipped model: wavenet_edge.models/nor-this.onnx is not installed (pass --onnx PATH, "
                          "or export one with wn-export)")
    assert_one_line_error(run(cli.generate_command, ["--model", "large", "--onnx", models.step]),
                          "--onnx and --model both name a model: give one")
    with pytest.raises(ModelFileError, match=r"^no shipped model named 'huge' \(choose from: default, large\)$"):
        model_module.shipped_model_path("huge")
    chosen = []
    monkeypatch.setattr(cli, "shipped_model_path", lambda name: chosen.append(name) or models.step)
    for args, name in ((["-n", 2, "--seed", 1], "default"), (["--model", "large", "-n", 2, "--seed", 1], "large")):
        result = run(cli.generate_command, args)
        assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
        assert chosen.pop() == name


def test_bad_model_files(models, tmp_path):
    for name, (path, message) in bad_files(tmp_path / "bad", models.step).items():
        assert_one_line_error(run(cli.generate_command, ["--onnx", path, "-n", 2]), message)
        if name in ("missing", "text", "truncated 0.5", "not ours", "version"):
            assert_one_line_error(run(cli.info_command, [path]), message)
            assert_one_line_error(run(cli.eval_command, ["--onnx", path, "--data", tmp_path / "x.txt"]),
                                  f"{tmp_path / 'x.txt'}: no such file")


def installed() -> str:
    return ", ".join(ort.get_available_providers())


@pytest.mark.parametrize("args, message", [
    (["--prefix", "Kaz"], f"prefix 'Kaz': characters not in the vocabulary: 'Kz' (allowed: {''.join(VOCAB.chars)!r})"),
    (["-n", 0], "-n must be a positive integer, got 0"),
    (["-n", -3], "-n must be a positive integer, got -3"),
    (["--temperature", 0], "temperature must be > 0, got 0.0"),
    (["--temperature", -0.5], "temperature must be > 0, got -0.5"),
    (["--top-p", 0], "top-p must be in (0, 1], got 0.0"),
    (["--top-p", 1.01], "top-p must be in (0, 1], got 1.01"),
    (["--top-k", 0], "top-k must be an integer >= 1, got 0"),
    (["--max-len", 1, "--prefix", "ka"], "max-len 1 is below the length of prefix 'ka' (2)"),
    (["--max-len", 0], "Invalid value for '--max-len': 0 is not in the range 1<=x<=10000."),
    (["--max-len", 10**9], "Invalid value for '--max-len': 1000000000 is not in the range 1<=x<=10000."),
    (["--batch-size", 0], "Invalid value for '--batch-size': 0 is not in the range 1<=x<=65536."),
    (["--batch-size", 10**9], "Invalid value for '--batch-size': 1000000000 is not in the range 1<=x<=65536."),
    (["--threads", 0], "Invalid value for '--threads': 0 is not in the range 1<=x<=256."),
    (["--threads", 20000], "Invalid value for '--threads': 20000 is not in the range 1<=x<=256."),
    (["--seed", -1], "Invalid value for '--seed': -1 is not in the range 0<=x<=9223372036854775807."),
    (["--provider", "tpu"], f"execution provider 'tpu' is not available here; installed: {installed()}"),
    (["--format", "xml"], "Invalid value for '--format': 'xml' is not one of 'text', 'jsonl'."),
    (["-n", "many"], "Invalid value for '-n': 'many' is not a valid integer."),
])
def test_bad_generate_options(models, args, message):
    assert_one_line_error(run(cli.generate_command, ["--onnx", models.step, *args]), message)


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="this machine has CUDA")
def test_cuda_refused_on_a_cpu_only_install(models):
    assert_one_line_error(
        run(cli.generate_command, ["--onnx", models.step, "--provider", "cuda"]),
        "execution provider 'cuda' is not available here (the GPU path needs the onnxruntime-gpu package instead "
        f"of onnxruntime); installed: {installed()}",
    )


def test_unreadable_exclude_file(models, tmp_path):
    missing = tmp_path / "nope.txt"
    assert_one_line_error(run(cli.generate_command, ["--onnx", models.step, "--exclude", missing]),
                          f"--exclude {missing}: no such file")
    assert_one_line_error(run(cli.generate_command, ["--onnx", models.step, "--exclude", tmp_path]),
                          f"--exclude {tmp_path}: is a directory, not a text file")
    binary = tmp_path / "names.bin"
    binary.write_bytes(b"kali\n\x00\x01")
    assert_one_line_error(run(cli.generate_command, ["--onnx", models.step, "--exclude", binary]),
                          f"--exclude {binary}:2: binary data (NUL byte); expected UTF-8 text, one item per line")


# ---------------------------------------------------------------- wn-eval


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "names.txt"
    path.write_text("\n".join(ITEMS) + "\n")
    return path


@pytest.mark.parametrize("split", ["train", "val", "test", "all"])
def test_eval_scores_the_lectures_split(models, step, data_file, split):
    items = ITEMS if split == "all" else split_items(ITEMS).part(split)
    expected = step.score(items)
    result = run(cli.eval_command, ["--onnx", models.step, "--data", data_file, "--split", split,
                                    "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == split and report["n_items"] == len(items) == expected.n_items
    assert report["n_chars"] == expected.n_chars
    assert report["nll_per_char"] == pytest.approx(expected.nll_per_char, abs=1e-12)
    assert report["same_data_as_training"] is False  # the fixture's metadata names another file


def test_eval_text(models, step, data_file):
    result = run(cli.eval_command, ["--onnx", models.window, "--data", data_file, "--split", "val"])
    assert result.exit_code == 0, result.output
    val = step.score(split_items(ITEMS).val)
    assert result.stdout == (f"val: {val.nll_per_char:.6f} nats per character over {val.n_items} items, "
                             f"{val.n_chars} characters (end tokens included)\n")
    assert "not the one the model was trained on" in result.stderr


def test_eval_bad_data(models, tmp_path):
    data = tmp_path / "names.txt"
    data.write_text("kali\n\nmora\nKa-li\n")
    allowed = "".join(VOCAB.chars)
    assert_one_line_error(run(cli.eval_command, ["--onnx", models.step, "--data", data]),
                          f"{data}:4: item 'Ka-li' has characters not in the model's vocabulary: 'K-' "
                          f"(allowed: {allowed!r})")
    data.write_text("kali\nmora\n")
    with pytest.raises(DataError) as too_few:
        split_items(["kali", "mora"])
    assert_one_line_error(run(cli.eval_command, ["--onnx", models.step, "--data", data, "--split", "val"]),
                          f"{data}: {too_few.value}; score every item with --split all")
    result = run(cli.eval_command, ["--onnx", models.step, "--data", data, "--split", "all"])
    assert result.exit_code == 0 and result.stdout.startswith("all: ")
    assert_one_line_error(run(cli.eval_command, ["--onnx", models.step, "--data", data, "--split", "dev"]),
                          "Invalid value for '--split': 'dev' is not one of 'train', 'val', 'test', 'all'.")
    assert_one_line_error(run(cli.eval_command, ["--onnx", models.step]), "Missing option '--data'.")


# ---------------------------------------------------------------- wn-info


def test_info_text_and_json(models):
    result = run(cli.info_command, [models.step])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in ("wavenet-edge format 2, step graph", "architecture:      wavenet", "channels=8",
                     f"vocabulary:        {VOCAB.size} ids", "receptive field:   8 tokens; state: 56 floats per row",
                     "input:             tokens int64 [batch]", "input:             oldest_2 float32 [batch, 8]",
                     "output:            logits float32 [batch, ", '"val_loss": 1.6', '"source": "test-syllables"',
                     f"providers here:    {installed()}", f"({models.step.stat().st_size:,} bytes)"):
        assert expected in text, expected
    info = json.loads(run(cli.info_command, [models.lecture_window, "--format", "json"]).stdout)
    assert info["graph"] == "window" and info["arch"] == "lecture" and info["receptive_field"] == 8
    assert info["parameters"] == WavenetModel.load(models.lecture_window).metadata.parameters  # torch: parity tests
    assert info["io"]["inputs"][0]["name"] == "tokens" and info["providers_available"] == ort.get_available_providers()
    assert info["vocab"]["chars"] == list(VOCAB.chars)
