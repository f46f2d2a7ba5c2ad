// The API's own checks, each one line: a model used before `await loadModel(...)` or after close(), the
// empty-name rule, seeds beyond 2^53, execution providers the build lacks, onnxruntime-web's .wasm that
// cannot be fetched, and a model URL that answers 404 (shippedModel()'s hint there: test/browser/bundle.test.js).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ModelFileError, WavenetEdgeError, loadModel, shippedModel } from "../src/index.js";
import { ROOT, collect, fixture, ort } from "./helpers.js";

const STEP = path.join(ROOT, fixture("step.json").model);

test("generate on the promise loadModel returns (no await): one line saying to await it", async () => {
  const loading = loadModel(STEP, { ort, threads: 1 });
  for (const call of [() => loading.generate(5), () => loading.score(["emma"]), () => loading.metadata]) {
    assert.throws(call, (err) => err instanceof WavenetEdgeError && /before the model is loaded: await it first/.test(err.message)
      && !err.message.includes("\n"));
  }
  const model = await loading;
  assert.equal((await collect(model.generate(3, { seed: 1 }))).length, 3);
});

test("close() releases the session; the model refuses work afterwards; closing twice is fine", async () => {
  const model = await loadModel(STEP, { ort, threads: 1 });
  assert.equal(model.closed, false);
  await model.close();
  await model.close();
  assert.equal(model.closed, true);
  assert.equal(model.session, null);
  assert.throws(() => model.generate(3), { message: "generate: the model is closed (model.close() released its session)" });
  await assert.rejects(model.score(["a"]), { message: "score: the model is closed (model.close() released its session)" });
  await assert.rejects(model.complete("a"), { message: "complete: the model is closed (model.close() released its session)" });
});

test("empty names: skipped by default (as wn-generate), yielded with allowEmpty: true", async () => {
  const model = await loadModel(STEP, { ort, threads: 1 });
  const raw = await collect(model.generate(400, { seed: 11, maxLen: 3, allowEmpty: true }));
  assert.ok(raw.includes(""));
  const names = await collect(model.generate(400, { seed: 11, maxLen: 3 }));
  assert.equal(names.length, 400);
  assert.ok(!names.includes(""));
  assert.deepEqual(names.slice(0, 50), raw.filter((name) => name).slice(0, 50));
  assert.deepEqual(await collect(model.generate(400, { seed: 11, maxLen: 3, minLen: 1 })), names);
  assert.deepEqual(await collect(model.generate(400, { seed: 11, maxLen: 3, exclude: ["zzz"] })), names);
});

test("seeds: 2^53 as a number, 2^63 - 1 as a BigInt or a string give the same names as Python's int", async () => {
  const model = await loadModel(STEP, { ort, threads: 1 });
  const big = await collect(model.generate(5, { seed: 2n ** 63n - 1n }));
  assert.deepEqual(await collect(model.generate(5, { seed: "9223372036854775807" })), big);
  assert.deepEqual(await collect(model.generate(5, { seed: 2 ** 53 })), await collect(model.generate(5, { seed: 2n ** 53n })));
  assert.throws(() => model.generate(5, { seed: 2 ** 53 + 2 }), /^WavenetEdgeError: seed 9007199254740994 is beyond 2\^53/);
});

test("execution providers: a name this onnxruntime build lacks is one line naming those it has", async () => {
  await assert.rejects(loadModel(STEP, { ort, executionProviders: ["nosuch"] }), (err) => err instanceof WavenetEdgeError
    && /^execution provider 'nosuch' is not available here; this onnxruntime build has: cpu/.test(err.message));
  await assert.rejects(loadModel(STEP, { ort, executionProviders: "cpu" }),
    { message: "executionProviders must be an array of provider names, got 'cpu' (a string, not an array)" });
});

/** A local server answering 404 for everything; resolves to its base URL. */
async function notFoundServer(t) {
  const server = createServer((request, response) => {
    response.writeHead(404, "Not Found");
    response.end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${/** @type {any} */ (server.address()).port}/`;
}

test("onnxruntime-web whose .wasm cannot be fetched: one line naming the URL and ort.env.wasm.wasmPaths", async (t) => {
  const base = await notFoundServer(t);
  const web = await import("onnxruntime-web/wasm");
  const before = web.env.wasm.wasmPaths;
  web.env.wasm.wasmPaths = { wasm: `${base}ort-wasm-simd-threaded.wasm` };
  web.env.wasm.numThreads = 1;
  t.after(() => { web.env.wasm.wasmPaths = before; });
  await assert.rejects(loadModel(readFileSync(STEP), { ort: web }), (err) => {
    assert.ok(err instanceof WavenetEdgeError, String(err));
    assert.equal(err.message, `onnxruntime-web cannot fetch its .wasm file from ${base}ort-wasm-simd-threaded.wasm: `
      + "serve the file from node_modules/onnxruntime-web/dist/ and point ort.env.wasm.wasmPaths at it (README, \"Bundlers\")");
    return true;
  });
});

test("a model URL that answers 404: one line with the HTTP status (shippedModel()'s hint: test/browser/bundle.test.js)", async (t) => {
  const base = await notFoundServer(t);
  const { shippedNameOf } = await import("../src/shipped.js");
  assert.equal(shippedNameOf(shippedModel()), null); // a file path in Node: no URL given, no hint
  const url = `${base}models/wavenet.onnx`;
  await assert.rejects(loadModel(url, { ort }), (err) => err instanceof ModelFileError
    && err.message === `${url}: HTTP 404 Not Found`);
});
