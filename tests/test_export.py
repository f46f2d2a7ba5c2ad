"""wn-export: wrappers, ONNX parity with torch, metadata, atomic writes, int8, and the CLI's one-line errors.

Tiny models made here (a few SGD steps on random tokens), CPU only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner
from onnx.reference import ReferenceEvaluator
from torch.nn import functional as F

from wavenet_edge.export import (
    OPSET,
    PRODUCER_NAME,
    StepGraph,
    export_checkpoint,
    export_model,
    graph_node_count,
    initial_state,
    window_graph,
)
from wavenet_edge.export import cli as export_cli
from wavenet_edge.export import exporter as export_exporter
from wavenet_edge.export.quantize import default_int8_path, quantize_int8
from wavenet_edge.export.wrappers import input_shifts
from wavenet_edge.runtime.common.errors import ModelFileError, WavenetEdgeError
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.contract import (
    INPUT_TOKENS,
    METADATA_PREFIX,
    ModelMetadata,
    next_state,
    state_layout,
    step_feeds,
)
from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab
from wavenet_edge.train.checkpoint import Checkpoint, save_checkpoint
from wavenet_edge.train.models import build_model

ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "liam", "noah", "oliver", "elijah",
         "james", "lucas", "mason", "ella", "lily", "leo", "max", "sam", "anna"]
VOCAB = Vocab.from_items(ITEMS)
WAVENET = ModelConfig(vocab_size=VOCAB.size, channels=8, skip_channels=8, head_channels=8, dilations=(1, 2, 4))
LECTURE = ModelConfig(arch="lecture", vocab_size=VOCAB.size, n_embd=4, n_hidden=8, block_size=8)
METRICS = {"train_loss": 2.5, "val_loss": 2.6, "step": 5}
DATA = {"sha256": "0" * 64, "source": "test", "split": {"seed": 42}}
TOL = 1e-4


def trained_checkpoint(config: ModelConfig, seed: int = 0) -> Checkpoint:
    """Random weights plus a few SGD steps (moves biases and batch-norm statistics off their defaults)."""
    torch.manual_seed(seed)
    model = build_model(config).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    r = config.receptive_field
    for _ in range(5):
        idx = torch.randint(0, config.vocab_size, (32, r + 3))
        logits = model(idx)  # (B, 4, V)
        loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), torch.randint(0, config.vocab_size, (32 * 4,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return Checkpoint(config, VOCAB, model.eval().state_dict(), dict(METRICS), dict(DATA))


def eval_model(ckpt: Checkpoint) -> torch.nn.Module:
    model = build_model(ckpt.config)
    model.load_state_dict(ckpt.state_dict)
    return model.eval()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def wavenet_ckpt(workdir) -> tuple[Checkpoint, Path]:
    ckpt = trained_checkpoint(WAVENET)
    save_checkpoint(ckpt, workdir / "wavenet.pt")
    return ckpt, workdir / "wavenet.pt"


@pytest.fixture(scope="module")
def lecture_ckpt(workdir) -> tuple[Checkpoint, Path]:
    ckpt = trained_checkpoint(LECTURE, seed=1)
    save_checkpoint(ckpt, workdir / "lecture.pt")
    return ckpt, workdir / "lecture.pt"


@pytest.fixture(scope="module")
def exported(workdir, wavenet_ckpt, lecture_ckpt) -> dict:
    """(arch, graph) -> (checkpoint, report) for the three exports, each verified by export itself."""
    out = {}
    for (ckpt, path), graph in ((wavenet_ckpt, "step"), (wavenet_ckpt, "window"), (lecture_ckpt, "window")):
        arch = ckpt.config.arch
        report = export_checkpoint(path, workdir / f"{arch}-{graph}.onnx", graph=None if graph == "step" else graph,
                                   items=ITEMS)
        out[arch, graph] = ckpt, report
    return out


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def run_step(sess: ort.InferenceSession, meta: ModelMetadata, tokens: np.ndarray,
             state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of a format-2 step graph on a flat state [B, S]: logits [B, V], the next flat state."""
    logits, *newest = sess.run(None, step_feeds(meta.config, tokens, state))
    return logits, next_state(meta.config, state, newest)


# ---------------------------------------------------------------- wrappers (torch only)


def test_step_wrapper_matches_model_in_torch():
    ckpt = trained_checkpoint(WAVENET)
    model = eval_model(ckpt)
    step = StepGraph(model).eval()
    r = WAVENET.receptive_field
    idx = torch.randint(0, WAVENET.vocab_size, (5, 20))
    full = model(torch.cat([torch.zeros(5, r - 1, dtype=torch.long), idx], 1))  # (5, 20, V)
    state = initial_state(model).repeat(5, 1)
    with torch.no_grad():
        for t in range(20):
            logits, state = step.advance(idx[:, t], state)
            torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=0)


def test_step_state_holds_each_layers_last_inputs_shifted_by_the_residual_biases_below():
    model = eval_model(trained_checkpoint(WAVENET))
    step = StepGraph(model).eval()
    shifts = input_shifts(model)  # c_l = residual biases of the layers below l
    assert not shifts[0].any() and all(shift.abs().max() > 0 for shift in shifts[1:])
    r, batch = WAVENET.receptive_field, 4
    idx = torch.randint(0, WAVENET.vocab_size, (batch, 9))
    state = initial_state(model).repeat(batch, 1)
    with torch.no_grad():
        for t in range(9):
            _, state = step.advance(idx[:, t], state)
        x = model.embedding(torch.cat([torch.zeros(batch, r - 1, dtype=torch.long), idx], 1))  # layer 0's input
        for layer, shift, entry in zip(model.layers, shifts, state_layout(WAVENET), strict=True):
            queue = state[:, entry["offset"]: entry["offset"] + entry["size"]].reshape(batch, layer.dilation, -1)
            torch.testing.assert_close(queue.double(), x[:, -layer.dilation:].double() - shift, atol=1e-5, rtol=0)
            x = layer(x)[0]  # the next layer's input


def test_lecture_window_wrapper_folds_batch_norm():
    model = eval_model(trained_checkpoint(LECTURE, seed=1))
    tokens = torch.randint(0, LECTURE.vocab_size, (9, LECTURE.receptive_field))
    with torch.no_grad():
        torch.testing.assert_close(window_graph(model)(tokens), model(tokens)[:, -1], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- exported files


@pytest.mark.parametrize("key", [("wavenet", "step"), ("wavenet", "window"), ("lecture", "window")])
def test_export_verifies_parity(exported, key):
    _, report = exported[key]
    assert report.graph == key[1] and report.opset == OPSET
    assert report.batch_sizes == (1, 7, 512, 4096)
    assert report.max_abs_diff is not None and report.max_abs_diff <= TOL
    assert report.file_size == report.path.stat().st_size
    assert report.node_count == graph_node_count(report.path)


@pytest.mark.parametrize("key", [("wavenet", "step"), ("wavenet", "window"), ("lecture", "window")])
def test_parity_at_batch_1_7_512_and_dynamic_4096(exported, key):
    """Independent of export's own check: the file against the torch model over random sequences."""
    ckpt, report = exported[key]
    model, sess, meta = eval_model(ckpt), session(report.path), ModelMetadata.from_props(props(report.path))
    r, rng = ckpt.config.receptive_field, np.random.default_rng(1)
    for batch, steps in ((1, 12), (7, 12), (512, 12), (4096, 1)):
        seq = rng.integers(0, VOCAB.size, size=(batch, steps))
        with torch.no_grad():
            full = model(torch.from_numpy(np.concatenate([np.zeros((batch, r - 1), np.int64), seq], 1))).numpy()
        if key[1] == "step":
            state = np.tile(meta.initial_state, (batch, 1))
            for t in range(steps):
                logits, state = run_step(sess, meta, seq[:, t].copy(), state)
                assert logits.shape == (batch, VOCAB.size)
                assert np.abs(logits - full[:, t]).max() <= TOL
        else:
            padded = np.concatenate([np.zeros((batch, r - 1), np.int64), seq], 1)
            for t in range(steps):
                (logits,) = sess.run(None, {INPUT_TOKENS: padded[:, t:t + r].copy()})
                assert np.abs(logits - full[:, t]).max() <= TOL


def test_initial_state_is_exact_and_a_fixed_point(exported):
    ckpt, report = exported["wavenet", "step"]
    model, sess = eval_model(ckpt), session(report.path)
    meta = ModelMetadata.from_props(props(report.path))
    np.testing.assert_array_equal(meta.initial_state, initial_state(model).numpy())
    # layer 0's queue (dilation 1) is the boundary embedding itself: nothing below it to shift it by
    boundary = model.embedding.weight[BOUNDARY_ID].detach().numpy()
    np.testing.assert_array_equal(meta.initial_state[:WAVENET.channels], boundary)
    with torch.no_grad():
        expected = model(torch.full((1, WAVENET.receptive_field), BOUNDARY_ID))[:, -1].numpy()
    state = meta.initial_state[None]
    for _ in range(3):
        logits, state = run_step(sess, meta, np.array([BOUNDARY_ID]), state)
        assert np.abs(logits - expected).max() <= 1e-6
        assert np.abs(state[0] - meta.initial_state).max() <= 1e-6


def test_metadata_round_trip(exported):
    for (_, graph), (ckpt, report) in exported.items():
        model_proto = onnx.load(str(report.path))
        written = {p.key: p.value for p in model_proto.metadata_props}
        meta = ModelMetadata.from_props(written, where=str(report.path))
        assert meta.to_props() == written
        assert meta.graph == graph and meta.config == ckpt.config and meta.vocab == VOCAB
        assert meta.metrics == METRICS and meta.data == DATA
        assert meta.parameters == sum(v.numel() for k, v in ckpt.state_dict.items() if "running" not in k
                                      and "num_batches" not in k)
        assert meta.package_version not in ("", "unknown")
        assert model_proto.producer_name == PRODUCER_NAME
        assert all(k.startswith(METADATA_PREFIX) for k in written)
        # self-contained: no external data, nothing else written beside the file
        assert not any(init.data_location == onnx.TensorProto.EXTERNAL for init in model_proto.graph.initializer)
    assert sorted(p.name for p in report.path.parent.iterdir() if p.name.endswith(".onnx")) == [
        "lecture-window.onnx", "wavenet-step.onnx", "wavenet-window.onnx"]
    assert not [p for p in report.path.parent.iterdir() if p.name.endswith((".tmp", ".data"))]


def test_step_graph_is_lean_matmuls_and_runs_in_onnx_reference(exported):
    _, report = exported["wavenet", "step"]
    model_proto = onnx.load(str(report.path))
    ops = {n.op_type for n in model_proto.graph.node}
    assert ops <= {"Gather", "Split", "Concat", "Gemm", "Tanh", "Sigmoid", "Mul", "Add", "Relu"}, ops
    assert report.node_count <= 32  # 3 layers
    meta = ModelMetadata.from_props(props(report.path))
    feeds = step_feeds(meta.config, np.array([0, 3]), np.tile(meta.initial_state, (2, 1)))
    ref = ReferenceEvaluator(model_proto).run(None, feeds)
    for got, want in zip(ref, session(report.path).run(None, feeds), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_default_config_step_graph_node_count(workdir, tmp_path):
    config = ModelConfig(vocab_size=VOCAB.size)  # channels 48, skip 96, head 96, dilations 1 2 4 8
    torch.manual_seed(0)
    ckpt = Checkpoint(config, VOCAB, build_model(config).state_dict())
    report = export_model(ckpt, workdir / "default.onnx", verify=False)
    assert report.graph == "step" and not report.verified
    assert report.node_count == 38
    # What a batch-1 step costs is the kernels onnxruntime runs: each conv tap is a Gemm, the second fused
    # with its Tanh or Sigmoid (no Concat of [oldest, h], no Split or Concat of a state: the queues live
    # outside the graph), so a layer runs 6 (5 in the top one), plus 5 around them.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(str(workdir / "default.onnx"), options, providers=["CPUExecutionProvider"])
    kernels = [node.op_type for node in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    assert len(kernels) == 28 and kernels.count("FusedGemm") == 10, kernels
    assert "Add" not in kernels and "Split" not in kernels and kernels.count("Concat") == 1, kernels
    (workdir / "default.onnx").unlink()


def test_failed_verification_writes_nothing_and_keeps_a_good_file(workdir, wavenet_ckpt, monkeypatch):
    ckpt, _ = wavenet_ckpt
    wrong = export_exporter.initial_state

    monkeypatch.setattr(export_exporter, "initial_state", lambda model: wrong(model) + 0.5)
    out = workdir / "bad" / "model.onnx"
    out.parent.mkdir()
    with pytest.raises(ModelFileError, match=r"verification failed: step graph at batch 1: max abs diff .* exceeds"):
        export_model(ckpt, out)
    assert list(out.parent.iterdir()) == []
    out.write_bytes(b"good model")
    with pytest.raises(ModelFileError, match="verification failed"):
        export_model(ckpt, out)
    assert out.read_bytes() == b"good model"
    assert [p.name for p in out.parent.iterdir()] == ["model.onnx"]


def test_step_graph_refused_for_lecture(workdir, lecture_ckpt):
    with pytest.raises(WavenetEdgeError, match="a step graph needs the wavenet architecture"):
        export_model(lecture_ckpt[0], workdir / "x.onnx", graph="step")
    assert not (workdir / "x.onnx").exists()


# ---------------------------------------------------------------- int8


def ort_scorer(path: Path, items) -> float:
    """Mean NLL per character (end token included) with the step graph; independent of the runtime."""
    meta = ModelMetadata.from_props(props(path))
    sess = session(path)
    total, count = 0.0, 0
    for item in items:
        ids = VOCAB.encode(item)
        state = meta.initial_state[None]
        for token, target in zip([BOUNDARY_ID] + ids, ids + [BOUNDARY_ID], strict=True):
            logits, state = run_step(sess, meta, np.array([token]), state)
            logp = logits[0].astype(np.float64) - np.logaddexp.reduce(logits[0].astype(np.float64))
            total, count = total - logp[target], count + 1
    return total / count


def test_quantize_int8_keeps_metadata_and_reports_loss_change(exported, workdir):
    _, report = exported["wavenet", "step"]
    out = default_int8_path(report.path)
    assert out.name == "wavenet-step.int8.onnx"
    q = quantize_int8(report.path, out, ITEMS[:5], ort_scorer)
    assert out.is_file() and q.file_size == out.stat().st_size
    assert props(out) == props(report.path)
    assert np.isfinite(q.delta) and abs(q.delta) <= 0.01
    assert q.delta == pytest.approx(ort_scorer(out, ITEMS[:5]) - ort_scorer(report.path, ITEMS[:5]))
    quantized = onnx.load(str(out))
    ops = {n.op_type for n in quantized.graph.node}  # weight-only: int8 weights read through Cast + Mul
    assert {"Cast", "Mul"} <= ops and "DequantizeLinear" not in ops
    matrices = [init for init in quantized.graph.initializer if len(init.dims) == 2 and min(init.dims) > 1]
    assert {init.data_type for init in matrices} == {onnx.TensorProto.INT8}  # float32: biases, per-channel scales
    out.unlink()


def test_quantize_int8_refuses_a_large_loss_change(exported):
    _, report = exported["wavenet", "step"]
    out = report.path.with_name("refused.int8.onnx")

    def scorer(path, items):
        return 1.0 if Path(path) == report.path else 1.02

    with pytest.raises(WavenetEdgeError, match=r"changes the val loss by \+0.0200 nats/char .* not written"):
        quantize_int8(report.path, out, ITEMS[:3], scorer)
    assert not out.exists()
    assert quantize_int8(report.path, out, ITEMS[:3], scorer, force=True).delta == pytest.approx(0.02)
    out.unlink()


# ---------------------------------------------------------------- CLI


class Evil:
    """A pickle that would run code when loaded without weights_only."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def bad_inputs(root: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (checkpoint path, expected error line after 'Error: ')."""
    raw = good.read_bytes()
    (root / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    torch.save({"weights": torch.zeros(3)}, root / "foreign.pt")
    (root / "text.pt").write_text("emma\nolivia\n")
    (root / "hello.pt").write_text("hello world\n")
    data = torch.load(good, weights_only=True)
    data["format_version"] = 99
    torch.save(data, root / "v99.pt")
    torch.save({"x": Evil(root / "pwned")}, root / "evil.pt")
    return {
        "missing": (root / "missing.pt", f"{root / 'missing.pt'}: no such file"),
        "foreign": (root / "foreign.pt", f"{root / 'foreign.pt'}: not a wavenet-edge checkpoint"),
        "text": (root / "text.pt", f"{root / 'text.pt'}: not a readable checkpoint (truncated or corrupt?)"),
        "hello": (root / "hello.pt", f"{root / 'hello.pt'}: not a readable checkpoint (truncated or corrupt?)"),
        "truncated": (root / "truncated.pt",
                      f"{root / 'truncated.pt'}: not a readable checkpoint (truncated or corrupt?)"),
        "version": (root / "v99.pt",
                    f"{root / 'v99.pt'}: unsupported checkpoint format version 99 (this version reads 1)"),
        "pickle": (root / "evil.pt",
                   f"{root / 'evil.pt'}: refused by weights_only loading (not a safe checkpoint)"),
    }


def test_cli_bad_checkpoints_one_line_exit_2(tmp_path, wavenet_ckpt):
    runner = CliRunner()
    for name, (path, message) in bad_inputs(tmp_path, wavenet_ckpt[1]).items():
        out = tmp_path / f"{name}.onnx"
        result = runner.invoke(export_cli.main, [str(path), str(out)])
        assert result.exit_code == 2, (name, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), (name, result.stderr)
        assert "Traceback" not in result.output and not out.exists()
    assert not (tmp_path / "pwned").exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".onnx", ".tmp")]


def test_cli_bad_output_paths(tmp_path, wavenet_ckpt):
    runner = CliRunner()
    good = tmp_path / "model.pt"
    good.write_bytes(wavenet_ckpt[1].read_bytes())
    cases = [
        ([str(good), str(tmp_path / "nope" / "m.onnx")],
         f"Error: output {tmp_path / 'nope' / 'm.onnx'}: directory {tmp_path / 'nope'} does not exist"),
        ([str(good), str(tmp_path / "." / "model.pt")],
         f"Error: output {tmp_path / 'model.pt'}: is the same file as the input checkpoint {good}; an output "
         "never replaces an input"),
        ([str(good), str(tmp_path)], f"Error: output {tmp_path}: is a directory"),
        ([str(good), str(tmp_path / "m.onnx"), "--graph", "step", "--opset", "11"],
         "Error: opset 11 is not supported"),
        ([str(good), str(tmp_path / "m.onnx"), "--quantize", "int8"], "Error: --quantize int8 needs --data FILE"),
        ([str(good), str(tmp_path / "m.onnx"), "--graph", "diagonal"], "Error: Invalid value for '--graph'"),
    ]
    for args, message in cases:
        result = runner.invoke(export_cli.main, args)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), (args, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    assert good.read_bytes() == wavenet_ckpt[1].read_bytes()


def test_cli_exports_and_quantizes(tmp_path, wavenet_ckpt, monkeypatch):
    data = tmp_path / "names.txt"
    data.write_text("\n".join(ITEMS) + "\n")
    monkeypatch.setattr(export_cli, "runtime_scorer", lambda: ort_scorer)
    result = CliRunner().invoke(export_cli.main, [str(wavenet_ckpt[1]), str(tmp_path / "m.onnx"), "--quantize",
                                                  "int8", "--data", str(data), "--force"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "step graph, opset 18, 30 nodes" in out and "at batch 1, 7, 512, 4096" in out
    assert "max abs diff" in out and "val loss" in out and "nats/char" in out
    assert (tmp_path / "m.onnx").is_file() and (tmp_path / "m.int8.onnx").is_file()


def test_cli_quantize_failure_keeps_fp32_only(tmp_path, wavenet_ckpt, monkeypatch):
    data = tmp_path / "names.txt"
    data.write_text("\n".join(ITEMS) + "\n")
    monkeypatch.setattr(export_cli, "runtime_scorer", lambda: lambda path, items: 1.0 + ("int8" in Path(path).name))
    result = CliRunner().invoke(export_cli.main, [str(wavenet_ckpt[1]), str(tmp_path / "m.onnx"), "--no-verify",
                                                  "--quantize", "int8", "--data", str(data), "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: int8 quantization changes the val loss by +1.0000 nats/char")
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "names.txt"]


def test_cli_quantize_with_the_runtime_scorer(tmp_path, lecture_ckpt):
    data = tmp_path / "names.txt"
    data.write_text("\n".join(ITEMS) + "\n")
    result = CliRunner().invoke(export_cli.main, [str(lecture_ckpt[1]), str(tmp_path / "m.onnx"), "--no-verify",
                                                  "--quantize", "int8", "--data", str(data), "--force"])
    assert result.exit_code == 0, result.output
    assert "window graph" in result.stdout and "val loss" in result.stdout
    assert (tmp_path / "m.int8.onnx").is_file()
