// Metadata, logits within 1e-5 of Python's, scores, and one clear error for bad files and bad options.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { FORMAT_VERSIONS, ModelFileError, WavenetEdgeError, loadModel } from "../src/index.js";
import { ROOT, collect, fixture, load, ort } from "./helpers.js";

const step = fixture("step.json");
const window = fixture("window.json");

test("metadata: what the file says about itself", async () => {
  const model = await load(step.model);
  const meta = model.metadata;
  assert.equal(meta.graph, "step");
  assert.ok(FORMAT_VERSIONS.includes(meta.formatVersion));
  assert.equal(meta.vocab.size, meta.config.vocab_size);
  assert.equal(meta.initialState.length, meta.stateSize);
  assert.equal(meta.stateSize, meta.formatVersion === 1 ? meta.io.inputs[1].shape[1]
    : meta.io.queues.reduce((sum, q) => sum + q.size, 0));  // format 2: the queues, outside the graph
  assert.equal(typeof meta.metrics.val_loss, "number");
  assert.ok(meta.parameters > 0);
  const windowModel = await load(window.model);
  assert.equal(windowModel.metadata.initialState, null);
  assert.equal(windowModel.metadata.receptiveField, windowModel.metadata.io.inputs[0].shape[1]);
});

for (const [kind, data] of [["step", step], ["window", window], ["step", fixture("shipped.json")]]) {
  test(`${data.model} (${kind} graph): logits within 1e-5 of Python's, step by step`, async () => {
    const model = await load(data.model);
    const runner = model.runner;
    let state = runner.initialState(4);
    let worst = 0;
    for (const { tokens, logits } of data.steps) {
      let got;
      ({ logits: got, state } = await runner.advance(state, BigInt64Array.from(tokens, BigInt)));
      const V = got.length / 4;
      logits.forEach((row, r) => row.forEach((value, v) => { worst = Math.max(worst, Math.abs(got[r * V + v] - value)); }));
    }
    assert.ok(worst <= 1e-5, `max abs logit difference ${worst}`);
  });

  test(`${data.model} (${kind} graph): scores equal Python's (mean NLL per character)`, async () => {
    const model = await load(data.model);
    const result = await model.score(data.score.items);
    assert.equal(result.nItems, data.score.items.length);
    assert.ok(Math.abs(result.nllPerChar - data.score.nll_per_char) < 1e-9, `${result.nllPerChar}`);
    result.logprobs.forEach((lp, i) => assert.ok(Math.abs(lp - data.score.logprobs[i]) < 1e-9, data.score.items[i]));
  });
}

test("a model from bytes and from a file: URL works as from a path", async () => {
  const bytes = readFileSync(path.join(ROOT, step.model));
  const fromBytes = await loadModel(bytes, { ort });
  const fromUrl = await loadModel(new URL(`file://${path.join(ROOT, step.model)}`), { ort });
  const expected = step.generate[0].names.slice(0, 10);
  assert.deepEqual(await collect(fromBytes.generate(10, { seed: 1 })), expected);
  assert.deepEqual(await collect(fromUrl.generate(10, { seed: 1 })), expected);
});

/** bytes with one metadata value replaced by another of the same length */
function patchProp(bytes, key, from, to) {
  const data = Buffer.from(bytes);
  const needle = Buffer.concat([Buffer.from(key), Buffer.from([0x12, from.length]), Buffer.from(from)]);
  const at = data.indexOf(needle);
  assert.ok(at >= 0, `${key}=${from} not found`);
  data.write(to, at + key.length + 2);
  return data;
}

test("bad files: one line naming the file and what is wrong", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "wn-js-"));
  const good = readFileSync(path.join(ROOT, step.model));
  const files = {
    "missing.onnx": [null, "no such file"],
    "empty.onnx": [Buffer.alloc(0), "empty file, not an ONNX model"],
    "names.onnx": [Buffer.from("emma\nolivia\n"), "not an ONNX model"],
    "zip.onnx": [Buffer.concat([Buffer.from("PK\x03\x04"), Buffer.alloc(512, 7)]), "not an ONNX model"],
    "half.onnx": [good.subarray(0, good.length >> 1), "truncated ONNX file (a field runs past the end of the file)"],
    "last.onnx": [good.subarray(0, good.length - 1), "truncated ONNX file (a field runs past the end of the file)"],
    "future.onnx": [patchProp(good, "wavenet_edge.format_version", "2", "9"),
      "unsupported format version 9 (this runtime reads versions 1, 2)"],
    "graph.onnx": [patchProp(good, "wavenet_edge.graph", "step", "tree"),
      "unknown graph kind 'tree' (expected step or window)"],
    "ortm.ort": [Buffer.concat([Buffer.from([16, 0, 0, 0]), Buffer.from("ORTM"), Buffer.alloc(64)]),
      "an ORT-format file; the JavaScript runtime reads the .onnx file (its metadata is in the ONNX protobuf)"],
  };
  for (const [name, [bytes, message]] of Object.entries(files)) {
    const file = path.join(dir, name);
    if (bytes !== null) writeFileSync(file, bytes);
    await assert.rejects(loadModel(file, { ort }), (err) => {
      assert.ok(err instanceof ModelFileError, name);
      assert.equal(err.message, `${file}: ${message}`);
      return true;
    });
  }
  await assert.rejects(loadModel(dir, { ort }), { message: `${dir}: is a directory, not an .onnx file` });
  // a window model whose metadata claims a wider window than its config gives: refused as in Python
  const liar = path.join(dir, "liar.onnx");
  writeFileSync(liar, patchProp(readFileSync(path.join(ROOT, window.model)), "wavenet_edge.receptive_field", "8", "9"));
  await assert.rejects(loadModel(liar, { ort }), (err) => {
    assert.ok(err instanceof ModelFileError);
    assert.equal(err.message, `${liar}: metadata wavenet_edge.receptive_field 9 does not match the config's 8`);
    return true;
  });
  await assert.rejects(loadModel(path.join(ROOT, step.model), {}), { message: /loadModel needs \{ ort \}/ });
});

test("bad options: Python's wording, before any name is made", async () => {
  const model = await load(step.model);
  const cases = [
    [{ temperature: 0 }, "temperature must be > 0, got 0.0"],
    [{ temperature: -1.5 }, "temperature must be > 0, got -1.5"],
    [{ topK: 0 }, "top-k must be an integer >= 1, got 0"],
    [{ topK: 2.5 }, "top-k must be an integer >= 1, got 2.5"],
    [{ topP: 1.5 }, "top-p must be in (0, 1], got 1.5"],
    [{ topP: 0 }, "top-p must be in (0, 1], got 0.0"],
    [{ prefix: "Q!" }, `prefix 'Q!': characters not in the vocabulary: 'Q!' (allowed: '${model.metadata.vocab.chars.join("")}')`],
    [{ prefix: "ab", maxLen: 1 }, "max-len 1 is below the length of prefix 'ab' (2)"],
    [{ maxLen: 0 }, "max-len must be a positive integer, got 0"],
    [{ batchSize: 0 }, "batch size must be an integer in 1..65536, got 0"],
    [{ seed: 1.5 }, "seed must be an integer, got 1.5"],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => model.generate(5, options), (err) => {
      assert.ok(err instanceof WavenetEdgeError);
      assert.equal(err.message, message);
      return true;
    });
  }
  assert.throws(() => model.generate(0), { message: "n must be a positive integer, got 0" });
  assert.throws(() => model.generate(null, { unique: true }), { message: "unique/exclude need a number of names n" });
  await assert.rejects(model.score([]), { message: "nothing to score: no items" });
  await assert.rejects(model.score(["ok", "B"]), { message: /^item 2 'B': characters not in the vocabulary: 'B'/ });
});

test("unique gives up after too many duplicates in a row, with Python's message", async () => {
  const model = await load(step.model);
  await assert.rejects(collect(model.generate(50, { seed: 1, topK: 1, unique: true, patience: 20 })),
    { message: /^gave up after 20 samples in a row were duplicates or excluded: found 1 of 50 names/ });
});
