// The conformance vectors of docs/format.md (tests/conformance/v1/*.json, made by
// tests/conformance/make_vectors.py) in the JS runtime: per-step logits, scores, greedy names, exact top-k
// completions and the names for seeds and sampling options, with each check's tolerance from the file.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ROOT, collect, load } from "./helpers.js";

const DIR = path.join(ROOT, "tests", "conformance", "v1");
const files = readdirSync(DIR).filter((name) => name.endsWith(".json")).sort();

/** The vector's sampling options in the JS API's names. @param {any} c */
const options = (c) => {
  /** @type {Record<string, any>} */
  const out = { seed: c.seed }; // a decimal string: seeds beyond 2^53 stay exact
  for (const [from, to] of [["temperature", "temperature"], ["top_k", "topK"], ["top_p", "topP"], ["prefix", "prefix"],
    ["max_len", "maxLen"]]) {
    if (c[from] !== undefined && c[from] !== null) out[to] = c[from];
  }
  return out;
};

/** @param {number[]} got @param {number[]} want @param {number} tol @param {string} what */
function close(got, want, tol, what) {
  assert.equal(got.length, want.length, what);
  got.forEach((value, i) => assert.ok(Math.abs(value - want[i]) <= tol, `${what} [${i}]: ${value} against ${want[i]}`));
}

test("the vectors cover formats 1 and 2, step and window graphs", () => {
  const kinds = new Set(files.map((f) => {
    const data = JSON.parse(readFileSync(path.join(DIR, f), "utf8"));
    return `${data.format_version} ${data.graph}`;
  }));
  assert.deepEqual([...kinds].sort(), ["1 step", "2 step", "2 window"]);
});

for (const file of files) {
  const data = JSON.parse(readFileSync(path.join(DIR, file), "utf8"));
  const tol = data.tolerance;
  assert.equal(data.conformance_version, 1);

  test(`${file}: logits step by step, scores, greedy names, completions`, async () => {
    const model = await load(data.model);
    for (const { tokens, logits } of data.steps) {
      let state = model.runner.initialState(1);
      for (let t = 0; t < tokens.length; t++) {
        let got;
        ({ logits: got, state } = await model.runner.advance(state, BigInt64Array.of(BigInt(tokens[t]))));
        close([...got], logits[t], tol.logits, `logits after token ${t}`);
      }
    }
    const scored = await model.score(data.score.items);
    close([...scored.logprobs], data.score.logprobs, tol.logprob, "item log-probabilities");
    assert.ok(Math.abs(scored.nllPerChar - data.score.nll_per_char) <= tol.nll_per_char, `${scored.nllPerChar}`);
    for (const { prefix, name } of data.greedy) {
      assert.deepEqual(await collect(model.generate(3, { topK: 1, prefix })), [name, name, name]);
    }
    for (const c of data.complete) {
      const found = await model.complete(c.prefix, c.k, c.max_len === null ? {} : { maxLen: c.max_len });
      assert.deepEqual(found.map((x) => x.name), c.names, `complete ${JSON.stringify(c.prefix)}`);
      close(found.map((x) => x.logprob), c.logprobs, tol.logprob, "completion log-probabilities");
    }
  });

  for (const batchSize of [1, 5]) {
    test(`${file}: the names for seeds and options, batch ${batchSize}`, async () => {
      const model = await load(data.model);
      for (const c of data.generate) {
        assert.deepEqual(await collect(model.generate(c.n, { ...options(c), batchSize })), c.names, JSON.stringify(c));
      }
    });
  }
}
