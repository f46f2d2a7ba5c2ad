// Generation speed of the JavaScript runtime in Node (onnxruntime-node), one intra-op thread:
//   node js/bench/speed.mjs --model models/wavenet.onnx --batch 256 --n 10000 --repeat 3
// prints one JSON line {"batch", "n", "chars", "us_per_char", "cpu_us_per_char"} (best of the repeats; chars
// count end tokens; cpu: this process's CPU time, all threads), and "graph_cpu_us_per_row_step": the graph
// call alone (onnxruntime-node's run on preallocated buffers, as generation makes it), CPU us per row.
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { loadModel } from "../src/index.js";
import { ROOT } from "./browser.js";

const { values } = parseArgs({ options: {
  model: { type: "string", default: "models/wavenet.onnx" }, batch: { type: "string", default: "256" },
  n: { type: "string", default: "10000" }, repeat: { type: "string", default: "3" }, seed: { type: "string", default: "0" },
} });
const batch = Number(values.batch);
const n = Number(values.n);
const model = await loadModel(path.resolve(ROOT, values.model), { ort, threads: 1 });
for await (const _ of model.generate(Math.min(n, 50), { batchSize: batch, seed: 99 })); // warm-up
let best = Infinity;
let bestCpu = Infinity;
let chars = 0;
for (let r = 0; r < Number(values.repeat); r++) {
  chars = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for await (const name of model.generate(n, { batchSize: batch, seed: values.seed })) chars += [...name].length + 1;
  best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / chars);
  const used = process.cpuUsage(cpu);
  bestCpu = Math.min(bestCpu, (used.user + used.system) / chars);
}
const rows = model.runner.rows(model.metadata.initialState, 0, batch);
const steps = Math.ceil(20000 / batch);
let graphCpu = Infinity;
for (let r = 0; r < Number(values.repeat) + 1; r++) {
  const cpu = process.cpuUsage();
  for (let i = 0; i < steps; i++) await rows.step();
  const used = process.cpuUsage(cpu);
  if (r) graphCpu = Math.min(graphCpu, (used.user + used.system) / steps / batch); // r = 0 warms up
}
console.log(JSON.stringify({ batch, n, chars, us_per_char: best, cpu_us_per_char: bestCpu,
  graph_cpu_us_per_row_step: graphCpu }));
