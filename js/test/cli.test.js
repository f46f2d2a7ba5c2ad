// The wavenet-edge command prints exactly what wn-generate prints; bad input is one line and exit status 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ROOT, fixture } from "./helpers.js";

const BIN = path.join(ROOT, "js", "bin", "wavenet-edge.js");

function run(args) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
}

for (const name of ["step", "window", "shipped"]) {
  test(`${fixture(`${name}.json`).model}: generate prints wn-generate's stdout byte for byte`, () => {
    for (const { args, stdout } of fixture(`${name}.json`).cli) {
      const result = run(["generate", ...args]);
      assert.equal(result.stderr, "");
      assert.equal(result.status, 0);
      assert.equal(result.stdout, stdout, args.join(" "));
    }
  });
}

test("bad input: one line 'Error: ...' on stderr and exit status 2", () => {
  const model = fixture("step.json").model;
  const cases = [
    [["generate", "--onnx", model, "-n", "0"], "Error: -n must be a positive integer, got 0\n"],
    [["generate", "--onnx", model, "-n", "x"], "Error: Invalid value for '-n': 'x' is not a valid integer.\n"],
    [["generate", "--onnx", model, "--temperature", "hot"],
      "Error: Invalid value for '--temperature': 'hot' is not a valid float.\n"],
    [["generate", "--onnx", model, "--top-p", "2"], "Error: top-p must be in (0, 1], got 2.0\n"],
    [["generate", "--onnx", model, "--seed"], "Error: Option '--seed' requires an argument.\n"],
    [["generate", "--onnx", model, "--bogus"], "Error: No such option '--bogus'.\n"],
    [["generate", "--onnx", "nope.onnx"], "Error: nope.onnx: no such file\n"],
    [["generate", "--onnx", model, "--model", "default"], "Error: --onnx and --model both name a model: give one\n"],
    [["generate", "--model", "x"],
      "Error: Invalid value for '--model': 'x' is not one of 'default', 'default-int8', 'large', 'large-int8'.\n"],
    [["generate", "--model", "large"], "Error: shipped model 'large' is in the Python package only (the npm package "
      + "ships default, default-int8): pass the path or URL of wavenet-large.onnx instead\n"],
    [["generate", "--onnx", model, "--format", "csv"],
      "Error: Invalid value for '--format': 'csv' is not one of 'text', 'jsonl'.\n"],
    [["score", "--onnx", model, "--data", "x", "--split", "dev"],
      "Error: Invalid value for '--split': 'dev' is not one of 'train', 'val', 'test', 'all'.\n"],
    [["generate", "--onnx", model, "--exclude", "nope.txt"], "Error: --exclude nope.txt: no such file\n"],
    [["frobnicate"], "Error: No such command 'frobnicate' (generate, complete, score or info).\n"],
  ];
  for (const [args, stderr] of cases) {
    const result = run(args);
    assert.equal(result.stderr, stderr, args.join(" "));
    assert.equal(result.status, 2, args.join(" "));
    assert.equal(result.stdout, "");
  }
});

test("score prints wn-eval's line for every --split; info prints the metadata", () => {
  const data = fixture("step.json");
  const folder = mkdtempSync(path.join(tmpdir(), "wn-js-"));
  const file = path.join(folder, "items.txt");
  writeFileSync(file, data.score.items.join("\n") + "\n");
  const evalFile = path.join(folder, "eval.txt");
  writeFileSync(evalFile, data.eval.items.join("\n") + "\n");
  for (const [split, stdout] of Object.entries(data.eval.stdout)) {
    const args = ["score", "--onnx", data.model, "--data", evalFile, "--split", split];
    const result = run(args);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, stdout, split);
  }
  const json = run(["score", "--onnx", data.model, "--data", evalFile, "--format", "json"]);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout)), ["onnx", "data", "sha256", "same_data_as_training", "split",
    "nll_per_char", "n_items", "n_chars"]);
  const scored = run(["score", "--onnx", data.model, "--data", file, "--split", "all"]);
  assert.equal(scored.status, 0);
  const chars = data.score.items.reduce((sum, item) => sum + [...item].length + 1, 0);
  assert.equal(scored.stdout, `all: ${data.score.nll_per_char.toFixed(6)} nats per character over `
    + `${data.score.items.length} items, ${chars} characters (end tokens included)\n`);
  const info = run(["info", data.model]);
  assert.equal(info.status, 0);
  assert.equal(JSON.parse(info.stdout).graph, "step");
});

test("--version; no --onnx: the shipped default model (models/wavenet.onnx), as wn-generate", () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, "js", "package.json"), "utf8"));
  assert.equal(run(["--version"]).stdout, `wavenet-edge, version ${version}\n`);
  const shipped = fixture("shipped.json");
  assert.equal(shipped.model, "models/wavenet.onnx");
  for (const { args, stdout } of shipped.cli) {
    assert.equal(args[0], "--onnx");
    const result = run(["generate", ...args.slice(2)]);
    assert.equal(result.stdout, stdout, args.join(" "));
    assert.equal(run(["generate", "--model", "default", ...args.slice(2)]).stdout, stdout, args.join(" "));
  }
});

test("a reader that goes away (| head) ends the command quietly", () => {
  const model = fixture("step.json").model;
  const result = spawnSync("bash", ["-c", `node ${BIN} generate --onnx ${model} -n 20000 --seed 1 | head -n 2; echo "\${PIPESTATUS[0]}"`],
    { cwd: ROOT, encoding: "utf8" });
  const lines = result.stdout.trim().split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[2], "0");
  assert.equal(result.stderr, "");
});

test("an error after some names: every name found is printed first, then the one error line, exit status 2", () => {
  const model = fixture("step.json").model;
  for (const batch of ["256", "1"]) {
    const result = run(["generate", "--onnx", model, "--unique", "-n", "100000", "--max-len", "2", "--seed", "1",
      "--batch-size", batch]);
    assert.equal(result.status, 2);
    const match = /^Error: gave up after 1000 samples in a row were duplicates or excluded: found (\d+) of 100000 names/.exec(result.stderr);
    assert.ok(match, result.stderr);
    assert.equal(result.stderr.split("\n").length, 2);
    const lines = result.stdout.split("\n");
    assert.equal(lines.pop(), "");
    assert.ok(Number(match[1]) > 0);
    assert.equal(lines.length, Number(match[1]));
    assert.equal(new Set(lines).size, lines.length);
  }
});

test("--threads above the CPUs here: a note on stderr, as wn-generate gives, and the same names", async () => {
  const { availableParallelism } = await import("node:os");
  const cpus = availableParallelism();
  if (cpus >= 256) return; // --threads takes 1..256
  const model = fixture("step.json").model;
  const capped = run(["generate", "--onnx", model, "-n", "5", "--seed", "1", "--threads", String(cpus + 1)]);
  assert.equal(capped.status, 0);
  assert.equal(capped.stderr, `note: --threads ${cpus + 1} is more than the ${cpus} CPUs available here; using ${cpus}\n`);
  assert.equal(capped.stdout, run(["generate", "--onnx", model, "-n", "5", "--seed", "1"]).stdout);
});
