// executionProviders takes Python's provider names too (runtime/providers.py): the full name
// ("CPUExecutionProvider") or another letter case ("CPU") opens the provider onnxruntime-js calls "cpu".
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { WavenetEdgeError, loadModel } from "../src/index.js";
import { ROOT, collect, fixture, ort } from "./helpers.js";

const STEP = path.join(ROOT, fixture("step.json").model);

test("executionProviders: a full provider name or any letter case is the provider's js name", async () => {
  const want = await collect((await loadModel(STEP, { ort })).generate(5, { seed: 1 }));
  for (const name of ["cpu", "CPU", "CPUExecutionProvider", "cpuexecutionprovider"]) {
    const given = [name];
    const model = await loadModel(STEP, { ort, executionProviders: given });
    assert.deepEqual(await collect(model.generate(5, { seed: 1 })), want);
    assert.deepEqual(given, [name]); // the caller's list is left as it was
  }
  const model = await loadModel(STEP, { ort, executionProviders: [{ name: "CPUExecutionProvider" }] });
  assert.deepEqual(await collect(model.generate(5, { seed: 1 })), want);
});

test("executionProviders: a full name this build lacks is refused by the name given", async () => {
  await assert.rejects(loadModel(STEP, { ort, executionProviders: ["TPUExecutionProvider"] }), (err) =>
    err instanceof WavenetEdgeError
    && /^execution provider 'TPUExecutionProvider' is not available here; this onnxruntime build has: /.test(err.message));
});
