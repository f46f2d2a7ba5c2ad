// The int8 files give the Python runtime's names in Node too, at batch 1 and 64, and need no session entry: their
// int8 weights are read through Cast + Mul, which onnxruntime folds into float32 weights at load under its
// default options (export/quantize.py). An int8 file written before (DequantizeLinear + Gemm) needs
// session.disable_quant_qdq, which the runtime still sets: without it onnxruntime fuses those pairs into int8
// kernels whose logits differ (that gave 16 of 200 different names at seed 1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { SESSION_OPTIONS } from "../src/model.js";
import { collect, fixture, load } from "./helpers.js";

const data = fixture("int8.json");

for (const { model: file, generate } of data.models) {
  for (const batchSize of [1, 64]) {
    test(`${file}, batch ${batchSize}: names equal the Python runtime's`, async () => {
      const model = await load(file);
      for (const { label, n, options, names } of generate) {
        assert.deepEqual(await collect(model.generate(n, { ...options, batchSize })), names, label);
      }
    });
  }
}

test("the session options of the Python runtime; an app's own extra.session entries are added to them", async () => {
  assert.equal(SESSION_OPTIONS.extra.session.disable_quant_qdq, "1");
  assert.equal(SESSION_OPTIONS.graphOptimizationLevel, "all");
  const { model: file, generate: [plain] } = data.models[0];
  const own = await load(file, { sessionOptions: { extra: { session: { use_env_allocators: "0" } } } });
  assert.deepEqual(await collect(own.generate(plain.n, plain.options)), plain.names);
});

for (const { model: file, generate: [plain] } of data.models) {
  test(`${file}: the same names without the session entry (onnxruntime's default options)`, async () => {
    const fused = await load(file, { sessionOptions: { extra: { session: { disable_quant_qdq: "0" } } } });
    assert.deepEqual(await collect(fused.generate(plain.n, plain.options)), plain.names);
  });
}

test("an int8 file of the DequantizeLinear form (shipped before) still gives its numbers: the Cast + Mul file's", async (t) => {
  const old = "tests/data/format2-int8-dequantize.onnx";
  const { model: file, generate: [plain] } = data.models[0]; // models/wavenet.int8.onnx: the same weights
  assert.equal(file, "models/wavenet.int8.onnx");
  assert.deepEqual(await collect((await load(old)).generate(plain.n, plain.options)), plain.names);
  const fused = await load(old, { sessionOptions: { extra: { session: { disable_quant_qdq: "0" } } } });
  const names = await collect(fused.generate(plain.n, plain.options));
  t.diagnostic(`that file with QDQ fusion (disable_quant_qdq "0"): ${names.filter((x, i) => x !== plain.names[i]).length} `
    + `of ${plain.n} names differ`);
});
