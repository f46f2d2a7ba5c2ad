// `score --per-item` prints what `wn-eval --per-item` prints: one line per item, in input order, tab-separated:
// the item, its NLL per character (end token included, 6 decimals) and its character count (end token included).
// The expected lines come from the Python runtime's log-probabilities in the fixtures (tests/fixtures/make_fixtures.py).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { perItemLine } from "../src/cli.js";
import { ROOT, fixture, load } from "./helpers.js";

const BIN = path.join(ROOT, "js", "bin", "wavenet-edge.js");

/** @param {string[]} args */
function run(args) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
}

/** @param {string[]} items */
function itemsFile(items) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "wn-js-")), "items.txt");
  writeFileSync(file, items.join("\n") + "\n");
  return file;
}

/** The lines wn-eval --per-item prints for these log-probabilities (Python's f"{x:.6f}"). */
function expectedLines(items, logprobs) {
  return items.map((item, i) => {
    const chars = [...item].length + 1;
    return `${item}\t${(-logprobs[i] / chars).toFixed(6)}\t${chars}\n`;
  }).join("");
}

for (const name of ["step", "window"]) {
  test(`${name} graph: score --per-item prints wn-eval --per-item's lines, in input order`, () => {
    const data = fixture(`${name}.json`);
    const file = itemsFile(data.score.items);
    const result = run(["score", "--onnx", data.model, "--data", file, "--split", "all", "--per-item"]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, expectedLines(data.score.items, data.score.logprobs));
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, data.score.items.length);
    for (const [i, line] of lines.entries()) {
      const [item, nll, chars] = line.split("\t");
      assert.equal(item, data.score.items[i]);
      assert.match(nll, /^\d+\.\d{6}$/);
      assert.equal(Number(chars), [...item].length + 1);
    }
  });
}

test("the per-item figures average, weighted by their characters, to the mean of the summary line", () => {
  const data = fixture("step.json");
  const file = itemsFile(data.score.items);
  const perItem = run(["score", "--onnx", data.model, "--data", file, "--split", "all", "--per-item"]);
  const summary = run(["score", "--onnx", data.model, "--data", file, "--split", "all"]);
  assert.equal(perItem.status, 0);
  let total = 0;
  let chars = 0;
  for (const line of perItem.stdout.trimEnd().split("\n")) {
    const [, nll, count] = line.split("\t");
    total += Number(nll) * Number(count);
    chars += Number(count);
  }
  const mean = Number(summary.stdout.split(" ")[1]);
  assert.ok(Math.abs(total / chars - mean) < 1e-5, `${total / chars} vs ${mean}`);
});

test("the API's logprobs give the same lines (perItemLine)", async () => {
  const data = fixture("step.json");
  const model = await load(data.model);
  const { logprobs } = await model.score(data.score.items);
  const lines = data.score.items.map((item, i) => perItemLine(item, logprobs[i])).join("");
  assert.equal(lines, expectedLines(data.score.items, data.score.logprobs));
});

test("a file that is not the model's training data is scored whole, with a note; a split too small names --split all",
  () => {
    const data = fixture("step.json");
    const file = itemsFile(data.score.items.slice(0, 5));
    const whole = run(["score", "--onnx", data.model, "--data", file, "--per-item"]);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal(whole.stdout.trimEnd().split("\n").length, 5);
    assert.equal(whole.stderr, `note: ${file} is not the data the model was trained on (sha256 differs): all 5 items `
      + "are scored (--split names a part of the 80/10/10 split)\n");
    const val = run(["score", "--onnx", data.model, "--data", file, "--split", "val"]);
    assert.equal(val.status, 2);
    assert.equal(val.stderr, `Error: ${file}: too few items for the 80/10/10 split: 5 items give train/val/test of `
      + "4/0/1 (each part needs at least 1); score every item with --split all\n");
  });
