"""Every graph wn-export writes computes each row on its own: a row's outputs are the same whether it runs
alone, among 7 or among 4096 rows, for every graph kind (step, window) and precision (fp32, int8).
And the int8 file gives the same names for a seed at any batch size."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from tiny_models import exported

from wavenet_edge.export.quantize import quantize_weights
from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.contract import step_feeds

BATCHES = (1, 7, 4096)
TOLERANCE = 0.0  # bit-exact: onnxruntime's CPU kernels sum every row in the same order at any batch size


@pytest.fixture(scope="module")
def files():
    models = exported()
    paths = {}
    for kind, fp32 in (("step", models.step), ("window", models.window), ("lecture", models.lecture_window)):
        paths[kind, "fp32"] = fp32
        int8 = models.root / f"{kind}-rows.int8.onnx"
        onnx.save(quantize_weights(onnx.load(str(fp32))), str(int8))
        paths[kind, "int8"] = int8
    return paths


def _inputs(model: WavenetModel, rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random but valid inputs for `rows` rows: queues reached by feeding random tokens."""
    vocab = model.metadata.config.vocab_size
    if model.graph == "window":
        return {"tokens": rng.integers(0, vocab, (rows, model.metadata.receptive_field), dtype=np.int64)}
    runner = model.runner
    state = runner.initial_state(rows)
    for _ in range(int(rng.integers(1, 6))):
        _, state = runner.advance(state, rng.integers(0, vocab, rows, dtype=np.int64))
    return step_feeds(model.metadata.config, rng.integers(0, vocab, rows, dtype=np.int64), state)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("kind", ["step", "window", "lecture"])
def test_each_row_is_computed_on_its_own(files, kind, precision):
    model = WavenetModel.load(files[kind, precision], provider="cpu", threads=1)
    inputs = _inputs(model, max(BATCHES), np.random.default_rng(3))
    together = model.session.run(None, inputs)  # every output of all 4096 rows in one call
    for batch in BATCHES[:-1]:
        for start in (0, 1234, max(BATCHES) - batch):
            part = {name: value[start:start + batch] for name, value in inputs.items()}
            alone = model.session.run(None, part)
            for got, want in zip(alone, together, strict=True):
                np.testing.assert_allclose(got, want[start:start + batch], rtol=0, atol=TOLERANCE,
                                           err_msg=f"{kind} {precision} rows {start}..{start + batch}")


@pytest.mark.parametrize("kind", ["step", "window"])
def test_int8_names_do_not_depend_on_batch_size(files, kind):
    model = WavenetModel.load(files[kind, "int8"], provider="cpu", threads=1)
    reference = model.generate(60, seed=1, batch_size=1, return_logprobs=True)
    for batch_size in (7, 256):
        assert model.generate(60, seed=1, batch_size=batch_size, return_logprobs=True) == reference, batch_size


def test_int8_file_is_smaller_and_close_to_fp32(files):
    fp32 = WavenetModel.load(files["step", "fp32"], provider="cpu", threads=1)
    int8 = WavenetModel.load(files["step", "int8"], provider="cpu", threads=1)
    weight_bytes = {precision: sum(len(init.raw_data) for init in onnx.load(str(path)).graph.initializer)
                    for precision, path in (("fp32", files["step", "fp32"]), ("int8", files["step", "int8"]))}
    assert weight_bytes["int8"] < 0.4 * weight_bytes["fp32"]
    inputs = _inputs(fp32, 64, np.random.default_rng(0))
    a, b = fp32.session.run(["logits"], inputs)[0], int8.session.run(["logits"], inputs)[0]
    assert 0 < np.abs(a - b).max() < 0.02 * np.abs(a).max()  # really quantized, and close
