"""End to end on a names file: wn-train -> wn-export -> wn-eval / wn-generate, through the CLIs.

The data file is a names.txt stand-in the test writes (tiny_data.write_names: 600 lower-case names that use
all 26 letters). The model is tiny and trains for a few hundred steps; what is checked is that the pieces
agree: the val loss the ONNX runtime measures equals the training log's, and the exported file describes itself.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tiny_data import write_names

from wavenet_edge.export import cli as export_cli
from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime import cli as runtime_cli
from wavenet_edge.runtime.common.dataset import file_sha256, read_items, split_items
from wavenet_edge.train import cli as train_cli
from wavenet_edge.train.trainer import metrics_log_path

NAMES_COUNT = 600  # train 480, val 60, test 60

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {
    "wavenet": ["--channels", "8", "--skip-channels", "8", "--head-channels", "16", "--dilations", "1,2,4",
                "--steps", "120", "--eval-every", "60", "--batch-size", "32", "--warmup", "10"],
    "lecture": ["--arch", "lecture", "--n-embd", "8", "--n-hidden", "16", "--steps", "200", "--eval-every", "100"],
}


def invoke(command, args):
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module", params=["wavenet", "lecture"])
def pipeline(request, tmp_path_factory, one_thread):
    arch = request.param
    root = tmp_path_factory.mktemp(arch)
    checkpoint, onnx_path = root / "model.pt", root / "model.onnx"
    names = write_names(root / "names.txt", NAMES_COUNT)
    invoke(train_cli.main, ["--data", names, "--out", checkpoint, "--samples", "0", "--quiet", *TINY[arch]])
    invoke(export_cli.main, [checkpoint, onnx_path, "--quiet"])
    return arch, names, checkpoint, onnx_path


def test_wn_eval_agrees_with_the_training_log(pipeline):
    _, names, checkpoint, onnx_path = pipeline
    history = [json.loads(line) for line in metrics_log_path(checkpoint).read_text().splitlines()]
    best = min(history, key=lambda record: record["val_loss"])
    result = invoke(runtime_cli.eval_command, ["--onnx", onnx_path, "--data", names, "--split", "val",
                                               "--format", "json"])
    report = json.loads(result.stdout)
    assert report["nll_per_char"] == pytest.approx(best["val_loss"], abs=1e-4)
    val = split_items(read_items(names)).val
    assert report["n_items"] == len(val) == 60
    assert report["n_chars"] == sum(len(name) + 1 for name in val)
    assert report["same_data_as_training"] is True


def test_the_exported_file_describes_its_training(pipeline):
    arch, names, _, onnx_path = pipeline
    meta = WavenetModel.load(onnx_path, provider="cpu").metadata
    assert meta.config.arch == arch
    assert meta.graph == ("step" if arch == "wavenet" else "window")
    assert "".join(meta.vocab.chars) == "abcdefghijklmnopqrstuvwxyz"
    assert meta.data["sha256"] == file_sha256(names)
    assert meta.data["split"] == {"method": "random.seed(42); random.shuffle; 80/10/10", "seed": 42,
                                  "train": 480, "val": 60, "test": 60}
    assert set(meta.metrics) >= {"train_loss", "val_loss", "step"}


def test_wn_generate_is_reproducible_and_in_vocabulary(pipeline):
    onnx_path = pipeline[-1]
    args = ["--onnx", onnx_path, "-n", "12", "--seed", "7"]
    first = invoke(runtime_cli.generate_command, args).stdout.splitlines()
    assert first == invoke(runtime_cli.generate_command, args).stdout.splitlines()
    assert len(first) == 12
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz") and 0 < len(name) <= 32 for name in first)
