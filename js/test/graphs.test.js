// Format-2 rings (graphs.js RingRows) against the flat state the runner shifts itself (StepRunner.advance):
// the same logits, bit for bit, across more steps than the ring period, a row reset and dropped rows, on
// onnxruntime-node (preallocated outputs, views of the ring) and onnxruntime-web's wasm (plain runs, copied).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, ort } from "./helpers.js";
import { loadModel } from "../src/index.js";

/** @param {any} runtime */
async function ringMatchesShift(runtime) {
  const model = await loadModel(readFileSync(path.join(ROOT, "tests/fixtures/tiny-step.onnx")), { ort: runtime, threads: 1 });
  const runner = model.runner;
  assert.equal(model.metadata.formatVersion, 2);
  const S = runner.stateSize, V = runner.vocabSize, start = 0;
  let width = 3;
  const rows = runner.rows(model.metadata.initialState, start, width);
  let state = runner.initialState(width);
  let tokens = new BigInt64Array(width).fill(BigInt(start));
  for (let t = 0; t < 40; t++) {
    rows.tokens.set(tokens);
    const ring = Array.from(await rows.step());
    const shifted = await runner.advance(state, tokens);
    assert.deepEqual(ring, Array.from(shifted.logits), `step ${t}`);
    state = shifted.state;
    tokens = tokens.map((_, r) => BigInt(1 + ((t * 7 + r * 3) % (V - 1))));
    if (t === 11) { // row 1 starts over
      rows.reset(1);
      state.set(model.metadata.initialState, S);
      tokens[1] = BigInt(start);
    }
    if (t === 23) { // row 1 is dropped
      rows.keep([true, false, true]);
      state = Float32Array.of(...state.subarray(0, S), ...state.subarray(2 * S));
      tokens = BigInt64Array.of(tokens[0], tokens[2]);
      width = 2;
    }
    assert.equal(rows.width, width);
  }
  return rows.preallocated;
}

test("format-2 rings give the logits of the shifted flat state: onnxruntime-node, bound views of the ring", async () => {
  assert.equal(await ringMatchesShift(ort), true);
});

test("format-2 rings give the logits of the shifted flat state: onnxruntime-web (wasm), plain runs", async () => {
  const web = await import("onnxruntime-web");
  web.env.wasm.numThreads = 1;
  assert.equal(await ringMatchesShift(web), false);
});
