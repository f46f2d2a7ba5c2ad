// The shared table of hostile inputs (tests/fixtures/hostile.json), through loadModel / generate and the
// wavenet-edge command: the Python runtime runs the same table (tests/test_hostile_table.py), so a check added
// to one runtime fails the other's tests until it is added there too, with the same words. Edited model files
// are written here from the table (helpers.js rewriteProps); js/scripts/make_hostile.py writes the table.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { WavenetEdgeError, loadModel } from "../src/index.js";
import { ROOT, collect, ort, rewriteProps } from "./helpers.js";

const BIN = path.join(ROOT, "js", "bin", "wavenet-edge.js");
const TABLE = JSON.parse(readFileSync(path.join(ROOT, "tests", "fixtures", "hostile.json"), "utf8"));
const PYTHON_NAMES = { top_k: "topK", top_p: "topP", max_len: "maxLen", batch_size: "batchSize", min_len: "minLen",
  max_samples: "maxSamples", allow_empty: "allowEmpty" };
/** A table value as JS takes it: {"$int": "digits"} is a BigInt (beyond what a JSON number holds). @param {any} v */
const jsValue = (v) => (v !== null && typeof v === "object" && "$int" in v ? BigInt(v.$int) : v);
/** Load options with Python's names -> loadModel's (provider: executionProviders). @param {Record<string, any>} o */
const loadOptions = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => (k === "provider" ? ["executionProviders", [v]] : [k, v])));
const run = promisify(execFile);

/** @param {any} case_ */
const expected = (case_) => (case_.error !== null && typeof case_.error === "object" ? case_.error.js : case_.error);

/** @param {string} message @param {any} case_ @param {string} [prefix] */
function checkMessage(message, case_, prefix = "") {
  const want = expected(case_);
  assert.notEqual(want, null, `${case_.id}: expected no error, got: ${message}`);
  if (case_.contains) assert.ok(message.startsWith(prefix) && message.includes(want), `${case_.id}: ${message}`);
  else assert.equal(message, prefix + want, case_.id);
}

/** The command's stderr and status, without throwing on a non-zero status. @param {string[]} args */
async function command(args) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = /** @type {any} */ (err);
    if (typeof e.code !== "number") throw err;
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Run `work` over `items`, `limit` at a time; then fail once, naming every case that failed and why.
 * @template T @param {T[]} items @param {(item: T) => Promise<void>} work
 */
async function eachCase(items, work, limit = 1) {
  const queue = [...items];
  const failed = [];
  await Promise.all(Array.from({ length: limit }, async () => {
    while (queue.length) {
      const item = /** @type {any} */ (queue.shift());
      try {
        await work(item);
      } catch (err) {
        failed.push(`${(item.c ?? item).id}: ${/** @type {Error} */ (err).message.split("\n").slice(0, 6).join(" | ")}`);
      }
    }
  }));
  assert.deepEqual(failed, [], `${failed.length} of ${items.length} cases failed:\n${failed.join("\n")}`);
}

/** @param {any} e @param {any} case_ @param {string} prefix */
function checkCommand(e, case_, prefix) {
  if (expected(case_) === null) {
    assert.equal(e.status, 0, `${case_.id}: ${e.stderr}`);
    return;
  }
  assert.equal(e.status, 2, `${case_.id}: ${e.stderr}`);
  assert.ok(e.stderr.startsWith("Error: ") && e.stderr.endsWith("\n") && e.stderr.split("\n").length === 2,
    `${case_.id}: ${e.stderr}`);
  checkMessage(e.stderr.slice("Error: ".length, -1), case_, prefix);
}

test("the table: unique ids, one kind each, and every check of the Python runtime's metadata tests", () => {
  const ids = TABLE.cases.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const c of TABLE.cases) assert.equal(["props", "load", "generate", "score", "cli"].filter((k) => k in c).length, 1, c.id);
  assert.ok(TABLE.cases.length >= 100);
});

test("edited metadata: loadModel and `generate --onnx FILE` refuse it in Python's words", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "wn-hostile-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases = TABLE.cases.filter((c) => "props" in c).map((c, i) => {
    const file = path.join(dir, `case${i}.onnx`);
    writeFileSync(file, rewriteProps(readFileSync(path.join(ROOT, c.model)), c.props));
    return { c, file };
  });
  await eachCase(cases, async ({ c, file }) => {
    if (expected(c) === null) {
      const model = await loadModel(file, { ort, threads: 1 });
      assert.equal((await collect(model.generate(2, { seed: 1 }))).length, 2, c.id);
      return;
    }
    await assert.rejects(loadModel(file, { ort, threads: 1 }), (err) => {
      assert.ok(err instanceof WavenetEdgeError, `${c.id}: ${err}`);
      checkMessage(err.message, c, `${file}: `);
      return true;
    }, c.id);
  });
  await eachCase(cases, async ({ c, file }) => checkCommand(await command(["generate", "--onnx", file, "-n", "2", "--seed", "1"]), c,
    `${file}: `), 2);
});

test("generate, score and loadModel options: refused in Python's words before any name is made", async () => {
  /** @type {Map<string, any>} */
  const models = new Map();
  await eachCase(TABLE.cases.filter((x) => "generate" in x || "load" in x || "score" in x), async (c) => {
    const file = path.join(ROOT, c.model);
    if ("load" in c) {
      await assert.rejects(loadModel(file, { ort, ...loadOptions(c.load) }), (err) => {
        assert.ok(err instanceof WavenetEdgeError, `${c.id}: ${err}`);
        checkMessage(err.message, c);
        return true;
      }, c.id);
      return;
    }
    if (!models.has(c.model)) models.set(c.model, await loadModel(file, { ort, threads: 1 }));
    if ("score" in c) {
      const scored = async () => models.get(c.model).score(c.score.items);
      if (expected(c) === null) {
        assert.equal((await scored()).nItems, c.score.items.length, c.id);
        return;
      }
      await assert.rejects(scored(), (err) => {
        assert.ok(err instanceof WavenetEdgeError, `${c.id}: ${err}`);
        checkMessage(err.message, c);
        return true;
      }, c.id);
      return;
    }
    const options = Object.fromEntries(Object.entries(c.generate.options).map(([k, v]) => [PYTHON_NAMES[k] ?? k, jsValue(v)]));
    const names = async () => collect(models.get(c.model).generate(c.generate.n, options));
    if (expected(c) === null) {
      assert.equal((await names()).length, c.generate.n, c.id);
      return;
    }
    await assert.rejects(names(), (err) => {
      assert.ok(err instanceof WavenetEdgeError, `${c.id}: ${err}`);
      checkMessage(err.message, c);
      return true;
    }, c.id);
  });
});

test("wavenet-edge generate options: the ranges and words of wn-generate", async () => {
  const cases = TABLE.cases.filter((c) => "cli" in c);
  await eachCase(cases, async (c) => checkCommand(await command(["generate", "--onnx", c.model, ...c.cli]), c, ""), 2);
});
