"""ORT format: wn-export --ort writes model.ort and the required-operators config; the runtime loads the .ort
with the same metadata, logits and names as the .onnx; a damaged .ort is one line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from model_files import FIXTURES
from tiny_data import DATA, METRICS, VOCAB
from tiny_models import exported

from wavenet_edge.export.cli import main as export_main
from wavenet_edge.export.ort import convert_to_ort, ort_paths
from wavenet_edge.runtime import ModelFileError, WavenetModel
from wavenet_edge.runtime.cli import generate_command
from wavenet_edge.train.checkpoint import Checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def models():
    return FIXTURES


@pytest.mark.parametrize("kind", ["step", "lecture_window"])
def test_ort_file_gives_the_onnx_files_metadata_logits_and_names(models, tmp_path, kind):
    onnx_path = tmp_path / "model.onnx"
    shutil.copy(getattr(models, kind), onnx_path)
    report = convert_to_ort(onnx_path)
    assert (report.path, report.config_path) == ort_paths(onnx_path) == (tmp_path / "model.ort",
                                                                           tmp_path / "model.required_operators.config")
    assert report.max_abs_diff == 0.0
    config = report.config_path.read_text()
    assert "# - model.ort" in config and "ai.onnx;" in config and "Gather" in config
    a, b = WavenetModel.load(onnx_path, provider="cpu"), WavenetModel.load(report.path, provider="cpu")
    assert b.metadata.to_props() == a.metadata.to_props()
    state_a, state_b = a.runner.initial_state(3), b.runner.initial_state(3)
    for tokens in ([0, 0, 0], [1, 2, 3], [4, 5, 6]):
        logits_a, state_a = a.runner.advance(state_a, np.array(tokens, dtype=np.int64))
        logits_b, state_b = b.runner.advance(state_b, np.array(tokens, dtype=np.int64))
        np.testing.assert_array_equal(logits_a, logits_b)
    assert b.generate(30, seed=4, temperature=0.9) == a.generate(30, seed=4, temperature=0.9)
    cli = [CliRunner().invoke(generate_command, ["--onnx", str(path), "-n", "20", "--seed", "3"]) for path in
           (onnx_path, report.path)]
    assert cli[0].exit_code == cli[1].exit_code == 0 and cli[1].output == cli[0].output
    assert b.score(["kali", "mora"]).nll_per_char == a.score(["kali", "mora"]).nll_per_char


def test_wn_export_ort_option_writes_both_files(tmp_path):
    wavenet = exported().wavenet  # a trained torch model (the checkpoint wn-export reads)
    ckpt = Checkpoint(wavenet.config, VOCAB, wavenet.state_dict(), dict(METRICS), dict(DATA))
    save_checkpoint(ckpt, tmp_path / "tiny.pt")
    result = CliRunner().invoke(export_main, [str(tmp_path / "tiny.pt"), str(tmp_path / "tiny.onnx"), "--no-verify",
                                              "--ort"])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'tiny.ort'} (" in result.output
    assert f"and {tmp_path / 'tiny.required_operators.config'} (ai.onnx;" in result.output
    assert WavenetModel.load(tmp_path / "tiny.ort", provider="cpu").metadata.config == wavenet.config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx", "tiny.ort", "tiny.pt",
                                                          "tiny.required_operators.config"]  # no temporary left


def test_damaged_ort_file_is_one_line(models, tmp_path):
    onnx_path = tmp_path / "model.onnx"
    shutil.copy(models.step, onnx_path)
    data = convert_to_ort(onnx_path).path.read_bytes()
    cut = tmp_path / "cut.ort"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as info:
        WavenetModel.load(cut, provider="cpu")
    assert str(info.value).startswith(f"{cut}: truncated or damaged ORT-format file: ")
    assert "\n" not in str(info.value)
