// Names that fit (issue 21): model.complete and constrained generate give the Python runtime's lists and names
// (js/test/fixtures/complete.json, written by scripts/make_complete_fixtures.py), `wavenet-edge complete` and
// `generate --min-len/--suffix/--contains` print what wn-complete and wn-generate print, and bad values are
// refused in the same words.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { CompletionError, ConstraintError, WavenetEdgeError } from "../src/index.js";
import { ROOT, collect, fixture, load } from "./helpers.js";

const DATA = fixture("complete.json");
const BIN = path.join(ROOT, "js", "bin", "wavenet-edge.js");

/** @param {string[]} args */
const run = (args) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });

/** wn-complete --format jsonl lines: the same names and rounded logprobs; probabilities to the last bits. */
function assertSameJsonLines(actual, expected, what) {
  const parse = (text) => text.trimEnd().split("\n").map((line) => JSON.parse(line));
  const [got, want] = [parse(actual), parse(expected)];
  assert.deepEqual(got.map(({ name, logprob }) => [name, logprob]), want.map(({ name, logprob }) => [name, logprob]), what);
  got.forEach(({ probability }, i) => assert.ok(Math.abs(probability / want[i].probability - 1) < 1e-12, what));
  assert.deepEqual(actual.split("\n").map((line) => line.replace(/"probability": [^,]+/, "")),
    expected.split("\n").map((line) => line.replace(/"probability": [^,]+/, "")), what);
}

for (const entry of DATA.models) {
  test(`${entry.model}: complete() lists Python's names in Python's order`, async () => {
    const model = await load(entry.model);
    for (const { prefix, k, options, names, logprobs } of entry.complete) {
      const what = `complete(${JSON.stringify(prefix)}, ${k}, ${JSON.stringify(options)})`;
      const got = await model.complete(prefix, k, options);
      assert.deepEqual(got.map((c) => c.name), names, what);
      got.forEach((c, i) => {
        assert.ok(Math.abs(c.logprob - logprobs[i]) < 1e-9, `${what}: ${c.name} ${c.logprob} ${logprobs[i]}`);
        assert.ok(Math.abs(c.probability / Math.exp(logprobs[i]) - 1) < 1e-9, `${what}: ${c.name}`);
      });
      for (let i = 1; i < got.length; i++) assert.ok(got[i].logprob <= got[i - 1].logprob, what); // best first
    }
  });

  test(`${entry.model}: constrained generate gives Python's names at any batch size, each fitting`, async () => {
    const model = await load(entry.model);
    for (const { label, n, options, names } of entry.generate) {
      for (const batchSize of [1, 64, 7]) {
        assert.deepEqual(await collect(model.generate(n, { ...options, batchSize })), names, `${label}, batch ${batchSize}`);
      }
      const { minLen = 0, maxLen = model.metadata.config.max_len, suffix = "", contains = "", prefix = "" } = options;
      for (const name of names) {
        const length = [...name].length;
        assert.ok(length >= minLen && length <= maxLen && name.endsWith(suffix) && name.includes(contains)
          && name.startsWith(prefix), `${label}: ${name}`);
      }
    }
  });

  test(`${entry.model}: wavenet-edge complete/generate print wn-complete/wn-generate's stdout`, () => {
    for (const { args, stdout } of entry.cli) {
      const result = run(args);
      assert.equal(result.stderr, "", args.join(" "));
      assert.equal(result.status, 0, args.join(" "));
      if (args.includes("jsonl")) assertSameJsonLines(result.stdout, stdout, args.join(" "));
      else assert.equal(result.stdout, stdout, args.join(" "));
    }
  });
}

test("complete(): bad values are refused in the Python runtime's words", async () => {
  const model = await load(DATA.errors.model);
  for (const { prefix, k, options, error } of DATA.errors.complete) {
    await assert.rejects(model.complete(prefix, k, options), (err) => {
      assert.ok(err instanceof WavenetEdgeError, String(err));
      assert.equal(err.message, error);
      if (error.startsWith("complete: gave up")) assert.ok(err instanceof CompletionError);
      return true;
    });
  }
  await assert.rejects(model.complete("", 5, { maxlen: 3 }),
    { message: "complete: unknown option 'maxlen' (known options: maxLen, maxNodes)" });
  await assert.rejects(model.complete("", "5"), { message: "k must be an integer in 1..1000, got '5' (a string, not a number)" });
  await assert.rejects(model.complete(5, 5), { message: "prefix must be a string, got 5 (a number, not a string)" });
});

test("wavenet-edge complete: bad input is wn-complete's one line and exit status", () => {
  for (const { args, stderr, exit_code: status } of DATA.errors.cli) {
    const result = run(args);
    assert.equal(result.stderr, stderr, args.join(" "));
    assert.equal(result.status, status, args.join(" "));
    assert.equal(result.stdout, "", args.join(" "));
  }
});

test("constraints too rare for the budget: ConstraintError naming the acceptance rate, after the names found", async () => {
  const model = await load(DATA.errors.model);
  const names = [];
  await assert.rejects(async () => {
    for await (const name of model.generate(5, { seed: 1, suffix: "ka", minLen: 6, maxSamples: 300 })) names.push(name);
  }, (err) => {
    assert.ok(err instanceof ConstraintError, String(err));
    assert.match(err.message, /^the constraints \(min-len 6, max-len \d+, suffix 'ka'\) are too rare: (\d+) of 300 draws met them \(acceptance \d+\.\d{4}%\); found \1 of 5 names \(loosen them, or raise max-samples\)$/);
    return true;
  });
  assert.ok(names.length < 5 && names.every((name) => name.endsWith("ka") && name.length >= 6));
});
