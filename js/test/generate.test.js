// The same names as the Python runtime for the same options and seed, at batch 1 and 64, for both graph kinds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UniformSource } from "../src/index.js";
import { collect, fixture, load } from "./helpers.js";

for (const [name, kind] of [["step", "step"], ["window", "window"], ["shipped", "step"]]) {
  const data = fixture(`${name}.json`);
  for (const batchSize of [1, 64]) {
    test(`${data.model} (${kind} graph), batch ${batchSize}: names equal the Python runtime's`, async () => {
      const model = await load(data.model);
      assert.equal(model.graph, kind);
      for (const { label, n, options, names } of data.generate) {
        const got = await collect(model.generate(n, { ...options, batchSize }));
        assert.deepEqual(got, names, label);
      }
    });
  }
}

test("names stream in index order whatever the batch size, endless with n null", async () => {
  const model = await load(fixture("step.json").model);
  const plain = fixture("step.json").generate.find((c) => c.label === "plain");
  const stream = model.generate(null, { seed: 1, batchSize: 5 });
  const got = [];
  for await (const name of stream) {
    got.push(name);
    if (got.length === plain.names.length) break;
  }
  assert.deepEqual(got, plain.names);
});

test("uniforms: a name's stream does not depend on where it starts", () => {
  const all = new UniformSource(123n, 7).take(10);
  const later = new UniformSource(123n, 7, 6).take(4);
  assert.deepEqual(Array.from(later), Array.from(all.subarray(6 * 7)));
  for (const u of all) assert.ok(u > 0 && u <= 1);
});

test("onnxruntime-node fills preallocated outputs; onnxruntime-web (wasm) gets plain runs, the same names", async () => {
  const { readFileSync } = await import("node:fs");
  const path = await import("node:path");
  const { ROOT, ort } = await import("./helpers.js");
  const { loadModel } = await import("../src/index.js");
  const web = await import("onnxruntime-web");
  web.env.wasm.numThreads = 1;
  const browser = fixture("browser.json");
  const bytes = readFileSync(path.join(ROOT, browser.model));
  for (const [runtime, preallocated] of [[ort, true], [web, false]]) {
    const model = await loadModel(bytes, { ort: runtime, threads: 1 });
    const rowsOf = model.runner.rows.bind(model.runner);
    let rows;
    model.runner.rows = (...args) => (rows = rowsOf(...args));
    const { query, names } = browser.cases[0];
    assert.deepEqual(await collect(model.generate(query.n, { seed: query.seed, exclude: [""] })), names);
    // both formats bind preallocated outputs (format 2: views of the ring) where the backend fills them
    assert.equal(rows.preallocated, preallocated);
  }
});

test("memory grows with what is produced: a huge maxLen allocates nothing per position", async () => {
  const model = await load(fixture("step.json").model);
  for (const batchSize of [1, 256]) {
    const reference = await collect(model.generate(3, { seed: 4, batchSize, maxLen: 40 }));
    const before = process.memoryUsage().arrayBuffers;
    // one float64 per position and row would be 24 GB at 1e9, and no typed array can be 2^40 long
    for (const maxLen of [1e9, 2 ** 40]) {
      assert.deepEqual(await collect(model.generate(3, { seed: 4, batchSize, maxLen })), reference);
    }
    assert.ok(process.memoryUsage().arrayBuffers - before < 4 << 20, "a few MB at most");
  }
});

test("a lecture file's unchecked wavenet fields size nothing: stacks 1e9 loads at once", async () => {
  const { readFileSync } = await import("node:fs");
  const path = await import("node:path");
  const { ROOT, ort, rewriteProps } = await import("./helpers.js");
  const { loadModel } = await import("../src/index.js");
  const file = path.join(ROOT, "tests/fixtures/tiny-lecture-window.onnx");
  const config = JSON.parse((await import("../src/index.js")).readOnnxProps(readFileSync(file))["wavenet_edge.config"]);
  const bytes = rewriteProps(readFileSync(file), { config: JSON.stringify({ ...config, stacks: 1e9 }) });
  const start = Date.now();
  const model = await loadModel(bytes, { ort, threads: 1 });
  assert.equal((await collect(model.generate(3, { seed: 1 }))).length, 3);
  assert.ok(Date.now() - start < 2000, `${Date.now() - start} ms`);
});
